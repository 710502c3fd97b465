"""AnthropicProvider: the real `anthropic` SDK against the loopback server's Messages API."""

from __future__ import annotations

import anthropic
import pytest

from catalog import Usage, load_catalog
from router.errors import Overloaded
from router.providers.anthropic_api import AnthropicProvider
from router.providers.base import StreamingProvider
from tests.loopback import LoopbackServer
from tests.provider_cases import KeyLeakCase, ProviderCases, split

KEY = "sk-ant-test-key-0123456789"


class TestAnthropic(ProviderCases, KeyLeakCase):
    KEY = KEY
    MODEL = load_catalog().get("claude-haiku-4-5")
    RATE_LIMIT_MARK = "rate_limit_error"
    BAD_REQUEST_MARK = "invalid_request_error"
    STATUS_CAUSE = anthropic.APIStatusError
    OTHER_FINISH = ("REFUSAL", "refusal")
    RESPONSE_MODEL = "claude-haiku-4-5-20251001"
    KEY_HEADER = "x-api-key"

    def make(self, base_url: str) -> StreamingProvider:
        return AnthropicProvider(KEY, base_url=base_url)

    def key_was_sent(self, headers: dict[str, str]) -> bool:
        # anthropic 2.x sends the key as `authorization: Bearer ...` (older SDKs: `x-api-key`)
        return any(KEY in value for value in headers.values())

    def test_plain_completion(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.respond(text="Hi there", input_tokens=1000, output_tokens=500)
        done = provider.complete(self.call(max_tokens=321))
        assert done.text == "Hi there"
        assert done.usage == Usage(input_tokens=1000, output_tokens=500)
        assert done.finish_reason == "stop"
        assert done.response_model == "claude-haiku-4-5"
        assert done.response_id.startswith("msg_")
        assert done.server_address == "127.0.0.1"
        assert done.server_port == srv.port
        assert done.simulated is False
        assert done.latency_ns > 0
        sent = srv.requests[-1]
        assert sent.path == "/v1/messages"
        assert sent.body == {
            "model": "claude-haiku-4-5",
            "max_tokens": 321,
            "messages": [{"role": "user", "content": "Say hi."}],
        }

    def test_cache_read_and_write_are_added_back_to_input(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.respond(
            text="Cached",
            input_tokens=1000,
            cache_read_tokens=200,
            cache_write_tokens=100,
            output_tokens=500,
        )
        done = provider.complete(self.call())
        assert done.usage == Usage(
            input_tokens=1000, output_tokens=500, cache_read_tokens=200, cache_write_tokens=100
        )

    def test_stream_yields_deltas_then_exact_usage(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.respond(
            text="Hello streaming world",
            input_tokens=1000,
            cache_read_tokens=200,
            cache_write_tokens=100,
            output_tokens=500,
        )
        deltas, done = split(list(provider.stream(self.call())))
        assert len(deltas) >= 2
        assert "".join(d.text for d in deltas) == "Hello streaming world"
        assert done.text == "Hello streaming world"
        assert done.usage == Usage(
            input_tokens=1000, output_tokens=500, cache_read_tokens=200, cache_write_tokens=100
        )
        assert done.finish_reason == "stop"
        assert done.response_model == "claude-haiku-4-5"
        assert done.response_id.startswith("msg_")
        assert srv.requests[-1].body is not None and srv.requests[-1].body["stream"] is True
        assert len(srv.requests) == 1

    def test_stream_errors_are_converted(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.fail(529)
        with pytest.raises(Overloaded) as info:
            list(provider.stream(self.call()))
        assert info.value.status == 529
        assert len(srv.requests) == 1

    def test_base_url_falls_back_to_environment(
        self, srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.url)
        srv.respond(text="From env")
        done = AnthropicProvider(KEY).complete(self.call())
        assert done.text == "From env"
        assert (done.server_address, done.server_port) == ("127.0.0.1", srv.port)


def test_prompt_caching_is_opt_in_and_marks_long_prompts() -> None:
    from catalog import load_catalog
    from router.providers.anthropic_api import AnthropicProvider
    from router.providers.base import Call
    from tests.loopback import LoopbackServer

    spec = load_catalog().get("claude-haiku-4-5")
    long_prompt = "Summarise this contract clause. " * 200  # ~1,600 tokens
    with LoopbackServer() as srv:
        srv.respond(text="ok", input_tokens=1_700, cache_write_tokens=1_600, output_tokens=5)
        cached = AnthropicProvider("k", base_url=srv.url, prompt_cache=True)
        done = cached.complete(Call(spec, long_prompt, 100, 0, "k"))
        content = (srv.requests[-1].body or {})["messages"][0]["content"]
        assert content == [
            {"type": "text", "text": long_prompt, "cache_control": {"type": "ephemeral"}}
        ]
        assert done.usage.cache_write_tokens == 1_600
        cached.complete(Call(spec, "short question", 100, 0, "k"))
        assert (srv.requests[-1].body or {})["messages"][0]["content"] == "short question"
        AnthropicProvider("k", base_url=srv.url).complete(Call(spec, long_prompt, 100, 0, "k"))
        assert (srv.requests[-1].body or {})["messages"][0]["content"] == long_prompt
