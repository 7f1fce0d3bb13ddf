"""webmem's pytest integration: `plugin` is the pytest11 entry point; tests get the `webmem` fixture
(a `Webmem`), and `FlowFailed` is what `webmem.run(..., check=True)` raises."""

from webmem.pytest.runner import FlowFailed, Webmem

__all__ = ["FlowFailed", "Webmem"]
