"""Google Authenticator / Okta Verify TOTP through the Factors API, as in the seed guide."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from app.domain.factors import totp


def _enroll(api: Any, user: dict[str, Any], provider: str = "GOOGLE") -> dict[str, Any]:
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "token:software:totp", "provider": provider},
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _code(factor: dict[str, Any], clock: Any, offset_steps: int = 0) -> str:
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    counter = totp.counter_at(clock()) + offset_steps
    return pyotp.HOTP(secret).at(counter)


def _path(url: str) -> str:
    return url.replace("http://portcullis.test", "")


@pytest.mark.parametrize(("provider", "prefix"), [("GOOGLE", "uft"), ("OKTA", "ost")])
def test_enroll_answers_in_the_seed_shape(
    api: Any, make_user: Any, provider: str, prefix: str
) -> None:
    user = make_user()
    factor = _enroll(api, user, provider)
    assert factor["id"].startswith(prefix) and len(factor["id"]) == 20
    assert factor["factorType"] == "token:software:totp"
    assert factor["provider"] == factor["vendorName"] == provider
    assert factor["status"] == "PENDING_ACTIVATION"
    assert factor["profile"] == {"credentialId": user["profile"]["login"]}
    base = f"http://portcullis.test/api/v1/users/{user['id']}"
    assert factor["_links"] == {
        "activate": {
            "href": f"{base}/factors/{factor['id']}/lifecycle/activate",
            "hints": {"allow": ["POST"]},
        },
        "self": {"href": f"{base}/factors/{factor['id']}", "hints": {"allow": ["GET"]}},
        "user": {"href": base, "hints": {"allow": ["GET"]}},
    }
    activation = factor["_embedded"]["activation"]
    assert activation["timeStep"] == 30
    assert activation["encoding"] == "base32"
    assert activation["keyLength"] == 6
    assert activation["factorResult"] == "WAITING"
    assert len(activation["sharedSecret"]) == 32  # 160 bits
    assert activation["_links"]["qrcode"]["type"] == "image/png"
    assert activation["_links"]["qrcode"]["href"].startswith(f"{base}/factors/{factor['id']}/qr/")


def test_qr_code_is_a_scannable_png_without_a_token(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    user = make_user()
    factor = _enroll(api, user)
    href = _path(factor["_embedded"]["activation"]["_links"]["qrcode"]["href"])
    r = anonymous.get(href)
    assert r.status_code == 200
    assert r.mimetype == "image/png"
    assert r.get_data().startswith(b"\x89PNG\r\n\x1a\n")
    assert r.headers["Cache-Control"] == "no-store"


def test_qr_code_decodes_to_the_otpauth_uri(api: Any, anonymous: Any, make_user: Any) -> None:
    """Decode the served PNG as a phone camera would (OpenCV's QR detector).

    The Aruco-based detector: OpenCV's classic ``QRCodeDetector`` misses about
    one valid code in 25 (it failed this test now and then), the Aruco one
    none in 1,000 random secrets."""
    import cv2
    import numpy as np

    user = make_user()
    factor = _enroll(api, user)
    activation = factor["_embedded"]["activation"]
    png = anonymous.get(_path(activation["_links"]["qrcode"]["href"])).get_data()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    uri, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    assert uri.startswith("otpauth://totp/Portcullis:isaac.brock@example.com?")
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == activation["sharedSecret"]
    assert parsed.issuer == "Portcullis" and parsed.interval == 30 and parsed.digits == 6


def test_tampered_expired_or_foreign_qr_links_are_404(
    api: Any, anonymous: Any, make_user: Any, clock: Any, ctx: Any
) -> None:
    user = make_user()
    other = make_user("other@example.com")
    factor = _enroll(api, user)
    href = _path(factor["_embedded"]["activation"]["_links"]["qrcode"]["href"])
    assert anonymous.get(href[:-2] + "xx").status_code == 404
    assert anonymous.get(href.replace(user["id"], other["id"])).status_code == 404
    import time

    original = time.time
    try:  # itsdangerous reads the wall clock: move it past the link's lifetime
        time.time = lambda: original() + ctx.settings.qr_code_ttl + 5  # type: ignore[assignment]
        expired = anonymous.get(href)
    finally:
        time.time = original  # type: ignore[assignment]
    assert expired.status_code == 404
    assert expired.get_json()["errorCode"] == "E0000007"


def test_activate_then_verify_then_replay(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    wrong = api.post(f"{base}/lifecycle/activate", json={"passCode": "000000"})
    assert wrong.status_code == 403
    assert wrong.get_json()["errorCode"] == "E0000068"
    r = api.post(f"{base}/lifecycle/activate", json={"passCode": _code(factor, clock)})
    assert r.status_code == 200, r.get_json()
    active = r.get_json()
    assert active["status"] == "ACTIVE"
    assert "_embedded" not in active
    assert set(active["_links"]) == {"self", "verify", "user"}
    assert active["_links"]["self"]["hints"]["allow"] == ["GET", "DELETE"]
    # the secret is never shown again, and the QR link is dead
    listing = api.get(f"/api/v1/users/{user['id']}/factors")
    assert factor["_embedded"]["activation"]["sharedSecret"] not in listing.get_data(as_text=True)
    qr = _path(factor["_embedded"]["activation"]["_links"]["qrcode"]["href"])
    assert api.get(qr).status_code == 404
    # the activation code was used: the next step's code verifies, once
    clock.advance(seconds=30)
    code = _code(factor, clock)
    ok = api.post(f"{base}/verify", json={"passCode": code})
    assert ok.status_code == 200 and ok.get_json() == {"factorResult": "SUCCESS"}
    replay = api.post(f"{base}/verify", json={"passCode": code})
    assert replay.status_code == 403
    assert replay.get_json()["errorCode"] == "E0000082"
    bad = api.post(f"{base}/verify", json={"passCode": "123456"})
    assert bad.status_code == 403 and bad.get_json()["errorCode"] == "E0000068"
    assert bad.get_json()["errorCauses"] == [
        {"errorSummary": "Your passcode doesn't match our records. Please try again."}
    ]


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (1, True), (2, False)])
def test_skew_of_one_step_either_side(
    api: Any, make_user: Any, clock: Any, offset: int, accepted: bool
) -> None:
    user = make_user()
    factor = _enroll(api, user)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    r = api.post(f"{base}/lifecycle/activate", json={"passCode": _code(factor, clock, offset)})
    assert (r.status_code == 200) is accepted


def test_an_older_code_after_a_newer_one_is_refused(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    assert (
        api.post(
            f"{base}/lifecycle/activate", json={"passCode": _code(factor, clock, 1)}
        ).status_code
        == 200
    )
    r = api.post(f"{base}/verify", json={"passCode": _code(factor, clock)})
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000082"


def test_secret_is_encrypted_at_rest(api: Any, make_user: Any, ctx: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    with ctx.stores.unit_of_work() as uow:
        raw = uow.factors.raw_secret(factor["id"])
    assert raw is not None and raw.startswith("v1.")
    assert secret not in raw
    from sqlalchemy import text

    with ctx.stores.database.engine.connect() as conn:
        row = conn.execute(text("select * from factors")).mappings().one()
    assert secret not in str(dict(row))


def test_enrolling_twice(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    first = _enroll(api, user)
    # a pending enrolment is replaced by a new one (a new secret)
    second = _enroll(api, user)
    assert second["id"] != first["id"]
    assert len(api.get(f"/api/v1/users/{user['id']}/factors").get_json()) == 1
    base = f"/api/v1/users/{user['id']}/factors/{second['id']}"
    api.post(f"{base}/lifecycle/activate", json={"passCode": _code(second, clock)})
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    assert r.status_code == 400
    assert r.get_json()["errorSummary"] == "Api validation failed: factorEnrollRequest"
    assert r.get_json()["errorCauses"] == [
        {"errorSummary": "A factor of this type is already set up."}
    ]


def test_verify_pending_factor_is_refused(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors/{factor['id']}/verify",
        json={"passCode": _code(factor, clock)},
    )
    assert r.status_code == 400


def test_another_users_factor_is_not_found(api: Any, make_user: Any, clock: Any) -> None:
    owner = make_user()
    other = make_user("other@example.com")
    factor = _enroll(api, owner)
    for method, suffix, body in [
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/verify", {"passCode": "123456"}),
        ("POST", "/lifecycle/activate", {"passCode": "123456"}),
    ]:
        r = api.request(
            method, f"/api/v1/users/{other['id']}/factors/{factor['id']}{suffix}", json=body
        )
        assert r.status_code == 404, suffix
        assert r.get_json()["errorSummary"] == (
            f"Not found: Resource not found: {factor['id']} (UserFactor)"
        )


def test_delete_and_reset_factors(api: Any, make_user: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    r = api.delete(f"/api/v1/users/{user['id']}/factors/{factor['id']}")
    assert r.status_code == 204 and r.get_data() == b""
    assert api.get(f"/api/v1/users/{user['id']}/factors/{factor['id']}").status_code == 404
    _enroll(api, user)
    api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={
            "factorType": "question",
            "profile": {"question": "disliked_food", "answer": "mayo nnaise"},
        },
    )
    assert len(api.get(f"/api/v1/users/{user['id']}/factors").get_json()) == 2
    assert api.post(f"/api/v1/users/{user['id']}/lifecycle/reset_factors").status_code == 200
    assert api.get(f"/api/v1/users/{user['id']}/factors").get_json() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"factorType": "token:software:totp", "provider": "RSA"}, 400),
        ({"factorType": "push", "provider": "OKTA"}, 400),
        ({"provider": "GOOGLE"}, 400),
        ({"factorType": 7}, 400),
        ({"factorType": "token:software:totp", "provider": "GOOGLE", "profile": "x"}, 400),
    ],
)
def test_enroll_bad_input(api: Any, make_user: Any, body: Any, status: int) -> None:
    user = make_user()
    r = api.post(f"/api/v1/users/{user['id']}/factors", json=body)
    assert r.status_code == status
    assert r.get_json()["errorCode"] == "E0000001"


def test_enroll_totp_with_activate_true_is_refused(api: Any, make_user: Any) -> None:
    user = make_user()
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?activate=true",
        json={"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    assert r.status_code == 400


def test_factors_of_unknown_user_are_404(api: Any) -> None:
    for path in ("/api/v1/users/00unope/factors", "/api/v1/users/00unope/factors/catalog"):
        assert api.get(path).status_code == 404
    # The question catalog is public and the same for everybody: a 404 here
    # would tell an anonymous caller which users exist.
    known_or_not = api.get("/api/v1/users/00unope/factors/questions")
    assert known_or_not.status_code == 200 and known_or_not.get_json()


def test_factor_apis_need_a_token(anonymous: Any, api: Any, make_user: Any) -> None:
    user = make_user()
    assert anonymous.get(f"/api/v1/users/{user['id']}/factors").status_code == 401
    r = anonymous.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    assert r.status_code == 401


def test_the_question_catalog_needs_no_token(anonymous: Any, make_user: Any) -> None:
    """Sign-in pages read it during MFA enrolment, as the /authn answer links it."""
    user = make_user()
    r = anonymous.get(f"/api/v1/users/{user['id']}/factors/questions")
    assert r.status_code == 200
    catalog = r.get_json()
    assert len(catalog) > 5
    assert all(set(entry) == {"question", "questionText"} for entry in catalog)


def test_catalog_and_questions(api: Any, make_user: Any) -> None:
    user = make_user()
    catalog = api.get(f"/api/v1/users/{user['id']}/factors/catalog").get_json()
    pairs = {(e["factorType"], e["provider"]) for e in catalog}
    assert pairs == {
        ("token:software:totp", "GOOGLE"),
        ("token:software:totp", "OKTA"),
        ("sms", "OKTA"),
        ("call", "OKTA"),
        ("email", "OKTA"),
        ("question", "OKTA"),
        ("webauthn", "FIDO"),
    }
    assert all(e["status"] == "NOT_SETUP" for e in catalog)
    assert all(e["_links"]["enroll"]["hints"]["allow"] == ["POST"] for e in catalog)
    questions = api.get(f"/api/v1/users/{user['id']}/factors/questions").get_json()
    assert len(questions) == 20
    assert questions[0] == {
        "question": "disliked_food",
        "questionText": "What is the food you least liked as a child?",
    }


def test_a_suspended_users_factor_proves_nothing(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    api.post(f"{base}/lifecycle/activate", json={"passCode": _code(factor, clock)})
    api.post(f"/api/v1/users/{user['id']}/lifecycle/suspend")
    r = api.post(f"{base}/verify", json={"passCode": _code(factor, clock, 1)})
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000038"


def test_a_secret_whose_key_is_gone_can_still_be_listed_and_deleted(
    api: Any, make_user: Any, ctx: Any, clock: Any
) -> None:
    from sqlalchemy import text

    from app.domain.secret_box import SecretBox

    user = make_user()
    factor = _enroll(api, user)
    foreign = SecretBox("old:retired-key").seal(b"JBSWY3DPEHPK3PXP", factor["id"].encode())
    with ctx.stores.database.engine.begin() as conn:
        conn.execute(text("update factors set secret_sealed = :s"), {"s": foreign})
    assert api.get(f"/api/v1/users/{user['id']}/factors").status_code == 200
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    r = api.post(f"{base}/lifecycle/activate", json={"passCode": _code(factor, clock)})
    assert r.status_code == 403
    assert api.delete(base).status_code == 204
