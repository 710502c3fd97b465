"""Cases every real adapter must pass, written once and run against each provider's wire format.

A provider test module subclasses `ProviderCases`, fills in the class attributes and `make`,
and pytest collects the inherited tests under that class (this module itself is not collected).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

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
from router.providers.base import Call, Completion, Delta, StreamingProvider
from tests.loopback import LoopbackServer, unused_port

STATUS_CASES: list[tuple[int, type[ProviderError], str]] = [
    (429, RateLimited, "429"),
    (529, Overloaded, "529"),
    (503, Overloaded, "503"),
    (500, ServerError, "500"),
    (502, ServerError, "502"),
    (408, Timeout, "408"),
    (400, BadRequest, "400"),
    (401, BadRequest, "401"),
    (403, BadRequest, "403"),
    (404, BadRequest, "404"),
    (422, BadRequest, "422"),
]


def split(items: list[Delta | Completion]) -> tuple[list[Delta], Completion]:
    """The Delta pieces of a stream and its one last Completion (checking that shape)."""
    deltas = [i for i in items if isinstance(i, Delta)]
    assert isinstance(items[-1], Completion)
    assert all(isinstance(i, Delta) for i in items[:-1])
    return deltas, items[-1]


class ProviderCases:
    """The edge behaviour shared by every adapter: finish, usage, errors, timeouts, retries."""

    KEY: ClassVar[str]
    MODEL: ClassVar[ModelSpec]
    PROMPT: ClassVar[str] = "Say hi."
    PATH: ClassVar[str] = ""  # appended to the loopback URL to make the base URL
    # what the provider's error bodies carry for 429 and 400
    RATE_LIMIT_MARK: ClassVar[str]
    BAD_REQUEST_MARK: ClassVar[str]
    # the words of the MalformedResponse raised for an answer without usage
    MISSING_USAGE: ClassVar[str] = "missing usage"
    STREAM_MISSING_USAGE: ClassVar[str | None] = None  # when a stream says it differently
    # the vendor exception kept as the cause of a status error
    STATUS_CAUSE: ClassVar[type[BaseException]]
    # a finish reason outside OTel's vocabulary as the loopback takes it, and as reported
    OTHER_FINISH: ClassVar[tuple[str, str]]
    RESPONSE_MODEL: ClassVar[str]  # a dated model name the response may report
    SLOW_S: ClassVar[float] = 3.0  # how long the loopback stalls in the timeout tests

    def make(self, base_url: str) -> StreamingProvider:
        raise NotImplementedError

    def call(self, timeout_s: float = 10.0, max_tokens: int = 256) -> Call:
        return Call(self.MODEL, self.PROMPT, max_tokens, attempt=0, key="k1", timeout_s=timeout_s)

    def dead(self) -> StreamingProvider:
        """The provider pointed at a port nobody listens on."""
        return self.make(f"http://127.0.0.1:{unused_port()}{self.PATH}")

    @pytest.fixture
    def srv(self) -> Iterator[LoopbackServer]:
        with LoopbackServer() as server:
            yield server

    @pytest.fixture
    def provider(self, srv: LoopbackServer) -> StreamingProvider:
        return self.make(srv.url + self.PATH)

    # ---- answers ----------------------------------------------------------------------------

    def test_finish_length(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.respond(text="Cut", input_tokens=10, output_tokens=256, finish="length")
        assert provider.complete(self.call()).finish_reason == "length"

    def test_other_finish_reason(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        given, expected = self.OTHER_FINISH
        srv.respond(text="No", finish=given)
        assert provider.complete(self.call()).finish_reason == expected

    def test_response_model_comes_from_the_response(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.respond(text="Hi", model=self.RESPONSE_MODEL)
        assert provider.complete(self.call()).response_model == self.RESPONSE_MODEL

    def test_stream_finish_length(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.respond(text="Cut short", output_tokens=256, finish="length")
        _, done = split(list(provider.stream(self.call())))
        assert done.finish_reason == "length"
        assert done.usage == Usage(input_tokens=12, output_tokens=256)

    # ---- HTTP errors ------------------------------------------------------------------------

    def test_rate_limited_with_retry_after(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.fail(429, headers={"retry-after": "2"})
        with pytest.raises(RateLimited) as info:
            provider.complete(self.call())
        err = info.value
        assert (err.error_type, err.status, err.retry_after_s) == ("429", 429, 2.0)
        assert err.retryable is True
        assert err.body is not None and self.RATE_LIMIT_MARK in err.body
        assert err.latency_ns > 0
        assert len(srv.requests) == 1  # no SDK retry

    def test_retry_after_ms_is_preferred(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.fail(429, headers={"retry-after-ms": "150", "retry-after": "9"})
        with pytest.raises(RateLimited) as info:
            provider.complete(self.call())
        assert info.value.retry_after_s == 0.15
        assert len(srv.requests) == 1

    @pytest.mark.parametrize(("status", "kind", "error_type"), STATUS_CASES)
    def test_status_mapping(
        self,
        srv: LoopbackServer,
        provider: StreamingProvider,
        status: int,
        kind: type[ProviderError],
        error_type: str,
    ) -> None:
        srv.fail(status)
        with pytest.raises(kind) as info:
            provider.complete(self.call())
        err = info.value
        assert type(err) is kind
        assert (err.error_type, err.status) == (error_type, status)
        assert err.retry_after_s is None
        assert err.body is not None and f"loopback injected {status}" in err.body
        assert err.latency_ns > 0
        assert isinstance(err.__cause__, self.STATUS_CAUSE)
        assert len(srv.requests) == 1  # the SDK made exactly one request

    @pytest.mark.parametrize(("status", "kind", "error_type"), STATUS_CASES)
    def test_status_mapping_when_streaming(
        self,
        srv: LoopbackServer,
        provider: StreamingProvider,
        status: int,
        kind: type[ProviderError],
        error_type: str,
    ) -> None:
        srv.fail(status)
        with pytest.raises(kind) as info:
            list(provider.stream(self.call()))
        assert (info.value.error_type, info.value.status) == (error_type, status)
        assert len(srv.requests) == 1

    def test_bad_request_is_not_retryable(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.fail(400)
        with pytest.raises(BadRequest) as info:
            provider.complete(self.call())
        assert info.value.retryable is False
        assert info.value.body is not None and self.BAD_REQUEST_MARK in info.value.body
        assert RateLimited.retryable is True

    def test_body_is_truncated(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.fail(500, body="x" * 5000)
        with pytest.raises(ServerError) as info:
            provider.complete(self.call())
        assert info.value.body == "x" * 2000

    # ---- transport --------------------------------------------------------------------------

    def test_slow_answer_times_out(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.delay(self.SLOW_S)
        with pytest.raises(Timeout) as info:
            provider.complete(self.call(timeout_s=0.3))
        assert info.value.error_type == "timeout"
        assert info.value.status is None
        assert info.value.latency_ns >= 300_000_000
        assert len(srv.requests) == 1

    def test_slow_stream_times_out(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.delay(self.SLOW_S)
        with pytest.raises(Timeout):
            list(provider.stream(self.call(timeout_s=0.3)))
        assert len(srv.requests) == 1

    def test_refused_connection(self) -> None:
        provider = self.dead()
        with pytest.raises(ConnectionFailed) as info:
            provider.complete(self.call())
        assert (info.value.error_type, info.value.status) == ("connection", None)
        with pytest.raises(ConnectionFailed):
            list(provider.stream(self.call()))

    # ---- unreadable answers -----------------------------------------------------------------

    def test_malformed_body(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.malformed()
        with pytest.raises(MalformedResponse) as info:
            provider.complete(self.call())
        assert info.value.error_type == "malformed"
        assert len(srv.requests) == 1

    def test_malformed_stream(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.malformed()
        with pytest.raises(MalformedResponse) as info:
            list(provider.stream(self.call()))
        assert info.value.error_type == "malformed"

    def test_missing_usage_is_refused(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.no_usage()
        with pytest.raises(MalformedResponse, match=self.MISSING_USAGE):
            provider.complete(self.call())

    def test_missing_usage_in_stream_is_refused(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.no_usage()
        with pytest.raises(
            MalformedResponse, match=self.STREAM_MISSING_USAGE or self.MISSING_USAGE
        ):
            list(provider.stream(self.call()))


class KeyLeakCase:
    """Every kind of failure, none of which may show the API key (Anthropic and Gemini)."""

    KEY: ClassVar[str]
    KEY_HEADER: ClassVar[str]  # the header a proxy echoes back, key and all

    def call(self, timeout_s: float = 10.0, max_tokens: int = 256) -> Call:
        raise NotImplementedError

    def dead(self) -> StreamingProvider:
        raise NotImplementedError

    def key_was_sent(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def test_api_key_is_sent_but_never_leaks(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.fail(401, body=f'{{"echo": "{self.KEY_HEADER}: {self.KEY}"}}')
        srv.fail(429, headers={"retry-after": "1"})
        srv.fail(500)
        srv.malformed()
        srv.delay(3.0)
        raised: list[ProviderError] = []
        for timeout_s in (10.0, 10.0, 10.0, 10.0, 0.3):
            with pytest.raises(ProviderError) as info:
                provider.complete(self.call(timeout_s=timeout_s))
            raised.append(info.value)
        with pytest.raises(ProviderError) as refused:
            self.dead().complete(self.call())
        raised.append(refused.value)
        assert [e.error_type for e in raised] == ["401", "429", "500", "malformed", "timeout"] + [
            "connection"
        ]
        assert self.key_was_sent(srv.requests[0].headers)
        for err in raised:
            for text in (str(err), repr(err), err.body or "", repr(err.args)):
                assert self.KEY not in text
