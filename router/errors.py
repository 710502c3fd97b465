"""The router's exception tree. Vendor exceptions are converted at the adapter edge."""

from __future__ import annotations


class RouterError(Exception):
    """Base of every router error."""


class ConfigError(RouterError):
    """mmoa.yaml (or the dict given) is invalid. The message names the file, the key and the fix."""

    def __init__(self, where: str, key: str, problem: str, fix: str) -> None:
        self.where, self.key, self.problem, self.fix = where, key, problem, fix
        super().__init__(f"{where}: {key}: {problem}. Fix: {fix}")


class NoCapableModel(RouterError):
    """No model in the catalog meets the floor and fits the prompt."""


class ProviderError(RouterError):
    """One provider call failed; `error_type` follows OTel's `error.type` ("429", "timeout")."""

    retryable: bool = True
    # set when part of a streamed answer had already reached the caller: no retry, no fallback
    after_output: bool = False

    def __init__(
        self,
        error_type: str,
        message: str,
        *,
        latency_ns: int = 0,
        status: int | None = None,
        retry_after_s: float | None = None,
        body: str | None = None,
    ) -> None:
        self.error_type = error_type
        self.latency_ns = latency_ns
        self.status = status  # HTTP status, when there was a response
        self.retry_after_s = retry_after_s  # from retry-after / retry-after-ms headers
        self.body = body  # the response body (truncated), never request headers or keys
        super().__init__(message)


class RateLimited(ProviderError):
    """HTTP 429."""


class Overloaded(ProviderError):
    """HTTP 529 or 503: the provider is overloaded."""


class ServerError(ProviderError):
    """HTTP 5xx."""


class Timeout(ProviderError):
    """The call exceeded its deadline."""


class BadRequest(ProviderError):
    """HTTP 400/401/403/404/422: retrying cannot help."""

    retryable = False


class ConnectionFailed(ProviderError):
    """No connection (refused, reset, DNS): the request may not have reached the provider."""


class MalformedResponse(ProviderError):
    """The provider answered with a body the adapter cannot read (bad JSON, missing fields)."""


class MissingKey(RouterError):
    """A real provider was asked for but its API key is not set. The message names the variable."""


class AllAttemptsFailed(RouterError):
    """Every model in the chain failed; `attempts` lists what each one said."""

    SHOWN = 4  # the message names this many; `attempts` keeps them all

    def __init__(self, request_id: str, attempts: list[tuple[str, str]]) -> None:
        self.request_id = request_id
        self.attempts = attempts
        calls = [a for a in attempts if a[1] != "skipped"]
        skipped = [a for a in attempts if a[1] == "skipped"]
        parts = [f"{model}: {err}" for model, err in calls] + [model for model, _ in skipped]
        detail = "; ".join(parts[: self.SHOWN])
        if len(parts) > self.SHOWN:
            detail += f"; and {len(parts) - self.SHOWN} more"
        super().__init__(
            f"request {request_id}: no model answered ({len(calls)} calls failed, "
            f"{len(skipped)} models skipped): {detail}"
        )
