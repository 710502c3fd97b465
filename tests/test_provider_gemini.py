"""GeminiProvider: the real `google-genai` SDK against the loopback server's Gemini routes."""

from __future__ import annotations

import dataclasses

import pytest
from google.genai import errors as genai_errors

from catalog import Usage, load_catalog
from router.errors import Overloaded, RateLimited, Timeout
from router.providers.base import StreamingProvider
from router.providers.gemini_api import GeminiProvider
from tests.loopback import LoopbackServer
from tests.provider_cases import KeyLeakCase, ProviderCases, split

KEY = "AIza-test-key-0123456789"
MODEL = load_catalog().get("gemini-2.5-flash")
IMAGEN = dataclasses.replace(MODEL, name="imagen-4.0-generate-001")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# google-genai 3.x marks generate_images deprecated (Imagen -> generate_content image models).
IMAGEN_DEPRECATED = "ignore:The generate_images method is deprecated"


class TestGemini(ProviderCases, KeyLeakCase):
    KEY = KEY
    MODEL = MODEL
    RATE_LIMIT_MARK = "RESOURCE_EXHAUSTED"
    BAD_REQUEST_MARK = "INVALID_ARGUMENT"
    STATUS_CAUSE = genai_errors.APIError
    OTHER_FINISH = ("content_filter", "safety")  # Gemini: SAFETY
    RESPONSE_MODEL = "gemini-2.5-flash-002"
    KEY_HEADER = "x-goog-api-key"

    def make(self, base_url: str) -> StreamingProvider:
        return GeminiProvider(KEY, base_url=base_url)

    def key_was_sent(self, headers: dict[str, str]) -> bool:
        return headers["x-goog-api-key"] == KEY

    @pytest.fixture
    def gemini(self, srv: LoopbackServer) -> GeminiProvider:
        return GeminiProvider(KEY, base_url=srv.url)

    def test_plain_completion(self, srv: LoopbackServer, provider: StreamingProvider) -> None:
        srv.respond(text="Hi there", input_tokens=1000, output_tokens=500)
        done = provider.complete(self.call(max_tokens=321))
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

    def test_cached_and_thinking_tokens(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.respond(
            text="Thought about it",
            input_tokens=1000,
            cache_read_tokens=200,
            output_tokens=500,
            reasoning_tokens=50,
        )
        done = provider.complete(self.call())
        # promptTokenCount already includes the cached 200; thoughts (50) are billed as output
        assert done.usage == Usage(
            input_tokens=1000, output_tokens=500, cache_read_tokens=200, reasoning_tokens=50
        )

    def test_stream_yields_deltas_then_exact_usage(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.respond(
            text="Hello streaming world",
            input_tokens=1000,
            cache_read_tokens=200,
            output_tokens=500,
            reasoning_tokens=50,
        )
        deltas, done = split(list(provider.stream(self.call())))
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

    def test_stream_errors_are_converted(
        self, srv: LoopbackServer, provider: StreamingProvider
    ) -> None:
        srv.fail(503, headers={"retry-after": "3"})
        with pytest.raises(Overloaded) as info:
            list(provider.stream(self.call()))
        assert (info.value.status, info.value.retry_after_s) == (503, 3.0)
        assert len(srv.requests) == 1

    @pytest.mark.filterwarnings(IMAGEN_DEPRECATED)
    def test_generate_images(self, srv: LoopbackServer, gemini: GeminiProvider) -> None:
        result = gemini.generate_images(IMAGEN, "a cat", 2, 10.0)
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
        self, srv: LoopbackServer, gemini: GeminiProvider
    ) -> None:
        srv.fail(429, headers={"retry-after-ms": "150"})
        with pytest.raises(RateLimited) as info:
            gemini.generate_images(IMAGEN, "a cat", 2, 10.0)
        assert (info.value.status, info.value.retry_after_s) == (429, 0.15)
        assert len(srv.requests) == 1
        srv.delay(3.0)
        with pytest.raises(Timeout):
            gemini.generate_images(IMAGEN, "a cat", 1, 0.3)
