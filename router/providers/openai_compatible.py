"""OpenAI-compatible hosts (Groq, Together, Ollama, vLLM, ...): a base URL and a model id.

They speak OpenAI's Chat Completions wire format, so this is the OpenAI adapter's chat code with
the host's name and URL; only the answer-cap parameter differs (hosts still use `max_tokens`).
"""

from __future__ import annotations

from router.providers.openai_api import OpenAIProvider


class OpenAICompatibleProvider(OpenAIProvider):
    """Calls a model on an OpenAI-compatible host through its Chat Completions endpoint."""

    max_tokens_param = "max_tokens"

    def __init__(self, name: str, api_key: str, base_url: str, *, timeout_s: float = 60.0) -> None:
        super().__init__(api_key, base_url=base_url, timeout_s=timeout_s, api="chat")
        self.name = name
