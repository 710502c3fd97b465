"""Response bodies in each provider's wire format (pure functions; no HTTP here).

Token counts arrive in the OpenTelemetry convention (`Answer.input_tokens` includes cache read and
cache write tokens, `Answer.output_tokens` includes reasoning tokens) and are translated to each
provider's own usage fields here.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """A unique, provider-looking id such as ``msg_loopback000001``."""
    return f"{prefix}loopback{next(_ids):06d}"


@dataclass(frozen=True)
class Answer:
    """One programmed success answer (see ``LoopbackServer.respond``)."""

    text: str = "Hello from loopback."
    input_tokens: int = 12
    output_tokens: int = 7
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    finish: str = "stop"
    model: str | None = None
    usage: bool = True  # False: omit usage fields entirely (``no_usage``)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def split_text(text: str) -> list[str]:
    """Split text into >= 2 stream pieces (word boundaries; halves if one word)."""
    pieces = re.findall(r"\s*\S+|\s+$", text)
    if len(pieces) >= 2:
        return pieces
    if len(text) >= 2:
        half = len(text) // 2
        return [text[:half], text[half:]]
    return [text]


def sse(data: JSON | str, event: str | None = None) -> bytes:
    """One server-sent event: optional ``event:`` line, a ``data:`` line, blank line."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


MALFORMED_JSON = b'{"id": "broken", "content": [{"type": "text", "text": "trunc'


def _tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x80\x00")  # filter byte + one orange pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


TINY_PNG: bytes = _tiny_png()
TINY_PNG_B64: str = base64.b64encode(TINY_PNG).decode()


# --------------------------------------------------------------------------------------------
# Anthropic Messages
# --------------------------------------------------------------------------------------------

_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}


def anthropic_usage(a: Answer) -> JSON:
    uncached = max(a.input_tokens - a.cache_read_tokens - a.cache_write_tokens, 0)
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": a.cache_write_tokens,
        "cache_read_input_tokens": a.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": a.cache_write_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": a.output_tokens,
        "service_tier": "standard",
    }


def _anthropic_message(model: str, content: list[JSON], stop: str | None) -> JSON:
    message: JSON = {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
    }
    return message


def anthropic_message(a: Answer, model: str) -> JSON:
    stop = _ANTHROPIC_STOP.get(a.finish, a.finish)
    message = _anthropic_message(model, [{"type": "text", "text": a.text}], stop)
    if a.usage:
        message["usage"] = anthropic_usage(a)
    return message


def anthropic_stream(a: Answer, model: str) -> Iterator[bytes]:
    start = _anthropic_message(model, [], None)
    if a.usage:
        start["usage"] = {**anthropic_usage(a), "output_tokens": 1}
    yield sse({"type": "message_start", "message": start}, "message_start")
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    yield sse(block, "content_block_start")
    yield sse({"type": "ping"}, "ping")
    for piece in split_text(a.text):
        delta = {"type": "text_delta", "text": piece}
        yield sse(
            {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
        )
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    stop = _ANTHROPIC_STOP.get(a.finish, a.finish)
    message_delta: JSON = {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
    }
    if a.usage:
        message_delta["usage"] = {"output_tokens": a.output_tokens}
    yield sse(message_delta, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


def anthropic_malformed_stream() -> Iterator[bytes]:
    yield b"event: message_start\ndata: " + MALFORMED_JSON + b"\n\n"


_ANTHROPIC_ERROR = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def anthropic_error(status: int) -> JSON:
    kind = _ANTHROPIC_ERROR.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": f"loopback injected {status}"}}


# --------------------------------------------------------------------------------------------
# OpenAI Chat Completions, Responses, Images
# --------------------------------------------------------------------------------------------

_OPENAI_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def openai_chat_usage(a: Answer) -> JSON:
    prompt_details: JSON = {"cached_tokens": a.cache_read_tokens, "audio_tokens": 0}
    if a.cache_write_tokens:
        prompt_details["cache_write_tokens"] = a.cache_write_tokens
    return {
        "prompt_tokens": a.input_tokens,
        "completion_tokens": a.output_tokens,
        "total_tokens": a.total_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": a.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_chat(a: Answer, model: str) -> JSON:
    body: JSON = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": a.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": _OPENAI_FINISH.get(a.finish, a.finish),
            }
        ],
        "service_tier": "default",
        "system_fingerprint": "fp_loopback",
    }
    if a.usage:
        body["usage"] = openai_chat_usage(a)
    return body


def openai_chat_stream(a: Answer, model: str, include_usage: bool) -> Iterator[bytes]:
    base: JSON = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_loopback",
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: JSON, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in split_text(a.text):
        yield chunk({"content": piece})
    yield chunk({}, _OPENAI_FINISH.get(a.finish, a.finish))
    if include_usage:
        yield sse({**base, "choices": [], "usage": openai_chat_usage(a) if a.usage else None})
    yield sse("[DONE]")


def openai_malformed_stream() -> Iterator[bytes]:
    yield b"data: " + MALFORMED_JSON + b"\n\n"


def openai_responses_usage(a: Answer) -> JSON:
    return {
        "input_tokens": a.input_tokens,
        "input_tokens_details": {
            "cached_tokens": a.cache_read_tokens,
            "cache_write_tokens": a.cache_write_tokens,
        },
        "output_tokens": a.output_tokens,
        "output_tokens_details": {"reasoning_tokens": a.reasoning_tokens},
        "total_tokens": a.total_tokens,
    }


def _responses_message(message_id: str, text: str, status: str) -> JSON:
    return {
        "type": "message",
        "id": message_id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def _responses_status(a: Answer) -> tuple[str, JSON | None]:
    if a.finish == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if a.finish == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def openai_response(
    a: Answer,
    model: str,
    *,
    response_id: str | None = None,
    message_id: str | None = None,
    in_progress: bool = False,
) -> JSON:
    """A ``response`` object; ``in_progress`` gives the shape sent in ``response.created``."""
    status, incomplete = _responses_status(a)
    created = int(time.time())
    body: JSON = {
        "id": response_id or new_id("resp_"),
        "object": "response",
        "created_at": created,
        "status": "in_progress" if in_progress else status,
        "background": False,
        "completed_at": None if in_progress else created,
        "error": None,
        "incomplete_details": None if in_progress else incomplete,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": (
            []
            if in_progress
            else [_responses_message(message_id or new_id("msg_"), a.text, "completed")]
        ),
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "metadata": {},
    }
    if a.usage and not in_progress:
        body["usage"] = openai_responses_usage(a)
    return body


def openai_responses_stream(a: Answer, model: str) -> Iterator[bytes]:
    response_id = new_id("resp_")
    message_id = new_id("msg_")
    seq = itertools.count(0)

    def event(name: str, **fields: Any) -> bytes:
        return sse({"type": name, "sequence_number": next(seq), **fields}, name)

    created = openai_response(a, model, response_id=response_id, in_progress=True)
    yield event("response.created", response=created)
    yield event("response.in_progress", response=created)
    item = {**_responses_message(message_id, "", "in_progress"), "content": []}
    yield event("response.output_item.added", output_index=0, item=item)
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    where: JSON = {"item_id": message_id, "output_index": 0, "content_index": 0}
    yield event("response.content_part.added", **where, part=part)
    for piece in split_text(a.text):
        yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
    yield event("response.output_text.done", **where, text=a.text, logprobs=[])
    yield event("response.content_part.done", **where, part={**part, "text": a.text})
    done_item = _responses_message(message_id, a.text, "completed")
    yield event("response.output_item.done", output_index=0, item=done_item)
    final = openai_response(a, model, response_id=response_id, message_id=message_id)
    name = "response.completed" if final["status"] == "completed" else "response.incomplete"
    yield event(name, response=final)


def openai_images(a: Answer, n: int, model: str) -> JSON:
    body: JSON = {
        "created": int(time.time()),
        "data": [{"b64_json": TINY_PNG_B64} for _ in range(n)],
        "background": "opaque",
        "output_format": "png",
        "quality": "low",
        "size": "1024x1024",
    }
    if a.usage:
        body["usage"] = {
            "input_tokens": a.input_tokens,
            "input_tokens_details": {"text_tokens": a.input_tokens, "image_tokens": 0},
            "output_tokens": a.output_tokens,
            "output_tokens_details": {"text_tokens": 0, "image_tokens": a.output_tokens},
            "total_tokens": a.total_tokens,
        }
    return body


_OPENAI_ERROR: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error(status: int) -> JSON:
    kind, code = _OPENAI_ERROR.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": f"loopback injected {status}",
            "type": kind,
            "param": None,
            "code": code,
        }
    }


# --------------------------------------------------------------------------------------------
# Google Gemini (generateContent, streamGenerateContent, Imagen predict)
# --------------------------------------------------------------------------------------------

_GEMINI_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
}


def gemini_usage(a: Answer, *, final: bool = True) -> JSON:
    """``usageMetadata``; proto3 JSON omits zero counts, as the real API does."""
    usage: JSON = {"promptTokenCount": a.input_tokens}
    if a.cache_read_tokens:
        usage["cachedContentTokenCount"] = a.cache_read_tokens
    if final:
        usage["candidatesTokenCount"] = max(a.output_tokens - a.reasoning_tokens, 0)
        if a.reasoning_tokens:
            usage["thoughtsTokenCount"] = a.reasoning_tokens
        usage["totalTokenCount"] = a.total_tokens
    else:
        usage["totalTokenCount"] = a.input_tokens
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": a.input_tokens}]
    return usage


def _gemini_chunk(text: str, finish: str | None, model: str, response_id: str) -> JSON:
    candidate: JSON = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": model, "responseId": response_id}


def gemini_generate(a: Answer, model: str) -> JSON:
    finish = _GEMINI_FINISH.get(a.finish, a.finish)
    body = _gemini_chunk(a.text, finish, model, new_id("resp-"))
    if a.usage:
        body["usageMetadata"] = gemini_usage(a)
    return body


def gemini_stream(a: Answer, model: str) -> Iterator[bytes]:
    """Text split across chunks; every chunk carries usageMetadata (prompt only until the last)."""
    response_id = new_id("resp-")
    pieces = split_text(a.text)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        finish = _GEMINI_FINISH.get(a.finish, a.finish) if last else None
        chunk = _gemini_chunk(piece, finish, model, response_id)
        if a.usage:
            chunk["usageMetadata"] = gemini_usage(a, final=last)
        yield sse(chunk)


def gemini_malformed_stream() -> Iterator[bytes]:
    yield b"data: " + MALFORMED_JSON + b"\n\n"


def imagen_predict(n: int) -> JSON:
    return {
        "predictions": [
            {"bytesBase64Encoded": TINY_PNG_B64, "mimeType": "image/png"} for _ in range(n)
        ]
    }


_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def gemini_error(status: int) -> JSON:
    name = _GEMINI_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"error": {"code": status, "message": f"loopback injected {status}", "status": name}}
