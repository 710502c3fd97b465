"""The provider interface: one method, like httpx's transport. One module per provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from catalog import ModelSpec, Usage


@dataclass(frozen=True, slots=True)
class Call:
    """One request to one model."""

    model: ModelSpec
    prompt: str
    max_tokens: int
    attempt: int
    # Deterministic key of the request; the simulated provider seeds its draws from it.
    key: str
    # The classifier's view of the task: real providers ignore it, the simulator shapes by it.
    category: str = "general_development"
    complexity: str = "intermediate"
    # Seconds this call may take before the adapter gives up (Timeout); the router's deadline.
    timeout_s: float = 60.0
    # answer | verify | synthesize: why the router makes this call (the simulator uses it)
    purpose: str = "answer"
    # n-th try of this model within the request (0 first, 1 its first retry, ...). Unlike
    # `attempt`, which counts all of a request's calls and so races between ensemble members
    # running at once, this is deterministic: the simulator seeds its draws from it.
    retry: int = 0


@dataclass(frozen=True, slots=True)
class Completion:
    """What a provider answered, with usage in OTel GenAI terms and the call's wall time."""

    text: str
    response_model: str
    response_id: str
    finish_reason: str
    usage: Usage
    latency_ns: int
    server_address: str
    server_port: int
    simulated: bool
    images: tuple[bytes, ...] = ()  # generated images (image models); text is then a summary


class Provider(Protocol):
    """Calls a model. Raises router.errors.ProviderError subclasses, never vendor exceptions."""

    name: str

    def complete(self, call: Call) -> Completion: ...


# The adapter that serves a model, or None when that provider is not available (no key).
ProviderFor = Callable[[ModelSpec], Provider | None]


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of streamed answer text, as it arrives."""

    text: str


class StreamingProvider(Protocol):
    """A provider that can also stream: yields Delta pieces, then exactly one Completion last."""

    name: str

    def complete(self, call: Call) -> Completion: ...

    def stream(self, call: Call) -> Iterator[Delta | Completion]: ...


@dataclass(frozen=True, slots=True)
class Images:
    """Generated images (raw bytes, e.g. PNG) and how long the call took."""

    images: tuple[bytes, ...]
    response_model: str
    latency_ns: int
    server_address: str
    server_port: int


class ImageProvider(Protocol):
    """A provider that can generate images."""

    name: str

    def generate_images(
        self, model: ModelSpec, prompt: str, n: int, timeout_s: float
    ) -> Images: ...
