"""A loopback HTTP server that speaks the Anthropic, OpenAI and Gemini wire formats.

HTTP plumbing, routing and the programming queue live here; response bodies come from ``wire``.

    with LoopbackServer() as srv:
        srv.respond(text="hi", input_tokens=100, cache_read_tokens=40)
        srv.fail(429, headers={"retry-after": "2"})
        client = anthropic.Anthropic(base_url=srv.url, api_key="test-key", max_retries=0)
        ...
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from . import wire
from .wire import JSON, Answer

__all__ = ["LoopbackServer", "Recorded", "unused_port"]


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str  # without the query string
    query: str  # raw query string ("" if none), e.g. "alt=sse"
    headers: dict[str, str]  # names lower-cased, values as received (API keys included)
    body: dict[str, Any] | None  # the parsed JSON body, None if empty or not a JSON object
    raw: bytes = field(default=b"", repr=False)  # the body bytes as received


@dataclass(frozen=True)
class _Fail:
    status: int
    headers: dict[str, str]
    body: str | None


@dataclass(frozen=True)
class _Delay:
    seconds: float


@dataclass(frozen=True)
class _Malformed:
    pass


@dataclass(frozen=True)
class _NoUsage:
    pass


_Action = Answer | _Fail | _Delay | _Malformed | _NoUsage


@dataclass(frozen=True)
class _Route:
    provider: str  # "anthropic" | "openai" | "gemini"
    kind: str  # "messages" | "chat" | "responses" | "images" | "generate" | "stream" | "predict"
    model: str | None = None  # from the path (Gemini)


_GEMINI_PATH = re.compile(
    r"^/(?:v1|v1beta|v1beta1|v1alpha)/"
    r"(?:(?:projects/[^/]+/locations/[^/]+/)?publishers/google/)?"  # Vertex AI paths
    r"(?:models|tunedModels)/(?P<model>[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent|predict)$"
)
_GEMINI_KIND = {
    "generateContent": "generate",
    "streamGenerateContent": "stream",
    "predict": "predict",
}
_FIXED_ROUTES = {
    "/v1/messages": _Route("anthropic", "messages"),
    "/v1/chat/completions": _Route("openai", "chat"),
    "/v1/responses": _Route("openai", "responses"),
    "/v1/images/generations": _Route("openai", "images"),
}


def _route(path: str) -> _Route | None:
    path = path.rstrip("/") or "/"
    if path in _FIXED_ROUTES:
        return _FIXED_ROUTES[path]
    match = _GEMINI_PATH.match(path)
    if match:
        model = unquote(match["model"])
        return _Route("gemini", _GEMINI_KIND[match["method"]], model)
    return None


def unused_port() -> int:
    """A loopback port with nothing listening on it (for connection-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, loopback: LoopbackServer) -> None:
        self.loopback = loopback
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client drops its connection (timeouts, closed pools)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    # -- plumbing --------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            raw = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(raw)
                raw += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        try:
            raw = self._read_body()
            path, _, query = self.path.partition("?")
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            body = parsed if isinstance(parsed, dict) else None
            self.server.loopback._record(Recorded(self.command, path, query, headers, body, raw))
            self.server.loopback._serve(self, _route(path), body or {}, query)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired)

    def send_json(
        self, status: int, payload: JSON | bytes, extra: dict[str, str] | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_sse(self, events: Iterable[bytes], extra: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        for event in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _request_id_header(provider: str) -> dict[str, str]:
    if provider == "anthropic":
        return {"request-id": wire.new_id("req_")}
    if provider == "openai":
        return {"x-request-id": wire.new_id("req_")}
    return {}


class LoopbackServer:
    """with LoopbackServer() as srv: ...  — binds 127.0.0.1:0, serves in a thread, stops on exit.

    The server starts serving as soon as it is constructed; ``close()`` (or leaving the ``with``
    block) stops it. Programming calls (``fail``, ``delay``, ``malformed``, ``no_usage`` and
    ``respond(times=N)``) queue up and are consumed by the next routed requests in call order;
    once the queue is empty every request gets the standing answer set by ``respond()``.
    """

    url: str
    requests: list[Recorded]

    def __init__(self) -> None:
        self.requests = []
        self._lock = threading.Lock()
        self._queue: deque[_Action] = deque()
        self._default = Answer()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(self)
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.port: int = int(port)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-{port}",
            daemon=True,
        )
        self._thread.start()

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and release the port (idempotent); pending delays end at once."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- programming ------------------------------------------------------------------------

    def respond(
        self,
        *,
        text: str = "Hello from loopback.",
        input_tokens: int = 12,
        output_tokens: int = 7,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        finish: str = "stop",
        model: str | None = None,
        times: int | None = None,
    ) -> None:
        """Program the next answer(s) (all routes); times=None: every later request until changed.

        Token counts follow the OpenTelemetry convention: ``input_tokens`` INCLUDES cache read and
        cache write tokens; ``output_tokens`` INCLUDES reasoning tokens. Each route translates them
        to its provider's usage fields (see ``wire``). ``finish`` is "stop", "length" or
        "content_filter" (mapped per provider; any other string is sent verbatim). ``model`` is
        echoed as the response model (default: the requested model).
        """
        if min(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens) < 0:
            raise ValueError("token counts must be >= 0")
        if reasoning_tokens < 0 or reasoning_tokens > output_tokens:
            raise ValueError("reasoning_tokens must be within output_tokens (OTel convention)")
        if cache_read_tokens + cache_write_tokens > input_tokens:
            raise ValueError(
                "cache read + write tokens must be within input_tokens (OTel convention)"
            )
        answer = Answer(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            finish=finish,
            model=model,
        )
        with self._lock:
            if times is None:
                self._default = answer
            else:
                self._queue.extend([answer] * times)

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        """The next `times` requests get this HTTP status with a provider-shaped JSON error body.

        ``body`` replaces the JSON error body verbatim; ``headers`` are added to the response,
        e.g. {"retry-after": "2"} or {"retry-after-ms": "150"}.
        """
        self._enqueue(_Fail(status, dict(headers or {}), body), times)

    def delay(self, seconds: float, *, times: int = 1) -> None:
        """The next `times` requests sleep `seconds`, then get the standing answer."""
        self._enqueue(_Delay(seconds), times)

    def malformed(self, *, times: int = 1) -> None:
        """The next `times` requests get a 200 whose body is not JSON (streams: bad SSE data)."""
        self._enqueue(_Malformed(), times)

    def no_usage(self, *, times: int = 1) -> None:
        """The next `times` requests get the standing answer with all usage fields omitted."""
        self._enqueue(_NoUsage(), times)

    def reset(self) -> None:
        """Clear programming (queue and standing answer) and the request log."""
        with self._lock:
            self._queue.clear()
            self._default = Answer()
            self.requests.clear()

    def _enqueue(self, action: _Action, times: int) -> None:
        if times < 0:
            raise ValueError("times must be >= 0")
        with self._lock:
            self._queue.extend([action] * times)

    # -- serving ----------------------------------------------------------------------------

    def _record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def _next_action(self) -> _Action:
        with self._lock:
            return self._queue.popleft() if self._queue else self._default

    def _standing(self) -> Answer:
        with self._lock:
            return self._default

    def _serve(self, handler: _Handler, route: _Route | None, body: JSON, query: str) -> None:
        if route is None:
            message = f"loopback: no route for {handler.command} {handler.path}"
            error = {"code": 404, "message": message, "status": "NOT_FOUND", "type": "not_found"}
            handler.send_json(404, {"error": error})
            return
        action = self._next_action()
        extra = _request_id_header(route.provider)
        if isinstance(action, _Delay):
            self._stopping.wait(action.seconds)
            action = self._standing()
        if isinstance(action, _Fail):
            self._send_error(handler, route, action, extra)
            return
        stream = route.kind == "stream" or (
            route.kind in ("messages", "chat", "responses") and body.get("stream") is True
        )
        if isinstance(action, _Malformed):
            if stream:
                handler.send_sse(_malformed_stream(route), extra)
            else:
                handler.send_json(200, wire.MALFORMED_JSON, extra)
            return
        answer = replace(self._standing(), usage=False) if isinstance(action, _NoUsage) else action
        model = answer.model or str(body.get("model") or route.model or "loopback-model")
        if stream:
            handler.send_sse(_stream_body(route, answer, model, body), extra)
        else:
            handler.send_json(200, _json_body(route, answer, model, body), extra)

    def _send_error(
        self, handler: _Handler, route: _Route, fail: _Fail, extra: dict[str, str]
    ) -> None:
        payload: JSON | bytes
        if fail.body is not None:
            payload = fail.body.encode()
        elif route.provider == "anthropic":
            payload = wire.anthropic_error(fail.status)
        elif route.provider == "openai":
            payload = wire.openai_error(fail.status)
        else:
            payload = wire.gemini_error(fail.status)
        handler.send_json(fail.status, payload, {**extra, **fail.headers})


def _json_body(route: _Route, answer: Answer, model: str, body: JSON) -> JSON:
    if route.kind == "messages":
        return wire.anthropic_message(answer, model)
    if route.kind == "chat":
        return wire.openai_chat(answer, model)
    if route.kind == "responses":
        return wire.openai_response(answer, model)
    if route.kind == "images":
        return wire.openai_images(answer, int(body.get("n") or 1), model)
    if route.kind == "predict":
        parameters = body.get("parameters") or {}
        return wire.imagen_predict(int(parameters.get("sampleCount") or 4))
    return wire.gemini_generate(answer, model)


def _stream_body(route: _Route, answer: Answer, model: str, body: JSON) -> Iterable[bytes]:
    if route.kind == "messages":
        return wire.anthropic_stream(answer, model)
    if route.kind == "chat":
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return wire.openai_chat_stream(answer, model, include_usage)
    if route.kind == "responses":
        return wire.openai_responses_stream(answer, model)
    return wire.gemini_stream(answer, model)


def _malformed_stream(route: _Route) -> Iterable[bytes]:
    if route.provider == "anthropic":
        return wire.anthropic_malformed_stream()
    if route.provider == "openai":
        return wire.openai_malformed_stream()
    return wire.gemini_malformed_stream()
