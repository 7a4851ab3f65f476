"""Password rules and password hashing.

New passwords are hashed with argon2id. Users imported with a hash from
another system (Okta's ``credentials.password.hash``: BCRYPT, SHA-512,
SHA-256, SHA-1, MD5) keep that hash until their first successful sign-in,
when :func:`verify` reports that it needs rehashing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

IMPORTED_PREFIX = "imported$"
DIGESTS = {"SHA-512": "sha512", "SHA-256": "sha256", "SHA-1": "sha1", "MD5": "md5"}
ALGORITHMS = ("BCRYPT", *DIGESTS)
_LOGIN_DELIMITERS = re.compile(r"[.,\-_#@+]")


@dataclass(frozen=True)
class PasswordPolicy:
    """The complexity and history part of Okta's password policy."""

    min_length: int = 8
    min_lower_case: int = 1
    min_upper_case: int = 1
    min_number: int = 1
    min_symbol: int = 0
    exclude_username: bool = True
    exclude_attributes: tuple[str, ...] = ()
    history_count: int = 4
    #: ``dictionary.common.exclude``: refuse the 30,000 most common passwords.
    exclude_common: bool = False

    def requirements(self) -> list[str]:
        """Okta's wording of each requirement, for error messages and docs."""
        rules = [f"at least {self.min_length} characters"]
        if self.min_lower_case:
            rules.append("a lowercase letter")
        if self.min_upper_case:
            rules.append("an uppercase letter")
        if self.min_number:
            rules.append("a number")
        if self.min_symbol:
            rules.append("a symbol")
        if self.exclude_username:
            rules.append("no parts of your username")
        rules.extend(f"does not include your {name}" for name in self.exclude_attributes)
        if self.exclude_common:
            rules.append(COMMON_RULE)
        return rules

    def unmet(self, password: str, profile: dict[str, Any]) -> list[str]:
        """The requirements ``password`` does not meet, in Okta's words."""
        missing: list[str] = []
        if len(password) < self.min_length:
            missing.append(f"at least {self.min_length} characters")
        counts = (
            (self.min_lower_case, sum(c.islower() for c in password), "a lowercase letter"),
            (self.min_upper_case, sum(c.isupper() for c in password), "an uppercase letter"),
            (self.min_number, sum(c.isdigit() for c in password), "a number"),
            (self.min_symbol, sum(not c.isalnum() for c in password), "a symbol"),
        )
        missing.extend(rule for needed, have, rule in counts if have < needed)
        lowered = password.lower()
        if self.exclude_username and _contains_login_part(lowered, str(profile.get("login", ""))):
            missing.append("no parts of your username")
        for name in self.exclude_attributes:
            value = str(profile.get(name) or "").lower()
            if len(value) >= 3 and value in lowered:
                missing.append(f"does not include your {name}")
        if self.exclude_common and lowered in common_passwords():
            missing.append(COMMON_RULE)
        return missing


COMMON_RULE = "not a commonly used password"


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (the list zxcvbn ships, from leaked
    password sets), lower case; compared with the whole password, any case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def login_parts(login: str) -> list[str]:
    """The pieces of a login's local part (before ``@``), three characters or more:
    ``jeff.beck@example.com`` → ``jeff``, ``beck``. The domain is left out, so
    "com" or "example" never make a password or an answer unusable."""
    local = login.lower().split("@", 1)[0]
    return [p for p in _LOGIN_DELIMITERS.split(local) if len(p) >= 3]


def _contains_login_part(lowered_password: str, login: str) -> bool:
    return any(part in lowered_password for part in login_parts(login))


class Hasher:
    """argon2id hashing plus verification of imported hashes."""

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4):
        self._argon2 = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self._decoy = _decoy_hash(time_cost, memory_cost, parallelism)

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify_decoy(self, password: str) -> None:
        """Spend what verifying a real user's password costs, on a hash nothing
        matches: unknown and unusable users must take as long as real ones. The
        decoy is built, not hashed, so even the first such call costs one hash."""
        self.verify(self._decoy, password)

    def verify(self, stored: str, password: str) -> tuple[bool, bool]:
        """Return ``(matches, needs_rehash)`` for ``password`` against ``stored``."""
        if stored.startswith(IMPORTED_PREFIX):
            spec = json.loads(stored[len(IMPORTED_PREFIX) :])
            return verify_imported(spec, password), True
        try:
            self._argon2.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, False
        return True, self._argon2.check_needs_rehash(stored)


def _decoy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    """An argon2id hash string with this hasher's cost and random salt and digest:
    verifying against it costs a real verification and never matches."""
    salt, digest = (
        base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=") for size in (16, 32)
    )
    return f"$argon2id$v=19$m={memory_cost},t={time_cost},p={parallelism}${salt}${digest}"


def imported_hash(spec: dict[str, Any]) -> str:
    """Store an imported hash (already validated) as an opaque string."""
    return IMPORTED_PREFIX + json.dumps(spec, sort_keys=True)


def validate_import(spec: dict[str, Any]) -> list[str]:
    """Causes for an unusable ``credentials.password.hash`` object (empty when fine)."""
    causes: list[str] = []
    algorithm = spec.get("algorithm")
    if algorithm not in ALGORITHMS:
        return [f"hash.algorithm: must be one of {', '.join(ALGORITHMS)}"]
    if not isinstance(spec.get("value"), str) or not spec["value"]:
        causes.append("hash.value: is required")
    if algorithm == "BCRYPT":
        work = spec.get("workFactor")
        if not isinstance(work, int) or not 4 <= work <= 31:
            causes.append("hash.workFactor: must be an integer from 4 to 31")
        if not isinstance(spec.get("salt"), str) or len(spec["salt"]) != 22:
            causes.append("hash.salt: a BCRYPT salt is 22 characters")
        if isinstance(spec.get("value"), str) and len(spec["value"]) != 31:
            causes.append("hash.value: a BCRYPT hash value is 31 characters")
        return causes
    if spec.get("saltOrder", "PREFIX") not in ("PREFIX", "POSTFIX"):
        causes.append("hash.saltOrder: must be PREFIX or POSTFIX")
    for name in ("salt", "value"):
        raw = spec.get(name)
        if raw is None and name == "salt":
            continue
        try:
            base64.b64decode(str(raw), validate=True)
        except ValueError:
            causes.append(f"hash.{name}: must be base64-encoded")
    return causes


def verify_imported(spec: dict[str, Any], password: str) -> bool:
    """Check ``password`` against a hash imported in Okta's format."""
    algorithm = spec["algorithm"]
    if algorithm == "BCRYPT":
        full = f"$2a${spec['workFactor']:02d}${spec['salt']}{spec['value']}".encode()
        try:
            return bcrypt.checkpw(password.encode(), full)
        except ValueError:
            return False
    salt = base64.b64decode(spec.get("salt") or "")
    material = password.encode()
    material = material + salt if spec.get("saltOrder") == "POSTFIX" else salt + material
    digest = hashlib.new(DIGESTS[algorithm], material).digest()
    return hmac.compare_digest(digest, base64.b64decode(spec["value"]))


def normalise_answer(answer: str) -> str:
    """Security answers compare case- and space-insensitively."""
    return " ".join(answer.lower().split())
