"""A tiny hostile web site on 127.0.0.1 for the red-team tests: serves the HTML pages a test puts in
`pages` (path → HTML), answers the paths in `redirects` (path → (status, Location)) with a redirect, and
records every request (method, path, body) it receives."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class HostileSite:
    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.requests: list[tuple[str, str, bytes]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                site.requests.append((self.command, self.path, body))
                if self.path.split("?")[0] in site.redirects:
                    status, location = site.redirects[self.path.split("?")[0]]
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                html = site.pages.get(self.path.split("?")[0])
                if html is None:
                    html = site.pages.get("*", "<title>nothing</title><p>nothing here</p>")
                data = html.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def body_of_all(self) -> bytes:
        return b"\n".join(m.encode() + b" " + p.encode() + b" " + b for m, p, b in self.requests)

    def __enter__(self) -> HostileSite:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
