"""The router: classify a prompt, choose the cheapest capable model, call it, trace it."""

from router.config import RouterConfig, load_config, parse_config
from router.errors import AllAttemptsFailed, ConfigError, ProviderError, RouterError
from router.policy import HardCapExceeded
from router.router import Result, Router

__all__ = [
    "AllAttemptsFailed",
    "ConfigError",
    "HardCapExceeded",
    "ProviderError",
    "Result",
    "Router",
    "RouterConfig",
    "RouterError",
    "load_config",
    "parse_config",
]
