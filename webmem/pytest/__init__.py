"""webmem's pytest integration: `plugin` is the pytest11 entry point."""
