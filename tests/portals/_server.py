"""A WSGI app served from a background thread on a free 127.0.0.1 port (a context manager)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

HOST = "127.0.0.1"  # Why: test portals must never be reachable from other machines.


class _QuietHandler(WSGIRequestHandler):
    """Why: per-request access logs would flood test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ThreadedServer:
    """Serves `app` on construction; `stop()` (or leaving the `with` block) shuts it down."""

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

    def __enter__(self) -> ThreadedServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
