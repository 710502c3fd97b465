"""The exact-match response cache: keys, TTL, LRU order, counters, threads."""

from __future__ import annotations

import threading

import pytest

from router.cache import CacheKey, ResponseCache, make_key, normalise_prompt

PARAMS: dict[str, object] = {"max_tokens": 256, "category": "simple_quick", "strategy": "cheapest"}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(n: int) -> CacheKey:
    return make_key(f"prompt {n}", model_choice="m", params={})


def test_key_is_hex_sha256() -> None:
    k = make_key("hi", model_choice="gpt-x", params=PARAMS)
    assert len(k.digest) == 64
    assert int(k.digest, 16) >= 0
    assert k == make_key("hi", model_choice="gpt-x", params=dict(PARAMS))


def test_whitespace_and_unicode_normalisation_give_the_same_key() -> None:
    a = make_key("  What is  the\n\tcafé?  ", model_choice="m", params=PARAMS)
    b = make_key("What is the cafe\u0301?", model_choice="m", params=PARAMS)  # NFD é
    c = make_key("What is\u00a0the café?", model_choice="m", params=PARAMS)  # NBSP
    assert a == b == c
    assert normalise_prompt("  a \n\n b  ") == "a b"


def test_case_is_kept() -> None:
    assert make_key("Hello", model_choice="m", params={}) != make_key(
        "hello", model_choice="m", params={}
    )


def test_param_and_model_choice_change_the_key() -> None:
    base = make_key("hi", model_choice="m", params=PARAMS)
    assert base != make_key("hi", model_choice="other", params=PARAMS)
    assert base != make_key("hi", model_choice="m", params={**PARAMS, "max_tokens": 512})
    assert base != make_key("hi", model_choice="m", params={**PARAMS, "extra": None})
    assert base != make_key("hi", model_choice="m", params={})


def test_param_order_does_not_matter() -> None:
    reordered = dict(reversed(list(PARAMS.items())))
    assert list(reordered) != list(PARAMS)
    assert make_key("hi", model_choice="m", params=PARAMS) == make_key(
        "hi", model_choice="m", params=reordered
    )


def test_fields_cannot_bleed_into_each_other() -> None:
    assert make_key("b", model_choice="a", params={}) != make_key("", model_choice="a b", params={})


def test_hit_before_ttl_miss_after() -> None:
    clock = FakeClock()
    cache: ResponseCache[str] = ResponseCache(ttl_s=10.0, clock=clock)
    cache.put(key(1), "answer")
    clock.now += 9.999
    assert cache.get(key(1)) == "answer"
    clock.now += 0.001  # exactly ttl_s after the put: expired
    assert cache.get(key(1)) is None
    assert len(cache) == 0  # the expired entry was dropped
    assert (cache.hits, cache.misses) == (1, 1)


def test_put_refreshes_the_ttl_and_get_does_not() -> None:
    clock = FakeClock()
    cache: ResponseCache[str] = ResponseCache(ttl_s=10.0, clock=clock)
    cache.put(key(1), "old")
    clock.now += 8
    assert cache.get(key(1)) == "old"
    clock.now += 8
    assert cache.get(key(1)) is None
    cache.put(key(1), "new")
    clock.now += 8
    cache.put(key(1), "newer")
    clock.now += 8
    assert cache.get(key(1)) == "newer"


def test_lru_eviction_order() -> None:
    cache: ResponseCache[int] = ResponseCache(max_entries=3, clock=FakeClock())
    for n in (1, 2, 3):
        cache.put(key(n), n)
    assert cache.get(key(1)) == 1  # 1 is now the most recent: 2 is least recently used
    cache.put(key(4), 4)
    assert len(cache) == 3
    assert cache.get(key(2)) is None
    cache.put(key(3), 33)  # overwriting refreshes recency: 1 is now least recently used
    cache.put(key(5), 5)
    assert [cache.get(key(n)) for n in (1, 3, 4, 5)] == [None, 33, 4, 5]
    assert (cache.hits, cache.misses) == (4, 2)


def test_counters() -> None:
    cache: ResponseCache[str] = ResponseCache(clock=FakeClock())
    assert (cache.hits, cache.misses) == (0, 0)
    assert cache.get(key(1)) is None
    cache.put(key(1), "a")
    for _ in range(3):
        assert cache.get(key(1)) == "a"
    assert cache.get(key(2)) is None
    assert (cache.hits, cache.misses) == (3, 2)


@pytest.mark.parametrize(
    ("ttl_s", "max_entries"), [(0.0, 10), (-1.0, 10), (float("nan"), 10), (1.0, 0)]
)
def test_rejects_bad_settings(ttl_s: float, max_entries: int) -> None:
    with pytest.raises(ValueError):
        ResponseCache(ttl_s=ttl_s, max_entries=max_entries)


def test_concurrent_puts_and_gets() -> None:
    cache: ResponseCache[int] = ResponseCache(ttl_s=3600.0, max_entries=50)
    keys = [key(n) for n in range(200)]
    errors: list[BaseException] = []
    sizes: list[int] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(2000):
                k = keys[(i * 7 + worker * 13) % len(keys)]
                if i % 3:
                    cache.put(k, i)
                else:
                    got = cache.get(k)
                    assert got is None or isinstance(got, int)
                if i % 100 == 0:
                    sizes.append(len(cache))
        except BaseException as e:  # noqa: BLE001 - reported to the main thread below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert max(sizes) <= 50
    assert len(cache) <= 50
    assert cache.hits + cache.misses == 8 * len(range(0, 2000, 3))
