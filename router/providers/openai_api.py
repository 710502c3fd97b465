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
from typing import Any

from catalog import ModelSpec, Usage
from router.errors import ProviderError, ServerError
from router.providers._http import (
    malformed,
    response_text,
    safe_body,
    server_of,
    status_error,
    transport_error,
)
from router.providers._http import (
    retry_after_s as retry_after_s,  # re-exported: part of this module's public names
)
from router.providers.base import Call, Completion, Delta, Images

APIS = ("chat", "responses")
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
        self.server_address, self.server_port = server_of(str(self._client.base_url))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, api={self.api!r}, server={self._server})"

    # ---- public interface -------------------------------------------------------------------

    def complete(self, call: Call) -> Completion:
        """One call, answered in full."""
        start = time.perf_counter_ns()
        with self._edge(call.model.name, call.timeout_s, start):
            if self.api == "responses":
                endpoint = self._client.responses.with_raw_response
                raw = endpoint.create(**self._responses_args(call))
                return self._responses_completion(_json(raw.text), None, start)
            raw = self._client.chat.completions.with_raw_response.create(**self._chat_args(call))
            return self._chat_completion(_json(raw.text), start)

    def stream(self, call: Call) -> Iterator[Delta | Completion]:
        """Delta pieces as they arrive, then one Completion with the call's full usage."""
        start = time.perf_counter_ns()
        with self._edge(call.model.name, call.timeout_s, start):
            if self.api == "responses":
                yield from self._stream_responses(call, start)
            else:
                yield from self._stream_chat(call, start)

    def generate_images(self, model: ModelSpec, prompt: str, n: int, timeout_s: float) -> Images:
        """`n` images for `prompt`, decoded from base64 to raw bytes."""
        start = time.perf_counter_ns()
        with self._edge(model.name, timeout_s, start):
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
    def _edge(self, model: str, timeout_s: float, start: int) -> Iterator[None]:
        """Converts SDK, transport and body errors into router.errors, keeping the cause."""
        where = f"{self.name} {model}"
        sdk, httpx = self._openai, self._httpx
        try:
            yield
        except (sdk.OpenAIError, httpx.HTTPError, httpx.StreamError, ValueError) as exc:
            latency_ns = time.perf_counter_ns() - start
            raise self._convert(exc, where, timeout_s, latency_ns) from exc
        except _StreamFailed as exc:
            latency_ns = time.perf_counter_ns() - start
            raise ServerError("error", f"{where}: {exc}", latency_ns=latency_ns) from None

    def _convert(
        self, exc: Exception, where: str, timeout_s: float, latency_ns: int
    ) -> ProviderError:
        sdk = self._openai
        if isinstance(exc, sdk.APIStatusError):
            response = exc.response
            return status_error(
                response.status_code,
                where,
                headers=response.headers,
                body=safe_body(response_text(response), self._key),
                latency_ns=latency_ns,
            )
        kind = (
            "timeout"
            if isinstance(exc, sdk.APITimeoutError)
            else "connection"
            if isinstance(exc, sdk.APIConnectionError)
            else None
        )
        converted = transport_error(
            exc,
            where,
            timeout_s=timeout_s,
            server=self._server,
            latency_ns=latency_ns,
            kind=kind,
        )
        if converted is not None:
            return converted
        if isinstance(exc, _BadBody):
            return malformed(where, str(exc), latency_ns, safe_body(exc.body, self._key))
        return malformed(where, type(exc).__name__, latency_ns)


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
