"""The transaction document kept in Redis: compact, and read back whole."""

from __future__ import annotations

import json
from dataclasses import asdict

from app.domain.authn import Progress, RecoveryType, Status
from app.services.authn.call import Tx


def _tx(**progress: object) -> Tx:
    return Tx(
        user_id="00u1234567890abcdefg",
        status=Status.MFA_REQUIRED,
        progress=Progress(**progress),  # type: ignore[arg-type]
        expires_at="2026-12-02T07:00:20.715Z",
        password_verified_at="2026-12-02T06:55:20.683Z",
    )


def test_a_fresh_sign_in_keeps_only_what_is_not_a_default() -> None:
    doc = _tx().to_doc()
    assert doc == {
        "user_id": "00u1234567890abcdefg",
        "status": "MFA_REQUIRED",
        "progress": {},
        "expires_at": "2026-12-02T07:00:20.715Z",
        "password_verified_at": "2026-12-02T06:55:20.683Z",
    }
    assert len(json.dumps(doc)) < 200


def test_every_field_comes_back_as_it_was() -> None:
    tx = _tx(
        warn_requested=True,
        enrolled_factor_ids=["uft1", "uft2"],
        amr=["pwd", "otp"],
        mfa_verified=True,
        recovery_type=RecoveryType.PASSWORD,
        challenged_factor_id="sms1",
    )
    tx.relay_state = "/app"
    tx.remember_device = True
    assert Tx.from_doc(json.loads(json.dumps(tx.to_doc()))) == tx
    assert Tx.from_doc(_tx().to_doc()) == _tx()


def test_a_decoy_keeps_its_user_id_none_and_a_full_document_still_reads() -> None:
    decoy = Tx(None, Status.RECOVERY_CHALLENGE, Progress(), "2026-12-02T07:00:20.715Z")
    assert decoy.to_doc()["user_id"] is None  # the lease script reads it
    assert Tx.from_doc(decoy.to_doc()) == decoy
    full = asdict(_tx())  # as earlier versions stored every field
    full["status"] = "MFA_REQUIRED"
    assert Tx.from_doc(full) == _tx()
