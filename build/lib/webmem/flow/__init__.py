"""The flow format: the data model, flow files on disk, inputs and URL patterns."""
