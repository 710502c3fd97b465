"""GeminiProvider: the real `google-genai` SDK against the loopback server's Gemini routes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from catalog import Usage, load_catalog
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
from router.providers.base import Call, Completion, Delta
from router.providers.gemini_api import GeminiProvider
from tests.loopback import LoopbackServer, unused_port

KEY = "AIza-test-key-0123456789"
MODEL = load_catalog().get("gemini-2.5-flash")
IMAGEN = dataclasses.replace(MODEL, name="imagen-4.0-generate-001")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# google-genai 3.x marks generate_images deprecated (Imagen -> generate_content image models).
IMAGEN_DEPRECATED = "ignore:The generate_images method is deprecated"


def _call(timeout_s: float = 10.0, max_tokens: int = 256) -> Call:
    return Call(MODEL, "Say hi.", max_tokens, attempt=0, key="k1", timeout_s=timeout_s)


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def provider(srv: LoopbackServer) -> GeminiProvider:
    return GeminiProvider(KEY, base_url=srv.url)


def _split(items: list[Delta | Completion]) -> tuple[list[Delta], Completion]:
    deltas = [i for i in items if isinstance(i, Delta)]
    assert isinstance(items[-1], Completion)
    assert all(isinstance(i, Delta) for i in items[:-1])
    return deltas, items[-1]


def test_plain_completion(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.respond(text="Hi there", input_tokens=1000, output_tokens=500)
    done = provider.complete(_call(max_tokens=321))
    assert done.text == "Hi there"
    assert done.usage == Usage(input_tokens=1000, output_tokens=500)
    assert done.finish_reason == "stop"
    assert done.response_model == "gemini-2.5-flash"
    assert done.response_id.startswith("resp-")
    assert done.server_address == "127.0.0.1"
    assert done.server_port == srv.port
    assert done.simulated is False
    assert done.latency_ns > 0
    sent = srv.requests[-1]
    assert sent.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert sent.body == {
        "contents": [{"parts": [{"text": "Say hi."}], "role": "user"}],
        "generationConfig": {"maxOutputTokens": 321},
    }


def test_finish_length(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.respond(text="Cut", input_tokens=10, output_tokens=256, finish="length")
    assert provider.complete(_call()).finish_reason == "length"


def test_other_finish_reason_is_lower_cased(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.respond(text="No", finish="content_filter")  # Gemini: SAFETY
    assert provider.complete(_call()).finish_reason == "safety"


def test_response_model_comes_from_the_response(
    srv: LoopbackServer, provider: GeminiProvider
) -> None:
    srv.respond(text="Hi", model="gemini-2.5-flash-002")
    assert provider.complete(_call()).response_model == "gemini-2.5-flash-002"


def test_cached_and_thinking_tokens(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.respond(
        text="Thought about it",
        input_tokens=1000,
        cache_read_tokens=200,
        output_tokens=500,
        reasoning_tokens=50,
    )
    done = provider.complete(_call())
    # promptTokenCount already includes the cached 200; thoughts (50) are billed as output
    assert done.usage == Usage(
        input_tokens=1000, output_tokens=500, cache_read_tokens=200, reasoning_tokens=50
    )


def test_stream_yields_deltas_then_exact_usage(
    srv: LoopbackServer, provider: GeminiProvider
) -> None:
    srv.respond(
        text="Hello streaming world",
        input_tokens=1000,
        cache_read_tokens=200,
        output_tokens=500,
        reasoning_tokens=50,
    )
    deltas, done = _split(list(provider.stream(_call())))
    assert len(deltas) >= 2
    assert "".join(d.text for d in deltas) == "Hello streaming world"
    assert done.text == "Hello streaming world"
    assert done.usage == Usage(
        input_tokens=1000, output_tokens=500, cache_read_tokens=200, reasoning_tokens=50
    )
    assert done.finish_reason == "stop"
    assert done.response_model == "gemini-2.5-flash"
    assert done.response_id.startswith("resp-")
    sent = srv.requests[-1]
    assert (sent.path, sent.query) == (
        "/v1/models/gemini-2.5-flash:streamGenerateContent",
        "alt=sse",
    )
    assert len(srv.requests) == 1


def test_stream_finish_length(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.respond(text="Cut short", output_tokens=256, finish="length")
    _, done = _split(list(provider.stream(_call())))
    assert done.finish_reason == "length"
    assert done.usage == Usage(input_tokens=12, output_tokens=256)


def test_rate_limited_with_retry_after(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.fail(429, headers={"retry-after": "2"})
    with pytest.raises(RateLimited) as info:
        provider.complete(_call())
    err = info.value
    assert (err.error_type, err.status, err.retry_after_s) == ("429", 429, 2.0)
    assert err.retryable is True
    assert err.body is not None and "RESOURCE_EXHAUSTED" in err.body
    assert err.latency_ns > 0
    assert len(srv.requests) == 1  # no SDK retry


def test_retry_after_ms_is_preferred(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.fail(429, headers={"retry-after-ms": "150", "retry-after": "9"})
    with pytest.raises(RateLimited) as info:
        provider.complete(_call())
    assert info.value.retry_after_s == 0.15
    assert len(srv.requests) == 1


@pytest.mark.parametrize(
    ("status", "kind", "error_type"),
    [
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
    ],
)
def test_status_mapping(
    srv: LoopbackServer,
    provider: GeminiProvider,
    status: int,
    kind: type[ProviderError],
    error_type: str,
) -> None:
    srv.fail(status)
    with pytest.raises(kind) as info:
        provider.complete(_call())
    assert type(info.value) is kind
    assert (info.value.error_type, info.value.status) == (error_type, status)
    assert info.value.retry_after_s is None
    assert len(srv.requests) == 1  # the SDK made exactly one request


def test_bad_request_is_not_retryable(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.fail(400)
    with pytest.raises(BadRequest) as info:
        provider.complete(_call())
    assert info.value.retryable is False
    assert info.value.body is not None and "INVALID_ARGUMENT" in info.value.body


def test_body_is_truncated(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.fail(500, body="x" * 5000)
    with pytest.raises(ServerError) as info:
        provider.complete(_call())
    assert info.value.body == "x" * 2000


def test_stream_errors_are_converted(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.fail(503, headers={"retry-after": "3"})
    with pytest.raises(Overloaded) as info:
        list(provider.stream(_call()))
    assert (info.value.status, info.value.retry_after_s) == (503, 3.0)
    assert len(srv.requests) == 1


def test_slow_answer_times_out(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.delay(3.0)
    with pytest.raises(Timeout) as info:
        provider.complete(_call(timeout_s=0.3))
    assert info.value.error_type == "timeout"
    assert info.value.status is None
    assert info.value.latency_ns >= 300_000_000
    assert len(srv.requests) == 1


def test_slow_stream_times_out(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.delay(3.0)
    with pytest.raises(Timeout):
        list(provider.stream(_call(timeout_s=0.3)))
    assert len(srv.requests) == 1


def test_refused_connection() -> None:
    provider = GeminiProvider(KEY, base_url=f"http://127.0.0.1:{unused_port()}")
    with pytest.raises(ConnectionFailed) as info:
        provider.complete(_call())
    assert (info.value.error_type, info.value.status) == ("connection", None)


def test_malformed_body(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.malformed()
    with pytest.raises(MalformedResponse) as info:
        provider.complete(_call())
    assert info.value.error_type == "malformed"
    assert len(srv.requests) == 1


def test_malformed_stream(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.malformed()
    with pytest.raises(MalformedResponse):
        list(provider.stream(_call()))


def test_missing_usage_is_refused(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.no_usage()
    with pytest.raises(MalformedResponse, match="missing usage"):
        provider.complete(_call())


def test_missing_usage_in_stream_is_refused(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.no_usage()
    with pytest.raises(MalformedResponse, match="missing usage"):
        list(provider.stream(_call()))


def test_api_key_is_sent_but_never_leaks(srv: LoopbackServer, provider: GeminiProvider) -> None:
    srv.fail(401, body=f'{{"echo": "x-goog-api-key: {KEY}"}}')
    srv.fail(429, headers={"retry-after": "1"})
    srv.fail(500)
    srv.malformed()
    srv.delay(3.0)
    raised: list[ProviderError] = []
    for timeout_s in (10.0, 10.0, 10.0, 10.0, 0.3):
        with pytest.raises(ProviderError) as info:
            provider.complete(_call(timeout_s=timeout_s))
        raised.append(info.value)
    with pytest.raises(ProviderError) as refused:
        GeminiProvider(KEY, base_url=f"http://127.0.0.1:{unused_port()}").complete(_call())
    raised.append(refused.value)
    assert [e.error_type for e in raised] == ["401", "429", "500", "malformed", "timeout"] + [
        "connection"
    ]
    assert srv.requests[0].headers["x-goog-api-key"] == KEY
    for err in raised:
        for text in (str(err), repr(err), err.body or "", repr(err.args)):
            assert KEY not in text


@pytest.mark.filterwarnings(IMAGEN_DEPRECATED)
def test_generate_images(srv: LoopbackServer, provider: GeminiProvider) -> None:
    result = provider.generate_images(IMAGEN, "a cat", 2, 10.0)
    assert len(result.images) == 2
    assert all(isinstance(img, bytes) and img.startswith(PNG_MAGIC) for img in result.images)
    assert result.response_model == "imagen-4.0-generate-001"
    assert (result.server_address, result.server_port) == ("127.0.0.1", srv.port)
    assert result.latency_ns > 0
    sent = srv.requests[-1]
    assert sent.path.endswith("/models/imagen-4.0-generate-001:predict")
    assert sent.body == {"instances": [{"prompt": "a cat"}], "parameters": {"sampleCount": 2}}
    assert len(srv.requests) == 1


@pytest.mark.filterwarnings(IMAGEN_DEPRECATED)
def test_generate_images_errors_are_converted(
    srv: LoopbackServer, provider: GeminiProvider
) -> None:
    srv.fail(429, headers={"retry-after-ms": "150"})
    with pytest.raises(RateLimited) as info:
        provider.generate_images(IMAGEN, "a cat", 2, 10.0)
    assert (info.value.status, info.value.retry_after_s) == (429, 0.15)
    assert len(srv.requests) == 1
    srv.delay(3.0)
    with pytest.raises(Timeout):
        provider.generate_images(IMAGEN, "a cat", 1, 0.3)
