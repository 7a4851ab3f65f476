"""Persistence: SQL repositories and Redis stores behind plain Python objects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session

from app.domain.secret_box import SecretBox
from app.store.api_tokens import ApiKeyRepository, ApiTokenRepository, TokenCache
from app.store.db import Database
from app.store.factor_codes import FactorCodes
from app.store.factors import FactorRepository
from app.store.groups import GroupRepository
from app.store.migrations import SchemaCheck
from app.store.one_time_tokens import OneTimeTokens
from app.store.policies import PolicyCache, PolicyRepository
from app.store.sessions import Sessions
from app.store.transactions import (
    FailedAttempts,
    RememberedDevices,
    SessionTokens,
    Transactions,
)
from app.store.trusted_origins import TrustedOriginRepository
from app.store.users import UserRepository
from app.store.workos import WorkosChallenges, WorkosFactorRepository


@dataclass
class UnitOfWork:
    """The repositories of one SQL transaction."""

    session: Session
    users: UserRepository
    groups: GroupRepository
    api_tokens: ApiTokenRepository
    factors: FactorRepository
    api_keys: ApiKeyRepository
    workos_factors: WorkosFactorRepository
    trusted_origins: TrustedOriginRepository
    policies: PolicyRepository


class Stores:
    """Everything a service needs to reach state: SQL and Redis."""

    def __init__(
        self,
        database: Database,
        redis_client: redis.Redis,
        box: SecretBox,
        *,
        challenge_retention: int = 24 * 3600,
        token_cache_seconds: float = 0.0,
    ) -> None:
        self.database = database
        self.schema = SchemaCheck(database)
        self.redis = redis_client
        self.box = box
        self.one_time_tokens = OneTimeTokens(redis_client)
        self.factor_codes = FactorCodes(redis_client)
        self.workos_challenges = WorkosChallenges(redis_client, challenge_retention)
        self.transactions = Transactions(redis_client)
        self.session_tokens = SessionTokens(redis_client)
        self.devices = RememberedDevices(redis_client)
        self.failed_attempts = FailedAttempts(redis_client)
        self.sessions = Sessions(redis_client)
        # In-process: SSWS tokens and WorkOS keys found active (API_TOKEN_CACHE_SECONDS).
        self.api_token_cache = TokenCache(token_cache_seconds)
        self.api_key_cache = TokenCache(token_cache_seconds)
        # In-process: the active policies, while policy_version stays the same.
        self.policy_cache = PolicyCache()

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """The repositories of one SQL transaction: committed whole, or rolled back."""
        with self.database.session() as session:
            yield self._repositories(session)

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """Repositories for reads only, outside a transaction on PostgreSQL
        (two round trips fewer: no BEGIN, no COMMIT); each query sees the
        database as it is when it runs (Database.reading)."""
        with self.database.reading() as session:
            yield self._repositories(session)

    def _repositories(self, session: Session) -> UnitOfWork:
        return UnitOfWork(
            session=session,
            users=UserRepository(session),
            groups=GroupRepository(session),
            api_tokens=ApiTokenRepository(session),
            factors=FactorRepository(session, self.box),
            api_keys=ApiKeyRepository(session),
            workos_factors=WorkosFactorRepository(session, self.box),
            trusted_origins=TrustedOriginRepository(session),
            policies=PolicyRepository(session),
        )
