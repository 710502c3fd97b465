"""Exact-match response cache: the same request within the TTL is answered for $0.

A request is keyed by a SHA-256 over its normalised prompt, the model choice and the parameters
that change the answer, so the cache stores no prompt text and keys are fixed-size. Entries live
for a fixed time-to-live and the least recently used entry is evicted beyond a size bound. Every
operation is O(1) and guarded by one lock, because the router serves requests from many threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["CacheKey", "ResponseCache", "make_key", "normalise_prompt"]

V = TypeVar("V")

# Part of every digest: changing how keys are built changes the version, so a persisted or
# shared cache can never confuse keys built the old way with keys built the new way.
_KEY_VERSION = "mmoa-cache-v1"


@dataclass(frozen=True, slots=True)
class CacheKey:
    """The identity of a cacheable request: a hex SHA-256 digest."""

    digest: str


def normalise_prompt(prompt: str) -> str:
    """The prompt as the cache sees it: NFC, trimmed, whitespace runs collapsed to one space.

    Case is kept (it can change the answer). Unicode whitespace counts as whitespace, so a
    non-breaking space pasted from a web page matches a plain one.
    """
    return " ".join(unicodedata.normalize("NFC", prompt).split())


def make_key(prompt: str, *, model_choice: str, params: Mapping[str, object]) -> CacheKey:
    """The cache key of a request.

    `params` are the request parameters that change the answer (e.g. ``max_tokens``,
    ``category``, ``strategy``); their order does not matter. Values are compared through
    ``repr``, so use plain values (numbers, strings, tuples) whose repr is stable.
    """
    items = repr(sorted(params.items(), key=lambda kv: kv[0]))
    # JSON framing keeps the fields apart whatever they contain (a prompt that embeds the
    # separator cannot collide with another split), and ensure_ascii escapes lone surrogates
    # that would make a plain UTF-8 encode raise.
    payload = json.dumps([_KEY_VERSION, model_choice, items, normalise_prompt(prompt)])
    return CacheKey(hashlib.sha256(payload.encode("ascii")).hexdigest())


class ResponseCache(Generic[V]):
    """A thread-safe LRU map from :class:`CacheKey` to values that expire after `ttl_s` seconds.

    `clock` returns seconds (monotonic by default; tests pass a fake one). An entry is fresh for
    ``ttl_s`` seconds after its last :meth:`put`; a :meth:`get` refreshes its recency, not its
    age. ``hits`` and ``misses`` count :meth:`get` results. Do not store ``None``: :meth:`get`
    uses it to mean "not cached".
    """

    hits: int
    misses: int

    def __init__(
        self,
        ttl_s: float = 3600.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty cache; `ttl_s` must be positive and `max_entries` at least 1."""
        if not ttl_s > 0:  # also rejects NaN
            raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (expiry time, value); order is recency, least recently used first
        self._entries: OrderedDict[CacheKey, tuple[float, V]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey) -> V | None:
        """The cached value, or None if absent or expired (an expired entry is dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() >= entry[0]:
                del self._entries[key]
                entry = None
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: CacheKey, value: V) -> None:
        """Store `value` fresh for `ttl_s`; evict least recently used entries beyond the bound."""
        with self._lock:
            self._entries[key] = (self._clock() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        """Entries held, including expired ones no :meth:`get` has dropped yet."""
        with self._lock:
            return len(self._entries)
