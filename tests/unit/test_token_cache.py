"""The in-process cache of SSWS tokens and WorkOS keys found active."""

from __future__ import annotations

from datetime import UTC, datetime

from app.store.api_tokens import ApiToken, TokenCache

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _token(token_id: str) -> ApiToken:
    return ApiToken(token_id, "t", "abcd", NOW, None, None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lasts_its_seconds_and_no_longer() -> None:
    clock = Clock()
    cache = TokenCache(2.0, clock=clock)
    cache.put("h1", _token("t1"))
    clock.now += 1.99
    assert cache.get("h1") == _token("t1")
    clock.now += 0.01
    assert cache.get("h1") is None
    assert len(cache) == 0


def test_forget_drops_every_entry_of_that_token_at_once() -> None:
    cache = TokenCache(60.0, clock=Clock())
    cache.put("h1", _token("t1"))
    cache.put("h2", _token("t2"))
    cache.forget("t1")
    assert cache.get("h1") is None and cache.get("h2") == _token("t2")


def test_zero_seconds_keeps_nothing() -> None:
    cache = TokenCache(0.0, clock=Clock())
    cache.put("h1", _token("t1"))
    assert cache.get("h1") is None and len(cache) == 0


def test_a_full_cache_starts_over_instead_of_growing() -> None:
    cache = TokenCache(60.0, size=3, clock=Clock())
    for i in range(3):
        cache.put(f"h{i}", _token(f"t{i}"))
    cache.put("h3", _token("t3"))
    assert len(cache) == 1 and cache.get("h3") == _token("t3")
