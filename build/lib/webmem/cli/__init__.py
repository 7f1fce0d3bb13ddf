"""The front ends people type: the `webmem` command, its console output, and the demo."""
