"""Anthropic Messages API through the official `anthropic` SDK.

The SDK is imported lazily (so `import router` stays light), its own retries are off (the router
owns retry and fallback), and every SDK or transport exception is converted here into a
`router.errors` type that keeps the status, retry-after hint and response body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from catalog import Usage
from router.classifier import estimate_tokens
from router.errors import MalformedResponse, ProviderError
from router.providers._http import (
    malformed,
    response_text,
    safe_body,
    server_of,
    status_error,
    transport_error,
)
from router.providers.base import Call, Completion, Delta

if TYPE_CHECKING:
    import anthropic

# Anthropic's stop reasons in OTel's vocabulary; anything else is passed on lower-cased.
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
# An error event inside a 200 stream carries no status of its own: infer it from the type.
STREAM_ERROR_STATUS = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 408,
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
}


class AnthropicProvider:
    """Calls Claude models; raises `router.errors.ProviderError` subclasses, never SDK errors."""

    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        prompt_cache: bool = False,
    ) -> None:
        import anthropic

        self._key = api_key
        # Opt-in: a cache write costs 1.25x input, which only pays off for prompts reused
        # within the cache's lifetime (5 minutes).
        self._prompt_cache = prompt_cache
        # base_url only when given, so the SDK's own ANTHROPIC_BASE_URL lookup still applies.
        extra: dict[str, Any] = {"base_url": base_url} if base_url is not None else {}
        self._client: anthropic.Anthropic = anthropic.Anthropic(
            api_key=api_key, max_retries=0, timeout=timeout_s, **extra
        )
        self._address, self._port = server_of(str(self._client.base_url))

    def complete(self, call: Call) -> Completion:
        """One request, one answer, with usage in the OTel convention."""
        start = time.perf_counter_ns()
        try:
            message: Any = self._client.messages.create(**_request(call, self._prompt_cache))
        except Exception as exc:
            raise self._convert(exc, call, start) from exc
        latency = time.perf_counter_ns() - start
        if not hasattr(message, "content"):  # e.g. a non-JSON body returned as plain text
            raise MalformedResponse(
                "malformed", f"{call.model.name}: unreadable response body", latency_ns=latency
            )
        text = "".join(
            getattr(block, "text", "") or ""
            for block in message.content or ()
            if getattr(block, "type", None) == "text"
        )
        usage = _usage(getattr(message, "usage", None), None)
        return self._completion(call, message, text, usage, latency)

    def stream(self, call: Call) -> Iterator[Delta | Completion]:
        """Yields Delta pieces as they arrive, then one Completion with the full usage."""
        start = time.perf_counter_ns()
        try:
            events: Any = self._client.messages.create(
                **_request(call, self._prompt_cache), stream=True
            )
        except Exception as exc:
            raise self._convert(exc, call, start) from exc
        pieces: list[str] = []
        message: Any = None
        start_usage: Any = None
        final_usage: Any = None
        stop: str | None = None
        try:
            for event in events:
                kind = getattr(event, "type", None)
                if kind == "message_start":
                    message = event.message
                    start_usage = getattr(message, "usage", None)
                elif kind == "content_block_delta" and event.delta.type == "text_delta":
                    pieces.append(event.delta.text)
                    yield Delta(event.delta.text)
                elif kind == "message_delta":
                    stop = event.delta.stop_reason or stop
                    final_usage = getattr(event, "usage", None) or final_usage
        except Exception as exc:
            raise self._convert(exc, call, start) from exc
        finally:
            events.close()
        latency = time.perf_counter_ns() - start
        if message is None:
            raise MalformedResponse(
                "malformed", f"{call.model.name}: stream had no message_start", latency_ns=latency
            )
        usage = _usage(start_usage, final_usage)
        yield self._completion(call, message, "".join(pieces), usage, latency, stop)

    def _completion(
        self,
        call: Call,
        message: Any,
        text: str,
        usage: Usage | None,
        latency: int,
        stop: str | None = None,
    ) -> Completion:
        if usage is None:
            # Refuse rather than let the router price an answer at $0.
            raise MalformedResponse(
                "malformed", f"{call.model.name}: response is missing usage", latency_ns=latency
            )
        raw_stop = stop or getattr(message, "stop_reason", None) or ""
        return Completion(
            text=text,
            response_model=getattr(message, "model", None) or call.model.name,
            response_id=getattr(message, "id", None) or "",
            finish_reason=FINISH.get(raw_stop, raw_stop.lower()),
            usage=usage,
            latency_ns=latency,
            server_address=self._address,
            server_port=self._port,
            simulated=False,
        )

    def _convert(self, exc: Exception, call: Call, start: int) -> Exception:
        """The router error for an SDK/transport exception (or `exc` itself if unknown)."""
        import anthropic
        from pydantic import ValidationError

        latency = time.perf_counter_ns() - start
        where = call.model.name
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            if status == 200:  # an error event inside the stream
                status = STREAM_ERROR_STATUS.get(str(exc.type or ""), 500)
            body = safe_body(response_text(exc.response, exc.body), self._key)
            headers = exc.response.headers
            return status_error(status, where, headers=headers, body=body, latency_ns=latency)
        if isinstance(
            exc, anthropic.APIResponseValidationError | json.JSONDecodeError | ValidationError
        ):  # a truncated body or SSE event, or fields of the wrong type
            return malformed(where, type(exc).__name__, latency)
        # raw httpx2 errors (no SDK wrapper) can escape while a stream is read
        converted = transport_error(
            exc,
            where,
            timeout_s=call.timeout_s,
            server=f"{self._address}:{self._port}",
            latency_ns=latency,
            kind=_sdk_kind(exc),
        )
        if converted is not None:
            return converted
        if isinstance(exc, anthropic.AnthropicError):
            error_type = type(exc).__name__
            return ProviderError(error_type, f"{where}: {error_type}", latency_ns=latency)
        return exc


def _sdk_kind(exc: Exception) -> str | None:
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout"
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection"
    return None


# Anthropic caches nothing shorter than this (1,024 tokens for Sonnet and Opus, more for Haiku);
# below it a cache mark would only be ignored.
CACHE_MIN_TOKENS = 1024


def _request(call: Call, prompt_cache: bool) -> dict[str, Any]:
    content: Any = call.prompt
    if prompt_cache and estimate_tokens(call.prompt) >= CACHE_MIN_TOKENS:
        content = [{"type": "text", "text": call.prompt, "cache_control": {"type": "ephemeral"}}]
    return {
        "model": call.model.name,
        "max_tokens": call.max_tokens,
        "messages": [{"role": "user", "content": content}],
        "timeout": call.timeout_s,
    }


def _usage(first: Any, last: Any) -> Usage | None:
    """OTel usage from Anthropic's (input excludes cache) counts; later counts are cumulative."""
    if first is None and last is None:
        return None

    def field(name: str) -> int | None:
        for source in (last, first):
            value = getattr(source, name, None) if source is not None else None
            if value is not None:
                return int(value)
        return None

    plain_in, out = field("input_tokens"), field("output_tokens")
    if plain_in is None or out is None:
        return None
    read = field("cache_read_input_tokens") or 0
    write = field("cache_creation_input_tokens") or 0
    details = getattr(last, "output_tokens_details", None) or getattr(
        first, "output_tokens_details", None
    )
    reasoning = int(getattr(details, "thinking_tokens", 0) or 0)
    return Usage(
        input_tokens=plain_in + read + write,
        output_tokens=out,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=reasoning,
    )
