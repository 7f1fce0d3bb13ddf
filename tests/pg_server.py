"""A real PostgreSQL server for tests: initdb in a temp dir, started on a free 127.0.0.1 port, stopped
after. Needs the server binaries (Debian: `apt-get install -y postgresql`; `make postgres` does it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def pg_bin(name: str) -> str | None:
    for folder in PG_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("PostgreSQL server binaries not found: run `make postgres` "
                               "(apt-get install -y postgresql)")
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="webmem-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the `postgres` user when we are root
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", str(self.data), "-U", "webmem", "--auth=trust", "-E", "UTF8", "--no-sync"])
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run([pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "30",
                   "start"])

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(self.prefix + cmd, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    @property
    def url(self) -> str:
        return f"postgresql://webmem@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(self.prefix + [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
