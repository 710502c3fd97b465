"""The provider interface: one method, like httpx's transport. One module per provider."""

from __future__ import annotations

from collections.abc import Callable
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


class Provider(Protocol):
    """Calls a model. Raises router.errors.ProviderError subclasses, never vendor exceptions."""

    name: str

    def complete(self, call: Call) -> Completion: ...


# Chooses the provider adapter that serves a model.
ProviderFor = Callable[[ModelSpec], Provider]
