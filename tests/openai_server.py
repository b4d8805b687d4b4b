"""A small OpenAI-compatible chat-completions server for tests, on 127.0.0.1.

It speaks the real wire protocol over real HTTP, so the ``openai`` client (and anything
else that talks to Ollama, vLLM or llama.cpp's server) can be tested without a model:

* ``POST /v1/chat/completions`` answers a ``chat.completion`` object, or with
  ``"stream": true`` a ``text/event-stream`` of ``chat.completion.chunk`` events ending in
  ``data: [DONE]`` (sent with chunked transfer encoding, flushed event by event);
* ``GET /v1/models`` lists the one model.

The reply is scripted by the test: a fixed string, a queue of strings, or a function of
the request's messages. Every request is recorded for inspection. ``mode`` makes the
server fail on purpose: ``"error"`` answers HTTP 500, ``"slow"`` waits ``delay`` seconds
before answering (past a client's timeout), ``"garbage"`` answers 200 with a body that is
not JSON, ``"empty"`` answers a completion without choices.

Example:
    >>> with FakeOpenAIServer(reply="Hello [1].") as server:  # doctest: +SKIP
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="k")
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "error", "slow", "garbage", "empty"]
Reply = str | Callable[[list[dict[str, Any]]], str]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received.

    Attributes:
        method: ``GET`` or ``POST``.
        path: The request path, e.g. ``/v1/chat/completions``.
        headers: Request headers, names lower-cased.
        body: The parsed JSON body (``{}`` for a GET).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a completions request."""
        return list(self.body.get("messages") or [])


def _pieces(text: str) -> list[str]:
    """Split a reply into stream deltas: one word with its trailing space each."""
    return re.findall(r"\s*\S+\s*", text) or [text]


class FakeOpenAIServer:
    """An OpenAI-compatible server in a background thread; use it as a context manager.

    Args:
        reply: The reply text, or a function from the request messages to it.
        replies: A queue of replies, used one per completion request before ``reply``.
        model: The model name the server reports.
        mode: ``ok``, or a failure mode (see the module docstring).
        delay: Seconds a ``slow`` server waits before answering.
        stream_pause: Seconds between stream events (to make streaming observable).
    """

    def __init__(
        self,
        reply: Reply = "",
        *,
        replies: Iterable[str] = (),
        model: str = "test-model",
        mode: Mode = "ok",
        delay: float = 5.0,
        stream_pause: float = 0.0,
    ) -> None:
        self.reply = reply
        self.replies: deque[str] = deque(replies)
        self.model = model
        self.mode: Mode = mode
        self.delay = delay
        self.stream_pause = stream_pause
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="fake-openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (wakes any ``slow`` handler)."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what tests read --------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of the server, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """The chat-completions requests received, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # ---- used by the handler ----------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return self.reply(messages) if callable(self.reply) else self.reply


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass  # keep test output clean

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to answer

    # ---- routes -----------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.owner._record(RecordedRequest("GET", self.path, self._headers()))
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{
                "id": self.owner.model, "object": "model", "created": int(time.time()),
                "owned_by": "tests"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}",
                                       "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "body is not JSON",
                                       "type": "invalid_request_error"}})
            return
        self.owner._record(RecordedRequest("POST", self.path, self._headers(), body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}",
                                       "type": "invalid_request_error"}})
            return
        mode = self.owner.mode
        if mode == "error":
            self._json(500, {"error": {"message": "the model crashed", "type": "server_error"}})
            return
        if mode == "slow":
            self.owner._stopping.wait(self.owner.delay)
        if mode == "garbage":
            self._send(200, b"<html>not json</html>", "application/json")
            return
        cid = f"chatcmpl-{int(time.time() * 1000)}"
        created = int(time.time())
        if mode == "empty":
            self._json(200, {"id": cid, "object": "chat.completion", "created": created,
                             "model": self.owner.model, "choices": []})
            return
        text = self.owner._next_reply(list(body.get("messages") or []))
        if body.get("stream"):
            self._stream(cid, created, text)
        else:
            self._json(200, {
                "id": cid, "object": "chat.completion", "created": created,
                "model": self.owner.model,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": len(_pieces(text)),
                          "total_tokens": 1 + len(_pieces(text))},
            })

    # ---- writing ----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json")

    def _stream(self, cid: str, created: int, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": cid, "object": "chat.completion.chunk", "created": created,
                    "model": self.owner.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                 "logprobs": None}]}

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": p}) for p in _pieces(text)]
        events.append(chunk({}, "stop"))
        for ev in events:
            self._event(f"data: {json.dumps(ev)}\n\n")
            if self.owner.stream_pause:
                time.sleep(self.owner.stream_pause)
        self._event("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, payload: str) -> None:
        data = payload.encode("utf-8")
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()
