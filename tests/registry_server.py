"""A real OCI registry for tests: Debian's `docker-registry` (CNCF Distribution) serving a temp folder on a free
127.0.0.1 port, stopped after. Needs the package (`apt-get install -y docker-registry`; `make registry` does it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

START_S = 15.0


class RegistryServer:
    def __init__(self) -> None:
        binary = shutil.which("docker-registry")
        if binary is None:
            raise RuntimeError("docker-registry not found: run `make registry` (apt-get install -y docker-registry)")
        self.dir = Path(tempfile.mkdtemp(prefix="webmem-registry-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = self.dir / "config.yml"
        config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
                          f"{self.dir / 'data'}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{self.port}\n")
        self.log = (self.dir / "log").open("wb")
        self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = (self.dir / "log").read_text()[-500:] if self.dir.exists() else ""
                    raise RuntimeError(f"docker-registry did not start: {log}") from None
                time.sleep(0.05)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
        if self.proc.returncode in (0, -15):  # (kept where it failed: its log says why)
            shutil.rmtree(self.dir, ignore_errors=True)
