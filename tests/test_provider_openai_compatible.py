"""The OpenAI-compatible adapter (Groq, Together, Ollama, vLLM) against the loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from catalog import Usage, load_catalog
from router.errors import BadRequest, ConnectionFailed, MalformedResponse, Overloaded, RateLimited
from router.providers.base import Call, Completion, Delta
from router.providers.openai_api import OpenAIProvider
from router.providers.openai_compatible import OpenAICompatibleProvider
from tests.loopback import LoopbackServer, unused_port

KEY = "gsk-test-NEVER-LEAK-51d0e2"
LLAMA = load_catalog().get("llama-3.1-8b-instant")


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def groq(srv: LoopbackServer) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider("groq", KEY, srv.url + "/v1")


def call(max_tokens: int = 256) -> Call:
    return Call(
        model=LLAMA, prompt="Summarise this log.", max_tokens=max_tokens, attempt=0, key="k"
    )


def test_is_an_openai_provider_named_for_its_host(srv: LoopbackServer) -> None:
    p = groq(srv)
    assert isinstance(p, OpenAIProvider)
    assert p.name == "groq"
    assert p.api == "chat"
    assert OpenAIProvider.name == "openai"  # naming one host does not rename the class


def test_request_goes_to_the_host_with_the_model_id(srv: LoopbackServer) -> None:
    groq(srv).complete(call(max_tokens=123))
    sent = srv.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body is not None
    assert sent.body["model"] == "llama-3.1-8b-instant"
    assert sent.body["messages"] == [{"role": "user", "content": "Summarise this log."}]
    assert sent.body["max_tokens"] == 123
    assert "max_completion_tokens" not in sent.body


def test_usage_exact(srv: LoopbackServer) -> None:
    srv.respond(text="Three errors, one cause.", input_tokens=640, output_tokens=88)
    done = groq(srv).complete(call())
    assert done.text == "Three errors, one cause."
    assert done.usage == Usage(input_tokens=640, output_tokens=88)
    assert done.finish_reason == "stop"
    assert done.response_model == "llama-3.1-8b-instant"
    assert (done.server_address, done.server_port) == ("127.0.0.1", srv.port)
    assert done.simulated is False


def test_cached_tokens_exact(srv: LoopbackServer) -> None:
    srv.respond(text="ok", input_tokens=2048, cache_read_tokens=1024, output_tokens=10)
    done = groq(srv).complete(call())
    assert done.usage == Usage(input_tokens=2048, output_tokens=10, cache_read_tokens=1024)


def test_finish_length(srv: LoopbackServer) -> None:
    srv.respond(text="cut", input_tokens=5, output_tokens=256, finish="length")
    assert groq(srv).complete(call()).finish_reason == "length"


def test_stream(srv: LoopbackServer) -> None:
    srv.respond(text="Three errors, one cause.", input_tokens=640, output_tokens=88)
    items = list(groq(srv).stream(call()))
    deltas = [item.text for item in items if isinstance(item, Delta)]
    done = items[-1]
    assert isinstance(done, Completion)
    assert len(deltas) >= 2
    assert "".join(deltas) == "Three errors, one cause." == done.text
    assert done.usage == Usage(input_tokens=640, output_tokens=88)
    body = srv.requests[-1].body
    assert body is not None
    assert body["stream_options"]["include_usage"] is True
    assert body["max_tokens"] == 256


def test_errors_name_the_host(srv: LoopbackServer) -> None:
    srv.fail(429, headers={"retry-after": "2"})
    with pytest.raises(RateLimited) as info:
        groq(srv).complete(call())
    assert info.value.retry_after_s == 2.0
    assert str(info.value).startswith("groq llama-3.1-8b-instant:")
    assert len(srv.requests) == 1


@pytest.mark.parametrize(("status", "kind"), [(503, Overloaded), (404, BadRequest)])
def test_status_mapping(
    srv: LoopbackServer, status: int, kind: type[Overloaded | BadRequest]
) -> None:
    srv.fail(status)
    with pytest.raises(kind) as info:
        groq(srv).complete(call())
    assert info.value.status == status


def test_no_usage_is_malformed(srv: LoopbackServer) -> None:
    srv.no_usage()
    with pytest.raises(MalformedResponse):
        groq(srv).complete(call())


def test_connection_refused_names_no_key() -> None:
    p = OpenAICompatibleProvider("ollama", KEY, f"http://127.0.0.1:{unused_port()}/v1")
    with pytest.raises(ConnectionFailed) as info:
        p.complete(call())
    assert str(info.value).startswith("ollama llama-3.1-8b-instant: cannot reach 127.0.0.1:")
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_server_from_https_base_url() -> None:
    p = OpenAICompatibleProvider("groq", KEY, "https://api.groq.com/openai/v1")
    assert (p.server_address, p.server_port) == ("api.groq.com", 443)
    p = OpenAICompatibleProvider("vllm", KEY, "http://10.0.0.5:8000/v1")
    assert (p.server_address, p.server_port) == ("10.0.0.5", 8000)
