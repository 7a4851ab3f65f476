from __future__ import annotations

import base64
import hashlib
from typing import Any

import bcrypt
import pytest

from app.domain.passwords import (
    Hasher,
    PasswordPolicy,
    imported_hash,
    normalise_answer,
    validate_import,
    verify_imported,
)

PROFILE = {"login": "jeff.beck@example.com", "firstName": "Jeff"}


@pytest.mark.parametrize(
    ("password", "unmet"),
    [
        ("Sup3r-Secret", []),
        ("short1A", ["at least 8 characters"]),
        ("alllowercase1", ["an uppercase letter"]),
        ("ALLUPPERCASE1", ["a lowercase letter"]),
        ("NoDigitsHere", ["a number"]),
        ("Jeff-Beck-123", ["no parts of your username"]),
        ("xBECKx-Rocks1", ["no parts of your username"]),
        ("Example-Pass1", []),  # the login's domain is not part of the rule
        ("Cobol-Compiler-1959", []),
        ("", ["at least 8 characters", "a lowercase letter", "an uppercase letter", "a number"]),
    ],
)
def test_default_policy(password: str, unmet: list[str]) -> None:
    assert PasswordPolicy().unmet(password, PROFILE) == unmet


def test_symbols_and_attribute_exclusion() -> None:
    policy = PasswordPolicy(min_symbol=1, exclude_attributes=("firstName",))
    profile = {"login": "jb@example.com", "firstName": "Rocky"}
    assert policy.unmet("Rocky12abc", profile) == ["a symbol", "does not include your firstName"]
    assert "a symbol" in policy.requirements()


def test_argon2id_roundtrip_and_rehash_flag() -> None:
    weak = Hasher(time_cost=1, memory_cost=1024, parallelism=1)
    stored = weak.hash("Sup3r-Secret")
    assert stored.startswith("$argon2id$")
    assert weak.verify(stored, "Sup3r-Secret") == (True, False)
    assert weak.verify(stored, "wrong") == (False, False)
    stronger = Hasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert stronger.verify(stored, "Sup3r-Secret") == (True, True)
    assert stronger.verify("garbage", "x") == (False, False)


def test_bcrypt_import_in_okta_format() -> None:
    full = bcrypt.hashpw(b"hunter2", bcrypt.gensalt(rounds=4)).decode()
    spec = {"algorithm": "BCRYPT", "workFactor": 4, "salt": full[7:29], "value": full[29:]}
    assert validate_import(spec) == []
    assert verify_imported(spec, "hunter2")
    assert not verify_imported(spec, "hunter3")
    hasher = Hasher(time_cost=1, memory_cost=1024, parallelism=1)
    assert hasher.verify(imported_hash(spec), "hunter2") == (True, True)


def test_sha256_known_vector() -> None:
    # SHA-256("salt" + "password"), base64, as an exporting system would send it.
    value = base64.b64encode(hashlib.sha256(b"saltpassword").digest()).decode()
    spec = {
        "algorithm": "SHA-256",
        "salt": base64.b64encode(b"salt").decode(),
        "saltOrder": "PREFIX",
        "value": value,
    }
    assert verify_imported(spec, "password")
    assert not verify_imported({**spec, "saltOrder": "POSTFIX"}, "password")


def test_md5_without_salt() -> None:
    value = base64.b64encode(hashlib.md5(b"password").digest()).decode()
    assert verify_imported({"algorithm": "MD5", "value": value}, "password")


@pytest.mark.parametrize(
    "spec",
    [
        {"algorithm": "NOPE", "value": "x"},
        {"algorithm": "BCRYPT", "workFactor": 99, "salt": "a" * 22, "value": "b" * 31},
        {"algorithm": "SHA-1", "value": "%%%"},
        {"algorithm": "SHA-1"},
    ],
)
def test_unusable_imports(spec: dict[str, object]) -> None:
    assert validate_import(spec) != []


def test_answers_normalise_case_and_space() -> None:
    assert normalise_answer("  Annie   OAKLEY ") == "annie oakley"


def test_exclude_common_refuses_the_common_password_list_in_any_case() -> None:
    from app.domain.passwords import COMMON_RULE, PasswordPolicy

    strict = PasswordPolicy(exclude_common=True)
    for common in ("Password1", "PASSWORD123", "Qwerty123", "Welcome1"):
        assert COMMON_RULE in strict.unmet(common, {}), common
    assert strict.unmet("Tr0ub4dour&3-horse", {}) == []
    assert COMMON_RULE in strict.requirements()
    lenient = PasswordPolicy()  # Okta's default: the dictionary check is off
    assert lenient.unmet("Password1", {}) == []
    assert COMMON_RULE not in lenient.requirements()


def test_the_decoy_hash_costs_a_real_verification_and_never_matches() -> None:
    """Unknown users are checked against it: same parameters as real hashes,
    built without hashing, so the first unknown sign-in costs one hash, not two."""
    import argon2

    hasher = Hasher(time_cost=2, memory_cost=2048, parallelism=1)
    real = hasher.hash("anything")
    assert argon2.extract_parameters(hasher._decoy) == argon2.extract_parameters(real)
    assert hasher._decoy != Hasher(time_cost=2, memory_cost=2048, parallelism=1)._decoy
    for password in ("anything", "", "portcullis-dummy-password"):
        assert hasher.verify(hasher._decoy, password) == (False, False)


def test_the_first_decoy_check_hashes_nothing(monkeypatch: Any) -> None:
    hasher = Hasher(time_cost=1, memory_cost=1024, parallelism=1)
    calls: list[str] = []
    monkeypatch.setattr(hasher, "hash", lambda password: calls.append(password))
    hasher.verify_decoy("guess")
    assert calls == []
