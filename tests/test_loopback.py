"""The loopback server, driven through the real provider SDKs (anthropic, openai, google-genai)."""

from __future__ import annotations

import asyncio
import base64
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.loopback import LoopbackServer, unused_port

KEY = "test-key"
MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
CLAUDE = "claude-haiku-4-5"
GPT = "gpt-4o-mini"
GEMINI = "gemini-2.5-flash"
TEXT = "The quick brown fox jumps over the lazy dog."


def program(srv: LoopbackServer) -> None:
    """The OpenTelemetry-convention numbers most tests check each wire format against."""
    srv.respond(
        text=TEXT,
        input_tokens=1000,
        cache_read_tokens=200,
        cache_write_tokens=100,
        output_tokens=500,
        reasoning_tokens=50,
    )


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def claude(srv: LoopbackServer, **kw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=srv.url, api_key=KEY, max_retries=0, **kw)


def oai(srv: LoopbackServer, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=KEY, max_retries=0, **kw)


def gem(srv: LoopbackServer, **kw: Any) -> genai.Client:
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=srv.url, **kw))


# ---------------------------------------------------------------------------------------------
# Anthropic Messages
# ---------------------------------------------------------------------------------------------


def test_anthropic_message(srv: LoopbackServer) -> None:
    program(srv)
    msg = claude(srv).messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES)
    assert msg.content[0].type == "text" and msg.content[0].text == TEXT
    assert msg.model == CLAUDE and msg.role == "assistant" and msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 700  # excludes cache read and write
    assert msg.usage.cache_read_input_tokens == 200
    assert msg.usage.cache_creation_input_tokens == 100
    assert msg.usage.output_tokens == 500
    req = srv.requests[-1]
    assert (req.method, req.path, req.query) == ("POST", "/v1/messages", "")
    # anthropic 2.14 sends the API key as a bearer token (older releases used x-api-key).
    assert (
        req.headers.get("authorization") == f"Bearer {KEY}" or req.headers.get("x-api-key") == KEY
    )
    assert req.body is not None and req.body["model"] == CLAUDE and req.body["max_tokens"] == 50


def test_anthropic_stream_raw_events(srv: LoopbackServer) -> None:
    program(srv)
    events = list(
        claude(srv).messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES, stream=True)
    )
    types_seen = [e.type for e in events]
    assert types_seen[0] == "message_start" and types_seen[-1] == "message_stop"
    assert types_seen[-2] == "message_delta"
    deltas = [
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    ]
    assert len(deltas) >= 2 and "".join(deltas) == TEXT
    start, final = events[0], events[-2]
    assert start.type == "message_start" and final.type == "message_delta"
    assert start.message.usage.input_tokens == 700
    assert start.message.usage.cache_read_input_tokens == 200
    assert start.message.usage.cache_creation_input_tokens == 100
    assert start.message.usage.output_tokens == 1
    assert final.usage.output_tokens == 500 and final.delta.stop_reason == "end_turn"
    assert srv.requests[-1].body is not None and srv.requests[-1].body["stream"] is True


def test_anthropic_stream_helper_accumulates(srv: LoopbackServer) -> None:
    program(srv)
    with claude(srv).messages.stream(model=CLAUDE, max_tokens=50, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == TEXT
        msg = stream.get_final_message()
    assert msg.model == CLAUDE and msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (700, 500)
    assert msg.usage.cache_read_input_tokens == 200
    assert msg.usage.cache_creation_input_tokens == 100


# ---------------------------------------------------------------------------------------------
# OpenAI Chat Completions
# ---------------------------------------------------------------------------------------------


def test_openai_chat(srv: LoopbackServer) -> None:
    program(srv)
    resp = oai(srv).chat.completions.create(model=GPT, messages=MESSAGES)
    assert resp.choices[0].message.content == TEXT and resp.choices[0].finish_reason == "stop"
    assert resp.model == GPT and resp.object == "chat.completion"
    usage = resp.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 500, 1500)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 200
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 50
    req = srv.requests[-1]
    assert req.path == "/v1/chat/completions" and req.headers["authorization"] == f"Bearer {KEY}"


def test_openai_chat_stream_with_usage(srv: LoopbackServer) -> None:
    program(srv)
    chunks = list(
        oai(srv).chat.completions.create(
            model=GPT, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) >= 2 and "".join(pieces) == TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (1000, 500)
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 200
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == 50
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_chat_stream_without_include_usage_has_no_usage(srv: LoopbackServer) -> None:
    program(srv)
    chunks = list(oai(srv).chat.completions.create(model=GPT, messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)  # no usage-only chunk
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT


# ---------------------------------------------------------------------------------------------
# OpenAI Responses
# ---------------------------------------------------------------------------------------------


def test_openai_responses(srv: LoopbackServer) -> None:
    program(srv)
    resp = oai(srv).responses.create(model=GPT, input="hi")
    assert resp.output_text == TEXT and resp.status == "completed" and resp.model == GPT
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (1000, 500)
    assert resp.usage.input_tokens_details.cached_tokens == 200
    assert resp.usage.output_tokens_details.reasoning_tokens == 50
    assert resp.usage.total_tokens == 1500
    assert srv.requests[-1].path == "/v1/responses"


def test_openai_responses_stream_raw_events(srv: LoopbackServer) -> None:
    program(srv)
    events = list(oai(srv).responses.create(model=GPT, input="hi", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) >= 2 and "".join(deltas) == TEXT
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.output_text == TEXT
    assert done.response.usage is not None
    assert done.response.usage.input_tokens == 1000
    assert done.response.usage.input_tokens_details.cached_tokens == 200
    assert done.response.usage.output_tokens_details.reasoning_tokens == 50


def test_openai_responses_stream_helper(srv: LoopbackServer) -> None:
    program(srv)
    with oai(srv).responses.stream(model=GPT, input="hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == TEXT
    assert final.usage is not None and final.usage.output_tokens == 500


# ---------------------------------------------------------------------------------------------
# Gemini
# ---------------------------------------------------------------------------------------------


def test_gemini_generate_content(srv: LoopbackServer) -> None:
    program(srv)
    client = gem(srv)
    resp = client.models.generate_content(model=GEMINI, contents="hi")
    assert resp.text == TEXT and resp.model_version == GEMINI and resp.response_id
    assert resp.candidates and resp.candidates[0].finish_reason == types.FinishReason.STOP
    meta = resp.usage_metadata
    assert meta is not None
    assert meta.prompt_token_count == 1000
    assert meta.cached_content_token_count == 200
    assert meta.candidates_token_count == 450  # excludes thoughts
    assert meta.thoughts_token_count == 50
    assert meta.total_token_count == 1500
    req = srv.requests[-1]
    assert req.path.endswith(f"/models/{GEMINI}:generateContent")
    assert req.headers["x-goog-api-key"] == KEY


def test_gemini_api_versions(srv: LoopbackServer) -> None:
    for version in ("v1", "v1beta"):
        client = gem(srv, api_version=version)
        assert client.models.generate_content(model=GEMINI, contents="hi").text
        assert srv.requests[-1].path == f"/{version}/models/{GEMINI}:generateContent"


def test_gemini_stream(srv: LoopbackServer) -> None:
    program(srv)
    client = gem(srv)
    chunks = list(client.models.generate_content_stream(model=GEMINI, contents="hi"))
    assert len(chunks) >= 2 and "".join(c.text or "" for c in chunks) == TEXT
    metas = [c.usage_metadata for c in chunks if c.usage_metadata is not None]
    meta = metas[-1]
    assert meta.prompt_token_count == 1000 and meta.cached_content_token_count == 200
    assert meta.candidates_token_count == 450 and meta.thoughts_token_count == 50
    assert meta.total_token_count == 1500
    last = chunks[-1].candidates
    assert last and last[0].finish_reason == types.FinishReason.STOP
    req = srv.requests[-1]
    assert req.path.endswith(f"/models/{GEMINI}:streamGenerateContent") and req.query == "alt=sse"


def test_gemini_zero_counts_are_omitted_like_proto3_json(srv: LoopbackServer) -> None:
    srv.respond(input_tokens=30, output_tokens=9)
    client = gem(srv)
    meta = client.models.generate_content(model=GEMINI, contents="hi").usage_metadata
    assert meta is not None
    assert (meta.prompt_token_count, meta.candidates_token_count) == (30, 9)
    assert meta.cached_content_token_count is None and meta.thoughts_token_count is None


# ---------------------------------------------------------------------------------------------
# Programming: finish reasons, model echo, queue order, reset
# ---------------------------------------------------------------------------------------------


def test_finish_length_maps_per_provider(srv: LoopbackServer) -> None:
    srv.respond(finish="length")
    msg = claude(srv).messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
    assert msg.stop_reason == "max_tokens"
    chat = oai(srv).chat.completions.create(model=GPT, messages=MESSAGES)
    assert chat.choices[0].finish_reason == "length"
    resp = oai(srv).responses.create(model=GPT, input="hi")
    assert resp.status == "incomplete"
    assert resp.incomplete_details is not None
    assert resp.incomplete_details.reason == "max_output_tokens"
    events = list(oai(srv).responses.create(model=GPT, input="hi", stream=True))
    assert events[-1].type == "response.incomplete"
    client = gem(srv)
    candidates = client.models.generate_content(model=GEMINI, contents="hi").candidates
    assert candidates and candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_model_override_is_echoed(srv: LoopbackServer) -> None:
    srv.respond(model="gpt-4o-mini-2024-07-18")
    assert oai(srv).chat.completions.create(model=GPT, messages=MESSAGES).model == (
        "gpt-4o-mini-2024-07-18"
    )
    srv.respond()
    assert oai(srv).chat.completions.create(model="gpt-4.1", messages=MESSAGES).model == "gpt-4.1"


def test_queue_applies_in_order_then_falls_back(srv: LoopbackServer) -> None:
    srv.respond(text="standing")
    srv.fail(429)
    srv.respond(text="once", times=1)
    srv.no_usage()
    client = oai(srv)

    def ask() -> openai.types.chat.ChatCompletion:
        return client.chat.completions.create(model=GPT, messages=MESSAGES)

    with pytest.raises(openai.RateLimitError):
        ask()
    assert ask().choices[0].message.content == "once"
    bare = ask()
    assert bare.choices[0].message.content == "standing" and bare.usage is None
    assert ask().choices[0].message.content == "standing"
    assert len(srv.requests) == 4


def test_fail_times_and_reset(srv: LoopbackServer) -> None:
    srv.fail(500, times=2)
    client = claude(srv)
    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError):
            client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
    assert client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES).content
    srv.respond(text="changed")
    srv.fail(400, times=3)
    srv.reset()
    assert srv.requests == []
    msg = client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
    assert msg.content[0].type == "text" and msg.content[0].text == "Hello from loopback."


def test_respond_rejects_inconsistent_counts(srv: LoopbackServer) -> None:
    with pytest.raises(ValueError):
        srv.respond(input_tokens=10, cache_read_tokens=8, cache_write_tokens=5)
    with pytest.raises(ValueError):
        srv.respond(output_tokens=10, reasoning_tokens=11)


def test_unknown_route_is_404_and_does_not_consume_the_queue(srv: LoopbackServer) -> None:
    srv.fail(500)
    request = urllib.request.Request(srv.url + "/v2/nothing", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 404
    with pytest.raises(openai.InternalServerError):
        oai(srv).chat.completions.create(model=GPT, messages=MESSAGES)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def _call_anthropic(srv: LoopbackServer) -> anthropic.types.Message:
    return claude(srv).messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)


def _call_openai(srv: LoopbackServer) -> openai.types.chat.ChatCompletion:
    return oai(srv).chat.completions.create(model=GPT, messages=MESSAGES)


def _call_responses(srv: LoopbackServer) -> openai.types.responses.Response:
    return oai(srv).responses.create(model=GPT, input="hi")


def _call_gemini(srv: LoopbackServer) -> types.GenerateContentResponse:
    client = gem(srv)
    return client.models.generate_content(model=GEMINI, contents="hi")


ERROR_CASES: list[tuple[str, Callable[[LoopbackServer], object], int, type[Exception]]] = [
    ("anthropic", _call_anthropic, 400, anthropic.BadRequestError),
    ("anthropic", _call_anthropic, 429, anthropic.RateLimitError),
    ("anthropic", _call_anthropic, 500, anthropic.InternalServerError),
    ("anthropic", _call_anthropic, 529, anthropic.OverloadedError),
    ("openai", _call_openai, 400, openai.BadRequestError),
    ("openai", _call_openai, 429, openai.RateLimitError),
    ("openai", _call_openai, 500, openai.InternalServerError),
    ("openai", _call_openai, 529, openai.InternalServerError),
    ("responses", _call_responses, 429, openai.RateLimitError),
    ("gemini", _call_gemini, 400, genai_errors.ClientError),
    ("gemini", _call_gemini, 429, genai_errors.ClientError),
    ("gemini", _call_gemini, 500, genai_errors.ServerError),
    ("gemini", _call_gemini, 529, genai_errors.ServerError),
]


@pytest.mark.parametrize(
    ("provider", "call", "status", "exc"),
    ERROR_CASES,
    ids=[f"{p}-{s}" for p, _, s, _ in ERROR_CASES],
)
def test_errors_map_to_sdk_exceptions(
    srv: LoopbackServer,
    provider: str,
    call: Callable[[LoopbackServer], object],
    status: int,
    exc: type[Exception],
) -> None:
    srv.fail(status, headers={"retry-after": "2"})
    with pytest.raises(exc) as info:
        call(srv)
    err: Any = info.value
    if provider == "gemini":
        assert err.code == status
        assert (
            err.status
            == {
                400: "INVALID_ARGUMENT",
                429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL",
                529: "INTERNAL",
            }[status]
        )
    else:
        assert err.status_code == status
    assert err.response.headers["retry-after"] == "2"


def test_anthropic_error_body_shape(srv: LoopbackServer) -> None:
    srv.fail(529)
    with pytest.raises(anthropic.OverloadedError) as info:
        _call_anthropic(srv)
    body: Any = info.value.body
    assert body["type"] == "error" and body["error"]["type"] == "overloaded_error"


def test_openai_error_body_and_retry_after_ms(srv: LoopbackServer) -> None:
    srv.fail(429, headers={"retry-after-ms": "150"})
    with pytest.raises(openai.RateLimitError) as info:
        _call_openai(srv)
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after-ms"] == "150"


def test_fail_with_custom_body(srv: LoopbackServer) -> None:
    srv.fail(400, body='{"error": {"message": "context too long", "type": "x", "code": "c"}}')
    with pytest.raises(openai.BadRequestError) as info:
        _call_openai(srv)
    assert info.value.message.endswith("context too long") and info.value.code == "c"


@pytest.mark.parametrize("call", [_call_anthropic, _call_openai, _call_responses, _call_gemini])
def test_malformed_body_makes_the_sdk_raise(
    srv: LoopbackServer, call: Callable[[LoopbackServer], object]
) -> None:
    srv.malformed()
    with pytest.raises(ValueError):  # json.JSONDecodeError: no SDK wraps it
        call(srv)
    assert call(srv)  # only the next request was malformed


def test_malformed_streams_make_the_sdks_raise(srv: LoopbackServer) -> None:
    srv.malformed(times=3)
    with pytest.raises(ValueError):
        list(
            claude(srv).messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES, stream=True)
        )
    with pytest.raises(ValueError):
        list(oai(srv).chat.completions.create(model=GPT, messages=MESSAGES, stream=True))
    client = gem(srv)
    with pytest.raises(genai_errors.UnknownApiResponseError):
        list(client.models.generate_content_stream(model=GEMINI, contents="hi"))


def test_timeouts_raise_sdk_timeout_errors(srv: LoopbackServer) -> None:
    srv.delay(2, times=3)
    with pytest.raises(anthropic.APITimeoutError):
        claude(srv, timeout=0.5).messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
    with pytest.raises(openai.APITimeoutError):
        oai(srv, timeout=0.5).chat.completions.create(model=GPT, messages=MESSAGES)
    client = gem(srv, timeout=500)  # milliseconds
    with pytest.raises(httpx2.TimeoutException):
        client.models.generate_content(model=GEMINI, contents="hi")


def test_delay_then_answers(srv: LoopbackServer) -> None:
    srv.delay(0.2)
    assert _call_openai(srv)
    assert len(srv.requests) == 1


def test_connection_refused_raises_sdk_connection_errors() -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(anthropic.APIConnectionError):
        anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0).messages.create(
            model=CLAUDE, max_tokens=5, messages=MESSAGES
        )
    with pytest.raises(openai.APIConnectionError):
        openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0).chat.completions.create(
            model=GPT, messages=MESSAGES
        )
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=url))
    with pytest.raises(httpx2.ConnectError):
        client.models.generate_content(model=GEMINI, contents="hi")


def test_no_usage(srv: LoopbackServer) -> None:
    srv.no_usage(times=7)
    assert _call_anthropic(srv).usage is None
    assert _call_openai(srv).usage is None
    assert _call_responses(srv).usage is None
    assert _call_gemini(srv).usage_metadata is None
    chunks = list(
        oai(srv).chat.completions.create(
            model=GPT, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(c.usage is None for c in chunks)
    events = list(
        claude(srv).messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES, stream=True)
    )
    assert events[0].type == "message_start" and events[0].message.usage is None
    client = gem(srv)
    stream = list(client.models.generate_content_stream(model=GEMINI, contents="hi"))
    assert all(c.usage_metadata is None for c in stream)
    assert _call_openai(srv).usage is not None


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_openai_images(srv: LoopbackServer) -> None:
    srv.respond(input_tokens=40, output_tokens=1056)
    resp = oai(srv).images.generate(model="gpt-image-1", prompt="a red fox", n=2)
    assert resp.data is not None and len(resp.data) == 2
    assert all(base64.b64decode(img.b64_json or "").startswith(PNG_SIGNATURE) for img in resp.data)
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (40, 1056)
    req = srv.requests[-1]
    assert req.path == "/v1/images/generations" and req.body is not None and req.body["n"] == 2


def test_imagen_predict_via_vertex_express_mode(srv: LoopbackServer) -> None:
    # google-genai only allows generate_images in Vertex AI mode; an API key + base_url makes
    # it "express mode", which posts to /v1beta1/publishers/google/models/{model}:predict.
    client = genai.Client(
        vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=srv.url)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generate_images is deprecated in google-genai 3.x
        resp = client.models.generate_images(
            model="imagen-4.0-generate-001",
            prompt="a red fox",
            config=types.GenerateImagesConfig(number_of_images=2),
        )
    images = resp.generated_images or []
    assert len(images) == 2
    for generated in images:
        assert generated.image is not None and generated.image.mime_type == "image/png"
        assert (generated.image.image_bytes or b"").startswith(PNG_SIGNATURE)
    req = srv.requests[-1]
    assert req.path.endswith("/models/imagen-4.0-generate-001:predict")
    assert req.headers["x-goog-api-key"] == KEY
    assert req.body is not None and req.body["parameters"]["sampleCount"] == 2


# ---------------------------------------------------------------------------------------------
# Concurrency and lifecycle
# ---------------------------------------------------------------------------------------------


def test_concurrent_async_clients(srv: LoopbackServer) -> None:
    srv.respond(text="together")

    async def run() -> list[str]:
        a = anthropic.AsyncAnthropic(base_url=srv.url, api_key=KEY, max_retries=0)
        o = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key=KEY, max_retries=0)
        calls = [a.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES) for _ in range(4)]
        chats = [o.chat.completions.create(model=GPT, messages=MESSAGES) for _ in range(4)]
        msgs = await asyncio.gather(*calls)
        completions = await asyncio.gather(*chats)
        texts = [m.content[0].text for m in msgs if m.content[0].type == "text"]
        return texts + [c.choices[0].message.content or "" for c in completions]

    assert asyncio.run(run()) == ["together"] * 8
    assert len(srv.requests) == 8


def test_close_releases_the_port_and_is_idempotent() -> None:
    server = LoopbackServer()
    url = server.url
    assert url.startswith("http://127.0.0.1:") and not url.endswith("/")
    server.close()
    server.close()
    with pytest.raises(anthropic.APIConnectionError):
        anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0).messages.create(
            model=CLAUDE, max_tokens=5, messages=MESSAGES
        )
