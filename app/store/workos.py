"""Storage of the WorkOS-style MFA API: factors in SQL (TOTP secrets sealed),
challenges in Redis."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import redis
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.domain.secret_box import SecretBox, SecretBoxError
from app.domain.workos_mfa import Challenge, WorkosFactor
from app.store.db import flush_unique
from app.store.models import WorkosFactorRow
from app.store.users import _aware

log = logging.getLogger("portcullis.store")


class WorkosFactorRepository:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self.session = session
        self.box = box

    def add(self, factor: WorkosFactor) -> None:
        sealed = None
        if factor.secret is not None:
            sealed = self.box.seal(factor.secret.encode(), factor.id.encode())
        self.session.add(
            WorkosFactorRow(
                id=factor.id,
                type=factor.type,
                user_id=factor.user_id,
                totp_issuer=factor.totp_issuer,
                totp_user=factor.totp_user,
                phone_number=factor.phone_number,
                secret_sealed=sealed,
                created=factor.created,
                last_updated=factor.last_updated,
            )
        )
        flush_unique(self.session)

    def get(self, factor_id: str) -> WorkosFactor | None:
        row = self.session.get(WorkosFactorRow, factor_id)
        if row is None:
            return None
        secret = None
        if row.secret_sealed is not None:
            try:
                secret = self.box.open(row.secret_sealed, row.id.encode()).decode()
            except SecretBoxError:  # its key is gone: readable and deletable, never valid
                log.error("factor %s: secret cannot be opened with ENCRYPTION_KEY", row.id)
        return WorkosFactor(
            id=row.id,
            type=row.type,
            created=_aware(row.created),  # type: ignore[arg-type]
            last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
            user_id=row.user_id,
            totp_issuer=row.totp_issuer,
            totp_user=row.totp_user,
            phone_number=row.phone_number,
            secret=secret,
        )

    def delete(self, factor_id: str) -> None:
        self.session.execute(delete(WorkosFactorRow).where(WorkosFactorRow.id == factor_id))


def _dump(challenge: Challenge) -> str:
    return json.dumps(
        {
            "id": challenge.id,
            "factor_id": challenge.factor_id,
            "created": challenge.created.isoformat(),
            "updated": challenge.updated.isoformat(),
            "expires": challenge.expires.isoformat() if challenge.expires else None,
            "verified": challenge.verified,
        }
    )


def _load(raw: str) -> Challenge:
    data = json.loads(raw)
    return Challenge(
        id=data["id"],
        factor_id=data["factor_id"],
        created=datetime.fromisoformat(data["created"]),
        updated=datetime.fromisoformat(data["updated"]),
        expires=datetime.fromisoformat(data["expires"]) if data["expires"] else None,
        verified=bool(data["verified"]),
    )


#: KEYS[1]: a challenge; ARGV[1]: when it is verified (ISO 8601). 1 if this
#: call flipped ``verified``, 0 if it was verified already or is gone.
MARK_VERIFIED = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local challenge = cjson.decode(raw)
if challenge.verified then return 0 end
challenge.verified = true
challenge.updated = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(challenge), 'KEEPTTL')
return 1
"""


class WorkosChallenges:
    """Challenges, each kept ``retention_seconds`` after it was made (an expired
    or verified one still answers so until then), with its count of attempts."""

    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.redis = client
        self.retention_seconds = retention_seconds
        self._mark_verified = client.register_script(MARK_VERIFIED)

    @staticmethod
    def _key(challenge_id: str) -> str:
        return f"workos:challenge:{{{challenge_id}}}"

    def add(self, challenge: Challenge) -> None:
        self.redis.set(self._key(challenge.id), _dump(challenge), ex=self.retention_seconds)

    def get(self, challenge_id: str) -> Challenge | None:
        raw = self.redis.get(self._key(challenge_id))
        return _load(str(raw)) if raw is not None else None

    def mark_verified(self, challenge_id: str, now: datetime) -> bool:
        """Set ``verified`` once: True for the one caller that flipped it (one
        round trip: the check and the write are one script)."""
        return bool(self._mark_verified(keys=[self._key(challenge_id)], args=[now.isoformat()]))

    def count_attempt(self, challenge_id: str) -> int:
        """Count one verification attempt of a challenge; returns the total so far."""
        key = self._key(challenge_id) + ":attempts"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, self.retention_seconds)
        return int(pipe.execute()[0])
