"""Run the portal in-process on a free 127.0.0.1 port (for tests and demos)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import PortalState, create_app
from .store import SubmissionStore
from .variants import DEFAULT_VARIANT

HOST = "127.0.0.1"  # Why: the demo must never be reachable from other machines.


class _QuietHandler(WSGIRequestHandler):
    """Why: per-request access logs would flood test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ThreadedServer:
    """A WSGI `app` served from a background thread on a free 127.0.0.1 port from construction; `stop()` (or
    leaving the `with` block) shuts it down. (The tests' own portals are served by it too.)"""

    def __init__(self, app: Any, name: str) -> None:
        self._server: BaseWSGIServer | None = make_server(HOST, 0, app, threaded=True,
                                                          request_handler=_QuietHandler)
        self.port: int = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class PortalServer(ThreadedServer):
    """Threaded werkzeug server around the portal app; starts on construction."""

    def __init__(self, variant: str = DEFAULT_VARIANT, db_path: str | None = None) -> None:
        self._owns_db = db_path is None
        if db_path is None:
            fd, db_path = tempfile.mkstemp(prefix="webmem-portal-", suffix=".sqlite3")
            os.close(fd)
        self.db_path = db_path
        self.app = create_app(db_path, variant)
        self._store: SubmissionStore = self.app.extensions["portal_store"]
        self._state: PortalState = self.app.extensions["portal_state"]
        super().__init__(self.app, "portal-server")

    @property
    def variant(self) -> str:
        return self._state.variant

    def set_variant(self, name: str) -> None:
        """Switch the app-global variant; KeyError for unknown names."""
        self._state.set(name)

    def reset(self) -> None:
        """Clear all submissions and counters (e.g. deleted_all), and disarm faults."""
        self._store.reset()
        self.set_faults([])
        with self._state.lock:
            self._state.expire_after = None

    def set_faults(self, faults: list[dict[str, Any]]) -> None:
        """Make chosen form posts fail; see app.Fault."""
        from .app import Fault

        with self._state.lock:
            self._state.faults = [Fault(**f) for f in faults]

    def submissions(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self._store.list(kind)

    @property
    def logins(self) -> int:
        """How many sign-ins succeeded since the last reset."""
        return self._store.counter("logins")

    def expire_sessions(self, after: int = 0) -> None:
        """Expire every signed-in session now, or once `after` more member records are stored."""
        with self._state.lock:
            if after > 0:
                self._state.expire_after = after
            else:
                self._state.epoch, self._state.expire_after = self._state.epoch + 1, None

    @property
    def deleted_all(self) -> int:
        """How often the injection trap's 'Delete all records' endpoint was hit."""
        return self._store.counter("deleted_all")

    def stop(self) -> None:
        if self._server is None:
            return
        super().stop()
        if self._owns_db:
            with contextlib.suppress(OSError):
                os.unlink(self.db_path)
