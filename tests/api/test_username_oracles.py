"""No endpoint reachable without an API token tells who exists.

Someone who knows only a username (or guesses them by the thousand) walks
every unauthenticated endpoint for users of every kind: unknown, ACTIVE,
LOCKED_OUT, SUSPENDED, DEPROVISIONED, STAGED, with and without a phone
factor, and users whose policy does not let them recover. Each kind's
transcript (status, body without its random ids and tokens, header names, and
the number of password hashes computed) must be the unknown user's.

Deliberate exception, kept: a password policy with ``showLockoutFailures``
(default off) answers LOCKED_OUT to a locked user's sign-in, as Okta does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.delivery import DeliveryError, Message
from app.domain.clock import parse_timestamp
from app.domain.policy import EffectivePolicy, Lockout, PasswordSettings
from app.services import api_tokens
from app.services.authn import transaction as authn_service
from app.store import migrations
from tests.conftest import PASSWORD, OktaClient, profile, settings_for

WRONG = "Wrong-Password-1"
MAX_ATTEMPTS = 3
RECOVERS = EffectivePolicy(
    password=PasswordSettings(
        recovery_factors=frozenset({"okta_sms", "okta_call", "okta_email", "recovery_question"}),
        self_service_unlock=True,
        lockout=Lockout(max_attempts=MAX_ATTEMPTS),
    )
)
#: A policy under which the user may not recover at all.
NO_RECOVERY = replace(
    RECOVERS,
    password=replace(
        RECOVERS.password,
        recovery_factors=frozenset(),
        self_service_unlock=False,
        self_service_password_reset=False,
    ),
)


@dataclass(frozen=True)
class Kind:
    name: str
    status: str | None  # None: nobody has this username
    phone: bool = True
    recovers: bool = True

    @property
    def login(self) -> str:
        return f"{self.name}@example.com"


KINDS = (
    Kind("unknown", None, phone=False),
    Kind("active", "ACTIVE"),
    Kind("activenophone", "ACTIVE", phone=False),
    Kind("locked", "LOCKED_OUT"),
    Kind("lockednophone", "LOCKED_OUT", phone=False),
    Kind("suspended", "SUSPENDED"),
    Kind("deprovisioned", "DEPROVISIONED"),
    Kind("staged", "STAGED"),
    Kind("activenorecovery", "ACTIVE", recovers=False),
    Kind("lockednorecovery", "LOCKED_OUT", recovers=False),
)
#: Statuses whose right password is no use either: for them the walk tries it too.
CANNOT_SIGN_IN = {None, "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED", "STAGED"}


def phone_of(kind: Kind) -> str:
    return f"+1505269{KINDS.index(kind):04d}"


# ---- setting the users up ----------


@pytest.fixture
def per_user_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    def effective_for(ctx: Any, uow: Any, user: Any) -> EffectivePolicy:
        return NO_RECOVERY if "norecovery" in user.login else RECOVERS

    monkeypatch.setattr(authn_service, "effective_for", effective_for)


def _create(api: Any, make_user: Any, anonymous: Any, kind: Kind) -> str | None:
    if kind.status is None:
        return None
    user = make_user(kind.login, activate=kind.status != "STAGED")
    base = f"/api/v1/users/{user['id']}"
    if kind.phone:
        for factor_type in ("sms", "call"):
            r = api.post(
                f"{base}/factors?activate=true",
                json={"factorType": factor_type, "profile": {"phoneNumber": phone_of(kind)}},
            )
            assert r.status_code == 200, r.get_json()
    if kind.status == "LOCKED_OUT":
        for _ in range(MAX_ATTEMPTS):
            anonymous.post("/api/v1/authn", json={"username": kind.login, "password": WRONG})
    elif kind.status == "SUSPENDED":
        assert api.post(f"{base}/lifecycle/suspend").status_code == 200
    elif kind.status == "DEPROVISIONED":
        assert api.post(f"{base}/lifecycle/deactivate").status_code == 200
    assert api.get(base).get_json()["status"] == kind.status
    return str(user["id"])


@pytest.fixture
def hashes(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many password hashes (argon2 or imported) each request computes."""
    count = {"n": 0}
    for name in ("hash", "verify"):
        original = getattr(ctx.hasher, name)

        def counted(*args: Any, _original: Callable[..., Any] = original) -> Any:
            count["n"] += 1
            return _original(*args)

        monkeypatch.setattr(ctx.hasher, name, counted)
    return count


# ---- the walk ----------


@dataclass
class Walker:
    """One kind's walk: its own client address (the per-client rate limit)."""

    app: Any
    clock: Any
    hashes: dict[str, int]
    kind: Kind
    user_id: str | None
    transcript: list[tuple[str, Any]] = field(default_factory=list)
    state_token: str = ""

    @property
    def username(self) -> str:
        return self.kind.login

    def call(self, label: str, method: str, path: str, **kwargs: Any) -> Any:
        client = self.app.test_client()
        before = self.hashes["n"]
        r = client.open(
            path,
            method=method,
            headers={"Accept": "application/json", **kwargs.pop("headers", {})},
            environ_base={"REMOTE_ADDR": f"198.51.100.{KINDS.index(self.kind) + 1}"},
            **kwargs,
        )
        self.transcript.append((label, self._normalise(r, self.hashes["n"] - before)))
        return r

    def authn(self, label: str, path: str = "", **body: Any) -> Any:
        return self.call(label, "POST", f"/api/v1/authn{path}", json=body)

    def _normalise(self, r: Any, hashes: int) -> tuple[Any, ...]:
        body = r.get_json(silent=True)
        if body is None:
            body = re.sub(r"[\w-]{20,}", "<random>", r.get_data(as_text=True))
        return (r.status_code, self._strip(body), sorted(r.headers.keys()), hashes)

    def _strip(self, value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in ("stateToken", "errorId"):
                    out[key] = "<random>"
                elif key == "expiresAt":  # how long it lives from now, not when
                    out[key] = (parse_timestamp(item) - self.clock()).total_seconds()
                else:
                    out[key] = self._strip(item)
            return out
        if isinstance(value, list):
            return [self._strip(item) for item in value]
        return value


def _primary(w: Walker) -> None:
    w.authn("authn: wrong password", username=w.username, password=WRONG)
    w.authn("authn: short name, wrong password", username=w.username.split("@")[0], password=WRONG)
    if w.kind.status in CANNOT_SIGN_IN:
        w.authn("authn: the user's password", username=w.username, password=PASSWORD)
    w.authn("authn: activation token", token="not-an-activation-token")
    w.authn("authn: recovery token", "/recovery/token", recoveryToken="not-a-recovery-token")


def _questions(w: Walker) -> None:
    w.call("questions by login", "GET", f"/api/v1/users/{w.username}/factors/questions")
    user_id = w.user_id or "00u1nobodyh3re0000001"
    w.call("questions by id", "GET", f"/api/v1/users/{user_id}/factors/questions")


def _browser(w: Walker) -> None:
    w.call(
        "sessionCookieRedirect",
        "GET",
        "/login/sessionCookieRedirect?token=not-a-token&redirectUrl=http://portcullis.test/app",
    )
    w.call("sessions/me", "GET", "/api/v1/sessions/me", headers={"Cookie": "sid=not-a-session"})


def _recovery(w: Walker, recovery: str, factor: str) -> None:
    """Everything an anonymous caller can do with a recovery by SMS or call."""
    path, other = f"/recovery/{recovery}", "CALL" if factor == "SMS" else "SMS"
    step = f"{recovery} by {factor}"
    r = w.authn(f"{step}: start", path, username=w.username, factorType=factor)
    w.state_token = r.get_json().get("stateToken", "")
    w.authn(f"{step}: again", path, username=w.username, factorType=factor)
    w.authn(f"{step}: again, other case", path, username=w.username.upper(), factorType=factor)
    short = w.username.split("@")[0]
    w.authn(f"{step}: short name", path, username=short, factorType=factor)
    token = w.state_token
    w.authn(f"{step}: read", stateToken=token)
    w.authn(f"{step}: resend at once", f"/recovery/factors/{factor}/resend", stateToken=token)
    w.authn(f"{step}: verify other type", f"/recovery/factors/{other}/verify", stateToken=token)
    w.authn(f"{step}: verify no code", f"/recovery/factors/{factor}/verify", stateToken=token)
    for attempt in range(MAX_ATTEMPTS + 3):  # past lockout and past OTP_MAX_ATTEMPTS
        w.authn(
            f"{step}: wrong code {attempt}",
            f"/recovery/factors/{factor}/verify",
            stateToken=token,
            passCode="000000",
        )
    w.clock.advance(seconds=31)
    w.authn(f"{step}: resend later", f"/recovery/factors/{factor}/resend", stateToken=token)
    w.authn(f"{step}: read after resend", stateToken=token)
    w.authn(f"{step}: introspect", "/introspect", stateToken=token)
    w.authn(f"{step}: cancel", "/cancel", stateToken=token)
    w.authn(f"{step}: read after cancel", stateToken=token)
    w.clock.advance(seconds=31)


def _recovery_by_email(w: Walker, recovery: str) -> None:
    path = f"/recovery/{recovery}"
    w.authn(f"{recovery} by EMAIL: start", path, username=w.username, factorType="EMAIL")
    w.authn(f"{recovery} by EMAIL: again", path, username=w.username, factorType="EMAIL")
    w.clock.advance(seconds=31)


def _walk(w: Walker) -> list[tuple[str, Any]]:
    _primary(w)
    _questions(w)
    _browser(w)
    for recovery in ("password", "unlock"):
        for factor in ("SMS", "CALL"):
            _recovery(w, recovery, factor)
        _recovery_by_email(w, recovery)
    return w.transcript


def _setup(api: Any, anonymous: Any, make_user: Any, clock: Any) -> dict[str, str | None]:
    ids = {kind.name: _create(api, make_user, anonymous, kind) for kind in KINDS}
    clock.advance(seconds=31)  # past the throttles of set-up
    # No warm-up: the first unknown user's sign-in costs one hash, as any other.
    return ids


@pytest.fixture
def deliveries(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every message handed to the delivery (the outbox forgets expired ones)."""
    log: list[Any] = []
    send = ctx.delivery.send

    def recording(message: Any) -> None:
        log.append(message)
        send(message)

    monkeypatch.setattr(ctx.delivery, "send", recording)
    return log


def _sent(deliveries: list[Any]) -> dict[tuple[str, str], int]:
    """Codes sent so far, per kind and channel."""
    return {
        (kind.name, channel): sum(
            1 for m in deliveries if m.to == phone_of(kind) and m.channel == channel
        )
        for kind in KINDS
        for channel in ("sms", "call")
    }


# ---- the test ----------


def test_every_unauthenticated_endpoint_answers_every_kind_of_user_alike(
    app: Any,
    api: Any,
    anonymous: Any,
    make_user: Any,
    clock: Any,
    deliveries: list[Any],
    per_user_policy: None,
    hashes: dict[str, int],
) -> None:
    ids = _setup(api, anonymous, make_user, clock)
    before = _sent(deliveries)
    walked = {kind.name: _walk(Walker(app, clock, hashes, kind, ids[kind.name])) for kind in KINDS}
    unknown = dict(walked["unknown"])
    assert len(unknown) > 80  # the walk went all the way
    differences = [
        f"{kind}, {label}:\n  {answer}\n  unknown: {unknown[label]}"
        for kind, transcript in walked.items()
        for label, answer in transcript
        if answer != unknown[label]
    ]
    assert not differences, "\n".join(differences)
    _the_answers_are_the_expected_ones(unknown)
    _real_users_still_get_their_codes(before, _sent(deliveries))


def _the_answers_are_the_expected_ones(answers: dict[str, Any]) -> None:
    """The unknown user's transcript is what every kind matched: check that it
    is what a careful client expects, not merely the same everywhere."""
    assert answers["authn: wrong password"][0] == 401
    assert answers["authn: wrong password"][3] == 1  # one hash, as for a real user
    assert answers["questions by login"][0] == 200
    assert answers["password by SMS: start"][0] == 200
    assert answers["password by SMS: again"][:2] == (
        429,
        {
            "errorCode": "E0000109",
            "errorSummary": "An SMS message was recently sent. Please wait 30 seconds before "
            "trying again.",
            "errorLink": "E0000109",
            "errorId": "<random>",
            "errorCauses": [],
        },
    )
    assert "Retry-After" in answers["password by SMS: again"][2]
    assert answers["password by SMS: again, other case"][0] == 429
    assert answers["password by CALL: again"][1]["errorCode"] == "E0000113"
    assert answers["password by EMAIL: again"][1]["errorCode"] == "E0000118"
    assert answers["password by SMS: short name"][0] == 200
    assert answers["password by SMS: resend at once"][0] == 429
    assert answers["password by SMS: verify other type"][1]["errorCode"] == "E0000079"
    assert answers["password by SMS: verify no code"][1]["errorCode"] == "E0000001"
    assert answers[f"password by SMS: wrong code {MAX_ATTEMPTS + 2}"][1]["errorCode"] == "E0000068"
    assert answers["password by SMS: resend later"][0] == 200
    resent = answers["password by SMS: read after resend"][1]
    assert resent["expiresAt"] == 300  # extended by the resend, as a real one is
    assert "_embedded" not in resent  # RECOVERY_CHALLENGE names nobody
    assert answers["password by SMS: read after cancel"][0] == 401


def _real_users_still_get_their_codes(
    before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]
) -> None:
    """The use case behind the decoys: whoever may recover gets the code; the
    alias and the repeats inside the throttle window send nothing more."""
    sent = {key: after[key] - before[key] for key in after}
    assert sent[("active", "sms")] == sent[("active", "call")] == 2  # start, resend later
    assert sent[("locked", "sms")] == sent[("locked", "call")] == 4  # password and unlock
    for kind in KINDS:
        if kind.name not in ("active", "locked"):
            assert sent[(kind.name, "sms")] == sent[(kind.name, "call")] == 0, kind.name


# ---- a phone the carrier refuses ----------


class RefusingCarrier:
    """Refuses every text and call as an invalid recipient (Twilio's 21211)."""

    def __init__(self) -> None:
        self.attempts: list[Message] = []

    def send(self, message: Message) -> None:
        self.attempts.append(message)
        raise DeliveryError("not a mobile number", invalid_recipient=True)


def test_a_recovery_code_that_cannot_be_delivered_is_not_shown(
    tmp_path: Path, clock: Any, per_user_policy: None
) -> None:
    """E0000098 or 502 would tell the caller that the username has a phone."""
    carrier = RefusingCarrier()
    app = create_app(settings_for(tmp_path), clock=clock, delivery=carrier)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "t")
    api, anonymous = OktaClient(app.test_client(), token), OktaClient(app.test_client(), None)
    user = api.post(
        "/api/v1/users?activate=true",
        json={
            "profile": profile("real@example.com"),
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    r = api.post(
        f"/api/v1/users/{user.get_json()['id']}/factors?activate=true",
        json={"factorType": "sms", "profile": {"phoneNumber": "+15052694259"}},
    )
    assert r.status_code == 200, r.get_json()
    answers = []
    for username in ("real@example.com", "nobody@example.com"):
        r = anonymous.post(
            "/api/v1/authn/recovery/password", json={"username": username, "factorType": "SMS"}
        )
        assert r.status_code == 200, r.get_json()
        answers.append({k: v for k, v in r.get_json().items() if k != "stateToken"})
    assert answers[0] == answers[1]
    texts = [m.to for m in carrier.attempts if m.channel == "sms"]
    assert texts == ["+15052694259"]  # it was tried, for the real user only
