"""Provider adapters behind one small interface (base.Provider)."""

from router.providers.base import Call, Completion, Provider, ProviderFor

__all__ = ["Call", "Completion", "Provider", "ProviderFor"]
