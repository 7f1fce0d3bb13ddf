"""`webmem batch`: enter every row of a data file through a flow, exactly once, with a journal."""
