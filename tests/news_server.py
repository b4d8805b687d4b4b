"""A small news web server for tests, on 127.0.0.1: saved pages, feeds and bad answers.

Each route is a :class:`Route` (status, content type, body, extra headers, a delay before
answering, or a trickle of bytes); the test can change a route while the server runs (a
feed entry that changes). Every request path is recorded, so a test can see what was
fetched and what was not.

Example:
    >>> with NewsServer({"/a.html": Route(body=b"<html>...</html>")}) as srv:  # doctest: +SKIP
    ...     fetch(srv.url("/a.html"))
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Route:
    """What the server answers for one path.

    Attributes:
        body: The response body.
        status: HTTP status.
        content_type: The ``Content-Type`` header ("" to send none).
        headers: More headers (``Location`` for a redirect).
        delay: Seconds to wait before answering.
        trickle: When > 0, send the body in pieces of this many bytes with ``delay``
            between them (and no wait before the headers).
        repeat: Send the body this many times (a huge page without a huge fixture); no
            ``Content-Length`` is sent when > 1, so the client finds out while reading.
    """

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: int = 0
    repeat: int = 1


class NewsServer:
    """A threaded HTTP server on 127.0.0.1 serving :class:`Route` s; a context manager."""

    def __init__(self, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that gave up mid-request

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(self.path)
                    route = server.routes.get(self.path)
                if route is None:
                    route = Route(body=b"not found", status=404, content_type="text/plain")
                if route.delay and not route.trickle:
                    time.sleep(route.delay)
                self.send_response(route.status)
                if route.content_type:
                    self.send_header("Content-Type", route.content_type)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                try:
                    if route.repeat > 1 or route.trickle:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        pieces = [route.body] * route.repeat
                        if route.trickle:
                            b = route.body
                            pieces = [
                                b[i : i + route.trickle] for i in range(0, len(b), route.trickle)
                            ]
                        for p in pieces:
                            self.wfile.write(f"{len(p):x}\r\n".encode() + p + b"\r\n")
                            self.wfile.flush()
                            if route.trickle:
                                time.sleep(route.delay)
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send_header("Content-Length", str(len(route.body)))
                        self.end_headers()
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (too large, too slow): what the test wants

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return self.base_url + path

    def set(self, path: str, route: Route) -> None:
        """Add or change a route while the server runs."""
        with self._lock:
            self.routes[path] = route

    def fetched(self, path: str) -> int:
        """How many times a path was requested."""
        with self._lock:
            return self.requests.count(path)

    def __enter__(self) -> NewsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
