"""The OpenAI adapter through the real `openai` SDK against the loopback server.

Both APIs (Chat Completions and Responses) are checked for exact text, usage and finish reason,
streaming, every error mapping, no SDK retries and no key leaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import openai
import pytest

from catalog import ModelSpec, Usage, load_catalog
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
from router.providers.openai_api import OpenAIProvider
from tests.loopback import LoopbackServer, unused_port
from tests.loopback.wire import TINY_PNG
from tests.provider_cases import ProviderCases

KEY = "sk-test-NEVER-LEAK-7f3a9c1e"
APIS = ("chat", "responses")
PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}
CATALOG = load_catalog()
GPT_4O_MINI = CATALOG.get("gpt-4o-mini")
GPT_5_MINI = CATALOG.get("gpt-5-mini")
TEXT = "The cache hit saved most of the prompt."
FULL_USAGE = Usage(
    input_tokens=1000,
    output_tokens=500,
    cache_read_tokens=200,
    cache_write_tokens=0,
    reasoning_tokens=50,
)


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture(params=APIS)
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def provider(srv: LoopbackServer, api: str = "chat") -> OpenAIProvider:
    return OpenAIProvider(KEY, base_url=srv.url + "/v1", api=api)


def call(model: ModelSpec = GPT_5_MINI, *, timeout_s: float = 10.0, max_tokens: int = 800) -> Call:
    return Call(
        model=model,
        prompt="Why is the build slow?",
        max_tokens=max_tokens,
        attempt=0,
        key="k1",
        timeout_s=timeout_s,
    )


def respond_full(srv: LoopbackServer, finish: str = "stop") -> None:
    srv.respond(
        text=TEXT,
        input_tokens=1000,
        cache_read_tokens=200,
        output_tokens=500,
        reasoning_tokens=50,
        finish=finish,
    )


def run_stream(p: OpenAIProvider, c: Call) -> tuple[list[Delta], Completion]:
    items = list(p.stream(c))
    assert isinstance(items[-1], Completion)
    assert all(isinstance(item, Delta) for item in items[:-1])
    deltas = [item for item in items[:-1] if isinstance(item, Delta)]
    return deltas, items[-1]


# ---- plain completions ------------------------------------------------------------------------


def test_complete_exact_text_usage_and_finish(srv: LoopbackServer, api: str) -> None:
    respond_full(srv)
    done = provider(srv, api).complete(call())
    assert done.text == TEXT
    assert done.usage == FULL_USAGE
    assert done.finish_reason == "stop"
    assert done.response_model == "gpt-5-mini"
    assert done.response_id != ""
    assert done.simulated is False
    assert (done.server_address, done.server_port) == ("127.0.0.1", srv.port)
    assert done.latency_ns > 0


def test_complete_without_cache_or_reasoning(srv: LoopbackServer, api: str) -> None:
    srv.respond(text="Hi", input_tokens=12, output_tokens=7)
    done = provider(srv, api).complete(call(GPT_4O_MINI))
    assert (done.text, done.response_model) == ("Hi", "gpt-4o-mini")
    assert done.usage == Usage(input_tokens=12, output_tokens=7)


def test_finish_length(srv: LoopbackServer, api: str) -> None:
    respond_full(srv, finish="length")
    done = provider(srv, api).complete(call())
    assert done.finish_reason == "length"
    assert done.usage == FULL_USAGE


def test_chat_request_body(srv: LoopbackServer) -> None:
    provider(srv, "chat").complete(call(max_tokens=321))
    sent = srv.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body is not None
    assert sent.body["model"] == "gpt-5-mini"
    assert sent.body["messages"] == [{"role": "user", "content": "Why is the build slow?"}]
    assert sent.body["max_completion_tokens"] == 321
    assert "max_tokens" not in sent.body


def test_responses_request_body(srv: LoopbackServer) -> None:
    provider(srv, "responses").complete(call(max_tokens=321))
    sent = srv.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.body is not None
    assert sent.body["model"] == "gpt-5-mini"
    assert sent.body["input"] == "Why is the build slow?"
    assert sent.body["max_output_tokens"] == 321


def test_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="api must be one of"):
        OpenAIProvider(KEY, base_url="http://127.0.0.1:9/v1", api="assistants")


def test_openai_base_url_env_is_honoured(
    srv: LoopbackServer, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
    respond_full(srv)
    p = OpenAIProvider(KEY, api=api)
    assert (p.server_address, p.server_port) == ("127.0.0.1", srv.port)
    done = p.complete(call())
    assert done.usage == FULL_USAGE
    assert [r.path for r in srv.requests] == [PATHS[api]]


def test_default_server_is_api_openai_com_on_443(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    p = OpenAIProvider(KEY)
    assert (p.server_address, p.server_port) == ("api.openai.com", 443)
    assert KEY not in repr(p)


# ---- streaming --------------------------------------------------------------------------------


def test_stream_deltas_and_final_usage(srv: LoopbackServer, api: str) -> None:
    respond_full(srv)
    p = provider(srv, api)
    deltas, done = run_stream(p, call())
    assert len(deltas) >= 2
    assert "".join(d.text for d in deltas) == TEXT
    assert done.text == TEXT
    assert done.usage == FULL_USAGE
    assert done.usage == p.complete(call()).usage
    assert done.finish_reason == "stop"
    assert done.response_model == "gpt-5-mini"
    assert done.response_id != ""
    assert (done.server_address, done.server_port) == ("127.0.0.1", srv.port)


def test_stream_finish_length(srv: LoopbackServer, api: str) -> None:
    respond_full(srv, finish="length")
    _, done = run_stream(provider(srv, api), call())
    assert done.finish_reason == "length"
    assert done.usage == FULL_USAGE


def test_chat_stream_asks_for_usage(srv: LoopbackServer) -> None:
    run_stream(provider(srv, "chat"), call())
    body = srv.requests[-1].body
    assert body is not None
    assert body["stream"] is True
    assert body["stream_options"]["include_usage"] is True


def test_responses_stream_request(srv: LoopbackServer) -> None:
    run_stream(provider(srv, "responses"), call(max_tokens=99))
    body = srv.requests[-1].body
    assert body is not None
    assert body["stream"] is True
    assert body["max_output_tokens"] == 99


# ---- errors and the other cases every adapter shares -------------------------------------------


class TestOpenAI(ProviderCases):
    """The shared cases, against Chat Completions and against the Responses API."""

    KEY = KEY
    MODEL = GPT_5_MINI
    PROMPT = "Why is the build slow?"
    PATH = "/v1"
    RATE_LIMIT_MARK = "rate_limit_exceeded"
    BAD_REQUEST_MARK = "invalid_request_error"
    MISSING_USAGE = "no usage"
    # the chat stream ends without a usage chunk; the Responses stream has no usage in its final
    STREAM_MISSING_USAGE = "no usage|without usage"
    STATUS_CAUSE = openai.APIStatusError
    OTHER_FINISH = ("content_filter", "content_filter")  # kept raw
    RESPONSE_MODEL = "gpt-5-mini-2025-08-07"
    SLOW_S = 2.0
    api = "chat"

    @pytest.fixture(autouse=True, params=APIS)
    def each_api(self, request: pytest.FixtureRequest) -> None:
        self.api = str(request.param)

    def make(self, base_url: str) -> StreamingProvider:
        return OpenAIProvider(KEY, base_url=base_url, api=self.api)

    def test_malformed_body_is_kept(self, srv: LoopbackServer) -> None:
        srv.malformed()
        with pytest.raises(MalformedResponse) as info:
            provider(srv, self.api).complete(call())
        assert info.value.error_type == "malformed"
        assert info.value.body is not None and info.value.body.startswith('{"id": "broken"')


def test_retry_after_on_overload(srv: LoopbackServer) -> None:
    srv.fail(503, headers={"retry-after": "7"})
    with pytest.raises(Overloaded) as info:
        provider(srv).complete(call())
    assert info.value.retry_after_s == 7.0


def test_no_retry_after_header(srv: LoopbackServer) -> None:
    srv.fail(500)
    with pytest.raises(ServerError) as info:
        provider(srv).complete(call())
    assert info.value.retry_after_s is None


def test_one_request_per_failed_call(srv: LoopbackServer, api: str) -> None:
    srv.fail(500, times=5)
    p = provider(srv, api)
    for expected in (1, 2, 3):
        with pytest.raises(ServerError):
            p.complete(call())
        assert len(srv.requests) == expected


def test_api_key_never_leaks(srv: LoopbackServer, api: str) -> None:
    echo = f'{{"error": {{"message": "Incorrect API key provided: {KEY}", "type": "x"}}}}'
    srv.fail(401, body=echo)
    srv.fail(429, headers={"retry-after": "1"})
    srv.fail(500)
    srv.malformed()
    srv.no_usage()
    srv.delay(2.0)
    p = provider(srv, api)
    errors: list[ProviderError] = []
    for _ in range(6):
        with pytest.raises(ProviderError) as info:
            p.complete(call(timeout_s=0.3))
        errors.append(info.value)
    dead = OpenAIProvider(KEY, base_url=f"http://127.0.0.1:{unused_port()}/v1", api=api)
    with pytest.raises(ProviderError) as info:
        dead.complete(call())
    errors.append(info.value)
    kinds = [type(e) for e in errors]
    assert kinds == [
        BadRequest,
        RateLimited,
        ServerError,
        MalformedResponse,
        MalformedResponse,
        Timeout,
        ConnectionFailed,
    ]
    assert errors[0].body is not None and "[redacted]" in errors[0].body
    for err in errors:
        for shown in (str(err), repr(err), err.body or "", repr(err.args)):
            assert KEY not in shown


# ---- images -----------------------------------------------------------------------------------


def test_generate_images(srv: LoopbackServer) -> None:
    spec = dataclasses.replace(GPT_4O_MINI, name="gpt-image-1")
    out = provider(srv).generate_images(spec, "a lighthouse at dusk", 2, 10.0)
    assert out.images == (TINY_PNG, TINY_PNG)
    assert out.response_model == "gpt-image-1"
    assert (out.server_address, out.server_port) == ("127.0.0.1", srv.port)
    sent = srv.requests[-1]
    assert sent.path == "/v1/images/generations"
    assert sent.body is not None
    assert (sent.body["model"], sent.body["prompt"], sent.body["n"]) == (
        "gpt-image-1",
        "a lighthouse at dusk",
        2,
    )


def test_generate_images_errors(srv: LoopbackServer) -> None:
    spec = dataclasses.replace(GPT_4O_MINI, name="gpt-image-1")
    srv.fail(429, headers={"retry-after-ms": "150"})
    with pytest.raises(RateLimited) as info:
        provider(srv).generate_images(spec, "a lighthouse", 1, 10.0)
    assert info.value.retry_after_s == 0.15
    srv.malformed()
    with pytest.raises(MalformedResponse):
        provider(srv).generate_images(spec, "a lighthouse", 1, 10.0)
