"""Google Gemini (and Imagen) through the official `google-genai` SDK.

The SDK is imported lazily (so `import router` stays light) and makes one HTTP request per call
(no retry options; the router owns retry and fallback). Every SDK or transport exception is
converted here into a `router.errors` type that keeps the status, retry-after hint and body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from catalog import ModelSpec, Usage
from router.errors import MalformedResponse
from router.providers._http import (
    malformed,
    response_text,
    safe_body,
    server_of,
    status_error,
    transport_error,
)
from router.providers.base import Call, Completion, Delta, Images

if TYPE_CHECKING:
    from google import genai

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/"
# Gemini's finish reasons in OTel's vocabulary; anything else is passed on lower-cased.
FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}


class GeminiProvider:
    """Calls Gemini and Imagen models; raises `router.errors.ProviderError` subclasses only."""

    name = "google"

    def __init__(
        self, api_key: str, *, base_url: str | None = None, timeout_s: float = 60.0
    ) -> None:
        from google import genai

        self._key = api_key
        self._base_url = base_url
        self._timeout_s = timeout_s
        # Held for the provider's lifetime: a collected client closes its connection mid-call.
        self._client: genai.Client = genai.Client(
            api_key=api_key, http_options=_options(base_url, timeout_s)
        )
        self._images_client: genai.Client | None = None
        resolved = _resolved_base_url(self._client) or base_url or DEFAULT_BASE_URL
        self._address, self._port = server_of(resolved)

    def complete(self, call: Call) -> Completion:
        """One request, one answer, with usage in the OTel convention."""
        start = time.perf_counter_ns()
        try:
            response: Any = self._client.models.generate_content(
                model=call.model.name, contents=call.prompt, config=_config(call)
            )
        except Exception as exc:
            raise self._convert(exc, call.model.name, call.timeout_s, start) from exc
        latency = time.perf_counter_ns() - start
        return self._completion(call, [response], _text(response), latency)

    def stream(self, call: Call) -> Iterator[Delta | Completion]:
        """Yields Delta pieces as they arrive, then one Completion with the full usage."""
        start = time.perf_counter_ns()
        chunks: list[Any] = []
        pieces: list[str] = []
        responses: Any = None
        try:
            responses = self._client.models.generate_content_stream(
                model=call.model.name, contents=call.prompt, config=_config(call)
            )
            for chunk in responses:
                chunks.append(chunk)
                text = _text(chunk)
                if text:
                    pieces.append(text)
                    yield Delta(text)
        except Exception as exc:
            raise self._convert(exc, call.model.name, call.timeout_s, start) from exc
        finally:
            if responses is not None:  # releases the connection if the caller stops early
                responses.close()
        latency = time.perf_counter_ns() - start
        yield self._completion(call, chunks, "".join(pieces), latency)

    def generate_images(self, model: ModelSpec, prompt: str, n: int, timeout_s: float) -> Images:
        """`n` Imagen images for `prompt`, as raw bytes."""
        from google.genai import types

        client = self._imagen_client()
        config = types.GenerateImagesConfig(
            number_of_images=n, http_options=types.HttpOptions(timeout=_ms(timeout_s))
        )
        start = time.perf_counter_ns()
        try:
            response: Any = client.models.generate_images(
                model=model.name, prompt=prompt, config=config
            )
        except Exception as exc:
            raise self._convert(exc, model.name, timeout_s, start) from exc
        latency = time.perf_counter_ns() - start
        images = tuple(
            generated.image.image_bytes
            for generated in response.generated_images or ()
            if generated.image is not None and generated.image.image_bytes
        )
        if not images:
            raise MalformedResponse(
                "malformed", f"{model.name}: response has no images", latency_ns=latency
            )
        address, port = server_of(_resolved_base_url(client) or self._address)
        return Images(
            images=images,
            response_model=model.name,
            latency_ns=latency,
            server_address=address,
            server_port=port,
        )

    def _imagen_client(self) -> genai.Client:
        # google-genai 3.x serves generate_images (Imagen `:predict`) only in Vertex AI mode and
        # raises ValueError in Gemini Developer API mode, so images get a Vertex-mode client
        # (API-key "express" mode; the same base_url when one is given).
        if self._images_client is None:
            from google import genai

            self._images_client = genai.Client(
                vertexai=True,
                api_key=self._key,
                http_options=_options(self._base_url, self._timeout_s),
            )
        return self._images_client

    def _completion(self, call: Call, chunks: list[Any], text: str, latency: int) -> Completion:
        usage = _usage(_last(chunks, "usage_metadata"))
        if usage is None:
            # Refuse rather than let the router price an answer at $0.
            raise MalformedResponse(
                "malformed", f"{call.model.name}: response is missing usage", latency_ns=latency
            )
        return Completion(
            text=text,
            response_model=_last(chunks, "model_version") or call.model.name,
            response_id=_last(chunks, "response_id") or "",
            finish_reason=_finish(chunks),
            usage=usage,
            latency_ns=latency,
            server_address=self._address,
            server_port=self._port,
            simulated=False,
        )

    def _convert(self, exc: Exception, model: str, timeout_s: float, start: int) -> Exception:
        """The router error for an SDK/transport exception (or `exc` itself if unknown)."""
        from google.genai import errors
        from pydantic import ValidationError

        latency = time.perf_counter_ns() - start
        if isinstance(exc, errors.APIError):
            status = int(exc.code or 0)
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None) or {}
            body = safe_body(response_text(response, exc.details), self._key)
            return status_error(status, model, headers=headers, body=body, latency_ns=latency)
        if isinstance(exc, errors.UnknownApiResponseError | json.JSONDecodeError | ValidationError):
            return malformed(model, type(exc).__name__, latency)
        # google-genai lets raw httpx/httpx2 errors through
        converted = transport_error(
            exc,
            model,
            timeout_s=timeout_s,
            server=f"{self._address}:{self._port}",
            latency_ns=latency,
        )
        return exc if converted is None else converted


def _options(base_url: str | None, timeout_s: float) -> Any:
    from google.genai import types

    return types.HttpOptions(
        base_url=base_url,
        timeout=_ms(timeout_s),  # google-genai counts its timeout in milliseconds
        retry_options=types.HttpRetryOptions(attempts=1),  # explicit: one request per call
    )


def _config(call: Call) -> Any:
    from google.genai import types

    return types.GenerateContentConfig(
        max_output_tokens=call.max_tokens,
        http_options=types.HttpOptions(timeout=_ms(call.timeout_s)),
    )


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(response: Any) -> str:
    """The answer text of the first candidate, without thought parts."""
    candidates = getattr(response, "candidates", None) or ()
    if not candidates or candidates[0].content is None:
        return ""
    parts = candidates[0].content.parts or ()
    return "".join(part.text for part in parts if part.text and not part.thought)


def _last(chunks: list[Any], attr: str) -> Any:
    """The last non-null `attr` over the chunks (a stream repeats and refines fields)."""
    for chunk in reversed(chunks):
        value = getattr(chunk, attr, None)
        if value is not None:
            return value
    return None


def _finish(chunks: list[Any]) -> str:
    for chunk in reversed(chunks):
        for candidate in getattr(chunk, "candidates", None) or ():
            reason = candidate.finish_reason
            if reason is not None:
                raw = str(getattr(reason, "value", reason))
                return FINISH.get(raw, raw.lower())
    return ""


def _usage(meta: Any) -> Usage | None:
    """OTel usage: the prompt count already includes cached tokens; thoughts bill as output."""
    if meta is None or meta.prompt_token_count is None:
        return None
    thoughts = meta.thoughts_token_count or 0
    return Usage(
        input_tokens=meta.prompt_token_count,
        output_tokens=(meta.candidates_token_count or 0) + thoughts,
        cache_read_tokens=meta.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
    )


def _resolved_base_url(client: genai.Client) -> str | None:
    # The SDK resolves GOOGLE_GEMINI_BASE_URL and Vertex endpoints itself and exposes the
    # result only on its private api client; read it defensively for server.address.
    options = getattr(getattr(client, "_api_client", None), "_http_options", None)
    url = getattr(options, "base_url", None)
    return url if isinstance(url, str) else None
