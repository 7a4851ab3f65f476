"""What the two-server lockout tests serve: the app built from the environment
(as wsgi.py), counting in Redis every password, factor code and answer it
actually checks, so a test can see how many guesses were judged across both
processes (``test:judged:password``, ``test:judged:factor``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import redis

from app import create_app
from app.services import credentials, factor_verification

_counts = redis.Redis.from_url(os.environ["REDIS_URL"])


def _counting(name: str, check: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        _counts.incr(f"test:judged:{name}")
        return check(*args, **kwargs)

    return counted


credentials.verify_password = _counting("password", credentials.verify_password)  # type: ignore[assignment]
factor_verification.prepare = _counting("factor", factor_verification.prepare)  # type: ignore[assignment]

app = create_app()
