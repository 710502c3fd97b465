"""The HTTP edge the real adapters share: SDK-independent parts of turning a failed call into a
`router.errors` type (status mapping, retry hints, safe bodies, transport failures), and the
server address and port for telemetry.

Each adapter recognises its own SDK's exceptions and hands the pieces (status, headers, body,
transport exception) to these helpers, so every provider reports failures the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

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

BODY_LIMIT = 2_000

_STATUS_CLASSES: dict[int, tuple[type[ProviderError], str]] = {
    429: (RateLimited, "rate limited"),
    503: (Overloaded, "overloaded"),
    529: (Overloaded, "overloaded"),
    408: (Timeout, "request timeout"),
}


def server_of(url: str) -> tuple[str, int]:
    """`server.address` and `server.port` of a base URL (the scheme's port when none is given)."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "", parts.port or default


def status_class(status: int) -> tuple[type[ProviderError], str]:
    """The router error class for an HTTP status, and a few words saying what it means."""
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ServerError, "server error"
    if status >= 400:
        return BadRequest, "request rejected"
    return MalformedResponse, "unexpected status"


def status_error(
    status: int,
    where: str,
    *,
    headers: Mapping[str, str],
    body: str | None,
    latency_ns: int,
) -> ProviderError:
    """The router error for an HTTP error answer; `body` must already be `safe_body`'d."""
    cls, what = status_class(status)
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


def response_text(response: Any, parsed: object = None) -> str:
    """The raw body of an error response, or `parsed` as JSON when the body cannot be read."""
    try:
        text = str(response.text) if response is not None else ""
    except Exception:  # a streamed body may be closed or never read
        text = ""
    if not text and parsed is not None:
        text = json.dumps(parsed, default=str)
    return text


def safe_body(text: str | None, key: str) -> str | None:
    """`text` with the API key blanked (some hosts echo it), then cut to BODY_LIMIT characters."""
    if not text:
        return None
    if key:
        text = text.replace(key, "[redacted]")
    return text[:BODY_LIMIT]


def transport_kind(exc: BaseException) -> str | None:
    """Classify httpx/httpx2 transport errors by class name: "timeout", "connection" or None."""
    names = {cls.__name__ for cls in type(exc).__mro__ if cls.__module__.startswith("httpx")}
    if "TimeoutException" in names:
        return "timeout"
    if "TransportError" in names:
        return "connection"
    return None


def transport_error(
    exc: BaseException,
    where: str,
    *,
    timeout_s: float,
    server: str,
    latency_ns: int,
    kind: str | None = None,
) -> ProviderError | None:
    """Timeout or ConnectionFailed for a transport failure, else None.

    `kind` is what the adapter already knows from its SDK's own exception classes; without it
    raw httpx/httpx2 exceptions (which some SDKs let through) are classified by `transport_kind`.
    """
    kind = kind or transport_kind(exc)
    if kind == "timeout":
        return Timeout("timeout", f"{where}: no answer in {timeout_s:g} s", latency_ns=latency_ns)
    if kind == "connection":
        message = f"{where}: cannot reach {server} ({type(exc).__name__})"
        return ConnectionFailed("connection", message, latency_ns=latency_ns)
    return None


def malformed(
    where: str, problem: str, latency_ns: int, body: str | None = None
) -> MalformedResponse:
    """The error for an answer that cannot be read; `body` must already be `safe_body`'d."""
    return MalformedResponse(
        "malformed", f"{where}: unreadable answer ({problem})", latency_ns=latency_ns, body=body
    )
