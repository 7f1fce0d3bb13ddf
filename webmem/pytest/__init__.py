"""webmem's pytest integration: `plugin` is the pytest11 entry point; tests get the `webmem` fixture
(a `Webmem`), and `FlowFailed` is what `webmem.run(..., check=True)` raises; `FlowDrifted` what a run that
healed or drifted raises with --webmem-fail-on-heal / --webmem-fail-on-drift, `WebmemDrift` the warning each
drifted step gives."""

from webmem.pytest.runner import FlowDrifted, FlowFailed, Webmem, WebmemDrift

__all__ = ["FlowDrifted", "FlowFailed", "Webmem", "WebmemDrift"]
