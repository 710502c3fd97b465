"""The OpenAI adapter: Chat Completions or the Responses API, and Images, via the official SDK.

The SDK's own retries are off (`max_retries=0`): the router owns retry and fallback policy.
Every SDK and transport exception is converted here into a `router.errors` type that keeps the
status, retry-after and (truncated) response body, and never the API key.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from catalog import ModelSpec, Usage
from router.errors import (
    BadRequest,
    ConnectionFailed,
    MalformedResponse,
    Overloaded,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)
from router.providers.base import Call, Completion, Delta, Images

BODY_LIMIT = 2_000
APIS = ("chat", "responses")
_DEFAULT_PORTS = {"https": 443, "http": 80}
# Responses API stream events that carry the final response (and its usage).
_FINAL_EVENTS = ("response.completed", "response.incomplete")
_FAILED_EVENTS = ("response.failed", "error")


class _BadBody(ValueError):
    """The provider's answer cannot be read; carries the raw body when there is one."""

    def __init__(self, problem: str, body: str | None = None) -> None:
        super().__init__(problem)
        self.body = body


class _StreamFailed(Exception):
    """The provider reported a failure inside a stream that had started with HTTP 200."""


class OpenAIProvider:
    """Calls OpenAI models through Chat Completions (`api="chat"`) or the Responses API."""

    name = "openai"
    # The chat parameter that caps the answer: OpenAI's current name (hosts keep `max_tokens`).
    max_tokens_param = "max_completion_tokens"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        api: str = "chat",
    ) -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {APIS}, not {api!r}")
        import httpx2
        import openai

        self._openai: Any = openai
        self._httpx: Any = httpx2
        options: dict[str, Any] = {"api_key": api_key, "timeout": timeout_s, "max_retries": 0}
        if base_url is not None:  # otherwise the SDK reads OPENAI_BASE_URL, then its default
            options["base_url"] = base_url
        self._client: Any = openai.OpenAI(**options)
        self._key = api_key
        self.api = api
        url = urlsplit(str(self._client.base_url))
        self.server_address = url.hostname or ""
        self.server_port = url.port or _DEFAULT_PORTS.get(url.scheme, 443)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, api={self.api!r}, server={self._server})"

    # ---- public interface -------------------------------------------------------------------

    def complete(self, call: Call) -> Completion:
        """One call, answered in full."""
        start = time.perf_counter_ns()
        with self._edge(call.model.name, start):
            if self.api == "responses":
                endpoint = self._client.responses.with_raw_response
                raw = endpoint.create(**self._responses_args(call))
                return self._responses_completion(_json(raw.text), None, start)
            raw = self._client.chat.completions.with_raw_response.create(**self._chat_args(call))
            return self._chat_completion(_json(raw.text), start)

    def stream(self, call: Call) -> Iterator[Delta | Completion]:
        """Delta pieces as they arrive, then one Completion with the call's full usage."""
        start = time.perf_counter_ns()
        with self._edge(call.model.name, start):
            if self.api == "responses":
                yield from self._stream_responses(call, start)
            else:
                yield from self._stream_chat(call, start)

    def generate_images(self, model: ModelSpec, prompt: str, n: int, timeout_s: float) -> Images:
        """`n` images for `prompt`, decoded from base64 to raw bytes."""
        start = time.perf_counter_ns()
        with self._edge(model.name, start):
            raw = self._client.images.with_raw_response.generate(
                model=model.name, prompt=prompt, n=n, timeout=timeout_s
            )
            body = _json(raw.text)
            data = _get(body, "data")
            if not isinstance(data, list) or not data:
                raise _BadBody("no images in the answer")
            images = tuple(_b64(_get(item, "b64_json")) for item in data)
            return Images(
                images=images,
                response_model=_str(_get(body, "model")) or model.name,
                latency_ns=time.perf_counter_ns() - start,
                server_address=self.server_address,
                server_port=self.server_port,
            )

    # ---- requests ---------------------------------------------------------------------------

    def _chat_args(self, call: Call) -> dict[str, Any]:
        return {
            "model": call.model.name,
            "messages": [{"role": "user", "content": call.prompt}],
            self.max_tokens_param: call.max_tokens,
            "timeout": call.timeout_s,
        }

    def _responses_args(self, call: Call) -> dict[str, Any]:
        return {
            "model": call.model.name,
            "input": call.prompt,
            "max_output_tokens": call.max_tokens,
            "timeout": call.timeout_s,
        }

    # ---- answers ----------------------------------------------------------------------------

    def _chat_completion(self, body: Any, start: int) -> Completion:
        choice = _first(_get(body, "choices"))
        return self._completion(
            text=_str(_get(choice, "message", "content")),
            body=body,
            finish=_finish(_get(choice, "finish_reason")),
            usage=_chat_usage(_get(body, "usage")),
            start=start,
        )

    def _responses_completion(self, body: Any, text: str | None, start: int) -> Completion:
        """A Completion from a Responses API body; `text` overrides the output (streamed)."""
        return self._completion(
            text=_output_text(body) if text is None else text,
            body=body,
            finish=_responses_finish(body),
            usage=_responses_usage(_get(body, "usage")),
            start=start,
        )

    def _completion(
        self, text: str, body: Any, finish: str, usage: Usage, start: int
    ) -> Completion:
        return Completion(
            text=text,
            response_model=_str(_get(body, "model")),
            response_id=_str(_get(body, "id")),
            finish_reason=finish,
            usage=usage,
            latency_ns=time.perf_counter_ns() - start,
            server_address=self.server_address,
            server_port=self.server_port,
            simulated=False,
        )

    def _stream_chat(self, call: Call, start: int) -> Iterator[Delta | Completion]:
        parts: list[str] = []
        head: dict[str, Any] = {"id": None, "model": None}
        finish: Any = None
        usage: Any = None
        # Without include_usage OpenAI streams no usage at all; it comes in a last chunk.
        stream = self._client.chat.completions.create(
            **self._chat_args(call), stream=True, stream_options={"include_usage": True}
        )
        with stream:
            for chunk in stream:
                for key in head:
                    head[key] = head[key] or _get(chunk, key)
                choice = _first(_get(chunk, "choices"), required=False)
                piece = _get(choice, "delta", "content")
                if piece:
                    parts.append(piece)
                    yield Delta(piece)
                finish = _get(choice, "finish_reason") or finish
                usage = _get(chunk, "usage") or usage
        if usage is None:
            raise _BadBody("the stream ended without usage")
        yield self._completion("".join(parts), head, _finish(finish), _chat_usage(usage), start)

    def _stream_responses(self, call: Call, start: int) -> Iterator[Delta | Completion]:
        parts: list[str] = []
        final: Any = None
        stream = self._client.responses.create(**self._responses_args(call), stream=True)
        with stream:
            for event in stream:
                kind = _get(event, "type")
                if kind == "response.output_text.delta":
                    piece = _str(_get(event, "delta"))
                    parts.append(piece)
                    yield Delta(piece)
                elif kind in _FINAL_EVENTS:
                    final = _get(event, "response")
                elif kind in _FAILED_EVENTS:
                    raise _StreamFailed(_stream_failure(event))
        if final is None:
            raise _BadBody("the stream ended without a final response (and its usage)")
        yield self._responses_completion(final, "".join(parts), start)

    # ---- errors -----------------------------------------------------------------------------

    @property
    def _server(self) -> str:
        return f"{self.server_address}:{self.server_port}"

    @contextmanager
    def _edge(self, model: str, start: int) -> Iterator[None]:
        """Converts SDK, transport and body errors into router.errors, keeping the cause."""
        where = f"{self.name} {model}"
        sdk, httpx = self._openai, self._httpx
        try:
            yield
        except (sdk.OpenAIError, httpx.HTTPError, httpx.StreamError, ValueError) as exc:
            raise self._convert(exc, where, time.perf_counter_ns() - start) from exc
        except _StreamFailed as exc:
            latency_ns = time.perf_counter_ns() - start
            raise ServerError("error", f"{where}: {exc}", latency_ns=latency_ns) from None

    def _convert(self, exc: Exception, where: str, latency_ns: int) -> ProviderError:
        sdk, httpx = self._openai, self._httpx
        if isinstance(exc, sdk.APIStatusError):
            response = exc.response
            return _status_error(
                response.status_code,
                response.headers,
                self._redact(_response_text(response)),
                where,
                latency_ns,
            )
        if isinstance(exc, sdk.APITimeoutError | httpx.TimeoutException):
            return Timeout("timeout", f"{where}: no answer in time", latency_ns=latency_ns)
        if isinstance(exc, sdk.APIConnectionError | httpx.TransportError):
            message = f"{where}: cannot reach {self._server} ({type(exc).__name__})"
            return ConnectionFailed("connection", message, latency_ns=latency_ns)
        body = exc.body if isinstance(exc, _BadBody) else None
        problem = str(exc) if isinstance(exc, _BadBody) else type(exc).__name__
        return MalformedResponse(
            "malformed",
            f"{where}: unreadable answer ({problem})",
            latency_ns=latency_ns,
            body=None if body is None else self._redact(body),
        )

    def _redact(self, text: str) -> str:
        # Some hosts echo (part of) the key in 401 bodies; never let the whole key through.
        return (text.replace(self._key, "[redacted]") if self._key else text)[:BODY_LIMIT]


# ---- status codes ---------------------------------------------------------------------------

_STATUS_CLASSES: dict[int, tuple[type[ProviderError], str]] = {
    429: (RateLimited, "rate limited"),
    503: (Overloaded, "overloaded"),
    529: (Overloaded, "overloaded"),
    408: (Timeout, "request timeout"),
}


def _status_class(status: int) -> tuple[type[ProviderError], str]:
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ServerError, "server error"
    if status >= 400:
        return BadRequest, "request rejected"
    return MalformedResponse, "unexpected status"


def _status_error(
    status: int, headers: Mapping[str, str], body: str, where: str, latency_ns: int
) -> ProviderError:
    cls, what = _status_class(status)
    return cls(
        str(status),
        f"{where}: HTTP {status} {what}",
        latency_ns=latency_ns,
        status=status,
        retry_after_s=retry_after_s(headers),
        body=body,
    )


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` (preferred) or `retry-after` (seconds or a date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _response_text(response: Any) -> str:
    try:
        return str(response.text)
    except Exception:  # a streamed body that was never read: no text to keep
        return ""


# ---- reading bodies -------------------------------------------------------------------------


def _json(text: str) -> Any:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise _BadBody(f"not JSON: {exc}", text) from exc
    if not isinstance(body, dict):
        raise _BadBody("not a JSON object", text)
    return body


def _get(obj: Any, *path: str) -> Any:
    """`obj[a][b]...` for JSON dicts or `obj.a.b...` for SDK objects; None when missing."""
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return obj


def _first(items: Any, *, required: bool = True) -> Any:
    if isinstance(items, list) and items:
        return items[0]
    if required:
        raise _BadBody("no choices in the answer")
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(usage: Any, *path: str, required: bool = False) -> int:
    value = _get(usage, *path)
    if value is None and not required:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _BadBody(f"usage.{'.'.join(path)} is {value!r}, not a token count")
    return value


def _chat_usage(usage: Any) -> Usage:
    """Chat Completions usage: prompt_tokens already include the cached tokens."""
    if usage is None:
        raise _BadBody("no usage in the answer")
    return Usage(
        input_tokens=_count(usage, "prompt_tokens", required=True),
        output_tokens=_count(usage, "completion_tokens", required=True),
        cache_read_tokens=_count(usage, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_count(usage, "completion_tokens_details", "reasoning_tokens"),
    )


def _responses_usage(usage: Any) -> Usage:
    """Responses API usage: input_tokens include cached, output_tokens include reasoning."""
    if usage is None:
        raise _BadBody("no usage in the answer")
    return Usage(
        input_tokens=_count(usage, "input_tokens", required=True),
        output_tokens=_count(usage, "output_tokens", required=True),
        cache_read_tokens=_count(usage, "input_tokens_details", "cached_tokens"),
        reasoning_tokens=_count(usage, "output_tokens_details", "reasoning_tokens"),
    )


def _finish(reason: Any) -> str:
    """Chat finish_reason: "stop" and "length" as they are, anything else raw."""
    return _str(reason) or "unknown"


def _responses_finish(body: Any) -> str:
    status = _str(_get(body, "status"))
    if status == "completed":
        return "stop"
    if status == "incomplete":
        reason = _str(_get(body, "incomplete_details", "reason"))
        return "length" if reason == "max_output_tokens" else reason or status
    return status or "unknown"


def _output_text(body: Any) -> str:
    """The answer text of a Responses API body: every output_text part of every message."""
    output = _get(body, "output")
    if not isinstance(output, list):
        raise _BadBody("no output in the answer")
    return "".join(
        _str(_get(part, "text"))
        for item in output
        if _get(item, "type") == "message"
        for part in _get(item, "content") or ()
        if _get(part, "type") == "output_text"
    )


def _stream_failure(event: Any) -> str:
    error = _get(event, "response", "error") or event
    code, message = _str(_get(error, "code")), _str(_get(error, "message"))
    return f"the stream failed: {code or 'error'} {message}".strip()


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _BadBody("an image without b64_json")
    return base64.b64decode(value, validate=True)
