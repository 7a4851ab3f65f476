"""Random sequences of /api/v1/authn calls and admin changes, checked against a
reference model of the engine's security guarantees after every step.

The machine drives the real app (SQLite + fakeredis) through the Flask test
client. Its model keeps what the engine should know (users, their factors and
codes, the policies, the clock, the open transaction) and computes on its own
which status each answer must carry and which answers must be refused. After
every step it checks:

- the answered status is the model's (``expected_statuses``), every call the
  ``ALLOWED`` table refuses answers 403 E0000079, and a read answers the status
  the transaction was left in;
- a ``sessionToken`` comes only after a proof of the password (or a recovery or
  activation token) and, where the sign-on rule requires a factor, a factor
  that was active before the transaction began, or a first one enrolled by a
  user who had none (``_check_success``);
- a user with an active factor verifies one before any enrolment is offered;
  ``skip`` never skips an unmet requirement;
- the user's ACTIVE factors in the database are exactly the model's: nothing
  enrolled in a cancelled, expired or failed transaction becomes active
  (``_check_database``);
- spent, cancelled and expired stateTokens, used sessionTokens, replayed TOTP
  steps and used recovery or activation tokens never work again;
- the user is LOCKED_OUT exactly when ``maxAttempts`` failures were judged, and
  a locked user never reaches SUCCESS;
- no answer before SUCCESS holds the user's full phone number or e-mail address.

``AUTHN_SM_EXAMPLES`` (default 10000) and ``AUTHN_SM_SEED`` (default: fixed,
derandomised; ``random`` for a new seed each run, as ``make verify-deep`` does)
set the depth.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app import create_app
from app.domain.authn import ALLOWED, Action, Status
from app.services import api_tokens
from app.store import migrations
from tests.conftest import FrozenClock, OktaClient, settings_for
from tests.property.conftest import RUNS
from tests.webauthn_authenticator import SoftAuthenticator, b64url

EXAMPLES = int(os.environ.get("AUTHN_SM_EXAMPLES", "10000"))
SEED = os.environ.get("AUTHN_SM_SEED", "fixed")
STEPS = int(os.environ.get("AUTHN_SM_STEPS", "15"))
SHRINK = os.environ.get("AUTHN_SM_SHRINK", "1") != "0"

PASSWORD = "Sup3r-Secret-Phrase"
#: The test server's WebAuthn relying party (BASE_URL http://portcullis.test).
RP_ID, ORIGIN = "portcullis.test", "http://portcullis.test"
PHONE = "+1 505-269-4259"
E164 = "+15052694259"
#: Any of these in an answer before SUCCESS is an unmasked phone number.
PHONE_FORMS = ("5052694259", "505-269-4259", "505) 269-4259", "505 269 4259")
ANSWER = "Mr Bunny Rabbit"
QUESTION = "name_of_first_plush_toy"
STATE_TTL = 300
CODE_LIFETIME = 300
CODE_MAX_ATTEMPTS = 5
RESEND_AFTER = 30


@dataclass(frozen=True)
class Kind:
    key: str  # the MFA enrolment policy's key
    factor_type: str
    provider: str
    channel: str | None  # sms, call, email: a delivered code

    @property
    def totp(self) -> bool:
        return self.factor_type == "token:software:totp"

    @property
    def webauthn(self) -> bool:
        return self.factor_type == "webauthn"


KINDS = (
    Kind("google_otp", "token:software:totp", "GOOGLE", None),
    Kind("okta_otp", "token:software:totp", "OKTA", None),
    Kind("okta_sms", "sms", "OKTA", "sms"),
    Kind("okta_call", "call", "OKTA", "call"),
    Kind("okta_email", "email", "OKTA", "email"),
    Kind("okta_question", "question", "OKTA", None),
    Kind("fido_webauthn", "webauthn", "FIDO", None),
)
BY_KEY = {k.key: k for k in KINDS}
#: How often the WebAuthn paths were reached in a run: a full run must reach
#: each, or its rules prove nothing about WebAuthn.
WEBAUTHN_SEEN: Counter[str] = Counter()
KIND_KEYS = st.sampled_from([k.key for k in KINDS])


# ---- the model ---------------------------------------------------------------------------


@dataclass
class MFactor:
    id: str
    kind: Kind
    active: bool = False
    secret: str | None = None
    last_step: int = -1  # the newest TOTP step accepted
    used_steps: set[int] = field(default_factory=set)
    #: WebAuthn: the authenticator holding its credential, and the signature
    #: counter the server keeps (it refuses an answer whose counter does not grow).
    key: SoftAuthenticator | None = None
    sign_count: int = 0


@dataclass
class MUser:
    name: str
    id: str
    login: str
    email: str
    password: str | None
    status: str
    password_changed: datetime | None
    factors: dict[str, MFactor] = field(default_factory=dict)
    failures: int = 0

    def active(self) -> list[MFactor]:
        return [f for f in self.factors.values() if f.active]

    def active_of(self, kind: Kind) -> MFactor | None:
        return next((f for f in self.active() if f.kind == kind), None)


@dataclass
class Code:
    """The one delivered code a factor holds (single use, expiring, capped)."""

    value: str
    sent_at: datetime
    wrong: int = 0


@dataclass
class MPolicy:
    require_factor: bool = False
    prompt_mode: str = "ALWAYS"
    #: As the default MFA_ENROLL policy has it: every factor optional but
    #: WebAuthn, which a policy must turn on.
    enrollment: dict[str, str] = field(
        default_factory=lambda: {k.key: "NOT_ALLOWED" if k.webauthn else "OPTIONAL" for k in KINDS}
    )
    max_age_days: int = 0
    warn_days: int = 0
    max_attempts: int = 5


@dataclass
class MTx:
    token: str | None
    user: MUser
    status: str
    expires_at: datetime
    kind: str  # primary, recovery, activation
    warn_requested: bool = False
    warn_skipped: bool = False
    multi: bool = False
    enroll_skipped: bool = False
    enrolling: str | None = None
    challenged: str | None = None
    #: The WebAuthn challenge the transaction holds (enrolment or sign-in).
    webauthn_challenge: str | None = None
    mfa_verified: bool = False
    verified_prior: bool = False  # a factor active before the transaction
    first_enrolled: bool = False  # a first factor, enrolled by a user who had none
    mfa_waived: bool = False
    device: str | None = None
    remember: bool = False
    recovery_type: str | None = None  # PASSWORD, UNLOCK
    recovery_channel: str | None = None  # SMS, CALL, EMAIL
    recovery_factor: str | None = None
    recovery_verified: bool = False
    answered: bool = False
    reset_done: bool = False
    decoy: bool = False
    #: When this recovery transaction last claimed a send (its start, a resend).
    resend_claimed: datetime | None = None
    #: Factors enrolled and proven in this transaction: inactive until its SUCCESS.
    enrolled: list[str] = field(default_factory=list)


def mask_failures(text: str, user: MUser) -> list[str]:
    found = [form for form in PHONE_FORMS if form in text]
    if user.email.lower() in text.lower():
        found.append(user.email)
    return found


# ---- the app, built once per module ------------------------------------------------------


class World:
    """One app with its baseline users and policies, restored between sequences."""

    def __init__(self, tmp: Path) -> None:
        self.clock = FrozenClock()
        self.start = self.clock.now
        # The rate limit is tested in tests/api; here it would cost a script a call.
        settings = settings_for(tmp, rate_limit_authn="off")
        self.app: Flask = create_app(settings, clock=self.clock)
        self.ctx = self.app.extensions["portcullis"]
        migrations.upgrade(self.ctx.stores.database)
        # Every message handed to the delivery, in order (the outbox itself
        # forgets a message once its code expires, and the clock jumps here).
        self.sent: list[Any] = []
        send = self.ctx.delivery.send

        def recording(message: Any) -> None:
            send(message)
            self.sent.append(message)

        self.ctx.delivery.send = recording
        _, token = api_tokens.create_token(self.ctx, "property")
        self.admin = OktaClient(self.app.test_client(), token)
        self.anon = OktaClient(self.app.test_client(), None)
        self.users = self._baseline_users()
        self.policies: dict[str, dict[str, Any]] = {}
        self.policy_ids: dict[str, tuple[str, str]] = {}
        self.policy_ids = self._baseline_policies()
        r = self.admin.post(
            "/api/v1/trustedOrigins",
            json={
                "name": "self",
                "origin": "http://portcullis.test",
                "scopes": [{"type": "REDIRECT"}, {"type": "CORS"}],
            },
        )
        assert r.status_code == 200, r.get_json()
        self.db_path = Path(str(settings.database_url).removeprefix("sqlite:///"))
        self.snapshot = self._dump()
        self.baseline_policies = __import__("copy").deepcopy(self.policies)
        self.sql = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)

    def _baseline_users(self) -> dict[str, dict[str, Any]]:
        users = {}
        for name, login, email, password, activate in (
            ("alice", "alice@example.com", "a.lee.home1@example.org", PASSWORD, True),
            ("nina", "nina@example.com", "nina.new7@example.org", None, False),
        ):
            profile = {
                "login": login,
                "email": email,
                "firstName": name.title(),
                "lastName": "Doe",
                "mobilePhone": PHONE,
            }
            credentials: dict[str, Any] = {}
            if password:
                credentials["password"] = {"value": password}
                credentials["recovery_question"] = {"question": QUESTION, "answer": ANSWER}
            body: dict[str, Any] = {"profile": profile}
            if credentials:
                body["credentials"] = credentials
            r = self.admin.post(f"/api/v1/users?activate={str(activate).lower()}", json=body)
            assert r.status_code == 200, r.get_json()
            users[name] = r.get_json()
        return users

    def _baseline_policies(self) -> dict[str, tuple[str, str]]:
        ids = {}
        for kind in ("PASSWORD", "MFA_ENROLL", "OKTA_SIGN_ON"):
            (policy,) = [
                p for p in self.admin.get(f"/api/v1/policies?type={kind}").get_json() if p["system"]
            ]
            (rule_,) = self.admin.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
            ids[kind] = (policy["id"], rule_["id"])
        self.put_password_policy(MPolicy())
        pid, rid = ids["PASSWORD"]
        rule_ = self.admin.get(f"/api/v1/policies/{pid}/rules/{rid}").get_json()
        rule_["actions"]["selfServiceUnlock"] = {"access": "ALLOW"}
        r = self.admin.put(f"/api/v1/policies/{pid}/rules/{rid}", json=rule_)
        assert r.status_code == 200, r.get_json()
        return ids

    # The admin's policy changes, through the Policies API.

    def _put_policy(self, kind: str, change: Callable[[dict[str, Any]], None]) -> None:
        pid, _ = self._ids(kind)
        if kind not in self.policies:
            self.policies[kind] = self.admin.get(f"/api/v1/policies/{pid}").get_json()
        policy = self.policies[kind]
        change(policy)
        r = self.admin.put(f"/api/v1/policies/{pid}", json=policy)
        assert r.status_code == 200, r.get_json()

    def _ids(self, kind: str) -> tuple[str, str]:
        if kind in self.policy_ids:
            return self.policy_ids[kind]
        (policy,) = [
            p for p in self.admin.get(f"/api/v1/policies?type={kind}").get_json() if p["system"]
        ]
        (rule_,) = self.admin.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
        return policy["id"], rule_["id"]

    def put_password_policy(self, model: MPolicy) -> None:
        def change(policy: dict[str, Any]) -> None:
            password = policy["settings"]["password"]
            password["age"].update(
                maxAgeDays=model.max_age_days, expireWarnDays=model.warn_days, historyCount=0
            )
            password["lockout"].update(maxAttempts=model.max_attempts, showLockoutFailures=True)
            policy["settings"]["recovery"]["factors"].update(
                okta_sms={"status": "ACTIVE"}, okta_call={"status": "ACTIVE"}
            )

        self._put_policy("PASSWORD", change)

    def put_enrollment(self, model: MPolicy) -> None:
        def change(policy: dict[str, Any]) -> None:
            policy["settings"]["factors"] = {
                key: {"enroll": {"self": value}} for key, value in model.enrollment.items()
            }

        self._put_policy("MFA_ENROLL", change)

    def put_sign_on(self, model: MPolicy) -> None:
        pid, rid = self.policy_ids["OKTA_SIGN_ON"]
        if "SIGN_ON_RULE" not in self.policies:
            self.policies["SIGN_ON_RULE"] = self.admin.get(
                f"/api/v1/policies/{pid}/rules/{rid}"
            ).get_json()
        rule_ = self.policies["SIGN_ON_RULE"]
        signon = rule_["actions"]["signon"]
        signon.update(requireFactor=model.require_factor, factorPromptMode=model.prompt_mode)
        signon["factorLifetime"] = 60
        r = self.admin.put(f"/api/v1/policies/{pid}/rules/{rid}", json=rule_)
        assert r.status_code == 200, r.get_json()

    # Restoring the baseline: rows back by truncation, Redis flushed, clock reset.

    def _tables(self, conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return [r[0] for r in rows]

    def _dump(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        conn = sqlite3.connect(self.db_path)
        try:
            snapshot = {}
            for table in self._tables(conn):
                cursor = conn.execute(f'SELECT * FROM "{table}"')
                columns = [d[0] for d in cursor.description]
                snapshot[table] = (columns, cursor.fetchall())
            return snapshot
        finally:
            conn.close()

    def restore(self) -> None:
        with self.ctx.stores.database.engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                (seen,) = raw.execute("SELECT version FROM policy_version").fetchone()
                for table, (columns, rows) in self.snapshot.items():
                    raw.execute(f'DELETE FROM "{table}"')
                    if rows:
                        marks = ", ".join("?" for _ in columns)
                        raw.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
                # A write that goes around the repository raises the policies'
                # version past any the server has seen, as the repository does.
                raw.execute("UPDATE policy_version SET version = ?", (seen + 1,))
                connection.commit()
            finally:
                raw.execute("PRAGMA foreign_keys=ON")
        self.ctx.stores.redis.flushall()
        self.sent.clear()
        self.clock.now = self.start
        self.policies = __import__("copy").deepcopy(self.baseline_policies)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    shm = Path("/dev/shm")
    base = (
        Path(__import__("tempfile").mkdtemp(dir=shm))
        if shm.is_dir()
        else tmp_path_factory.mktemp("authn-sm")
    )
    built = World(base)
    yield built
    built.ctx.stores.database.dispose()


# ---- the machine -------------------------------------------------------------------------


S = Status


class AuthnMachine(RuleBasedStateMachine):
    world: World
    sequences = 0
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        w.restore()
        type(self).sequences += 1
        self.clock = w.clock
        self.policy = MPolicy()
        self.users: dict[str, MUser] = {}
        for name, data in w.users.items():
            self.users[name] = MUser(
                name,
                data["id"],
                data["profile"]["login"],
                data["profile"]["email"],
                PASSWORD if name == "alice" else None,
                data["status"],
                self.clock() if name == "alice" else None,
            )
        self.tx: MTx | None = None
        self.dead_tokens: list[str] = []
        self.codes: dict[str, Code] = {}  # factor id -> the code it holds
        self.throttle: dict[tuple[str, str], datetime] = {}
        self.session_tokens: list[tuple[str, bool]] = []  # (token, used)
        self.recovery_tokens: list[tuple[str, str, bool]] = []  # (token, user, used)
        self.latest_recovery: dict[str, str] = {}  # user -> the token that must work
        self.unlock_tokens: set[str] = set()
        self.recovery_claims: dict[tuple[str, str], datetime] = {}
        self.activation_tokens: list[tuple[str, bool]] = []
        self.remembered: set[tuple[str, str]] = set()
        self.passwords = 0
        self.outbox_seen = 0

    # ---- plumbing ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def new_password(self) -> str:
        self.passwords += 1
        return f"Fresh-Pass-{self.passwords}x"

    def post(self, path: str, body: dict[str, Any], user: MUser | None = None) -> Any:
        type(self).steps += 1
        r = self.world.anon.post(f"/api/v1/authn{path}", json=body)
        assert r.status_code != 500, r.get_data(as_text=True)
        data = r.get_json() or {}
        if user is not None and data.get("status") != "SUCCESS":
            leaked = mask_failures(r.get_data(as_text=True), user)
            assert not leaked, f"{path} answered {data.get('status')} with {leaked}: {data}"
        return r

    def new_messages(self) -> list[Any]:
        """Messages sent since the last look, oldest first."""
        fresh = self.world.sent[self.outbox_seen :]
        self.outbox_seen = len(self.world.sent)
        return fresh

    def _note_sends(self) -> list[Any]:
        """Record the codes delivered since the last look (each to its factor)."""
        sent = self.new_messages()
        for message in sent:
            code = _code_of(message)
            factor = self._factor_for(message)
            if factor is not None and code is not None:
                self.codes[factor.id] = Code(code, self.now())
        return sent

    def _factor_for(self, message: Any) -> MFactor | None:
        # The factor a code was sent for is the one we just asked to send to.
        return self._sending

    _sending: MFactor | None = None

    def _send_expected(self, factor: MFactor) -> bool:
        """Whether a send to ``factor`` now passes the resend throttle."""
        key = (factor.kind.channel or "", self._destination(factor))
        last = self.throttle.get(key)
        return last is None or (self.now() - last).total_seconds() >= RESEND_AFTER

    def _destination(self, factor: MFactor) -> str:
        return "email" if factor.kind.channel == "email" else E164

    def _expect_send(self, factor: MFactor, r: Any) -> bool:
        """Check a call that sends a code; True if it was sent."""
        if self._send_expected(factor):
            assert r.status_code == 200, r.get_json()
            key = (factor.kind.channel or "", self._destination(factor))
            self.throttle[key] = self.now()
            self._sending = factor
            sent = self._note_sends()
            self._sending = None
            assert len(sent) == 1, sent
            return True
        assert r.status_code == 429, r.get_json()
        assert not self.new_messages()
        return False

    def _code_result(self, factor: MFactor, value: str) -> bool:
        """Apply a delivered-code check to the model as the store does; True if it passes."""
        code = self.codes.get(factor.id)
        if code is None:
            return False
        if (self.now() - code.sent_at).total_seconds() >= CODE_LIFETIME:
            return False
        if code.value == value:
            del self.codes[factor.id]
            return True
        code.wrong += 1
        if code.wrong >= CODE_MAX_ATTEMPTS:
            del self.codes[factor.id]
        return False

    def _wrong_code(self, factor: MFactor) -> str:
        code = self.codes.get(factor.id)
        return "000000" if code is None or code.value != "000000" else "111111"

    def _totp(self, factor: MFactor, mode: str) -> tuple[str, int | None]:
        """(code, step) for ``mode``: right (now), replay (an accepted step), wrong."""
        step = int(self.now().timestamp()) // 30
        if factor.secret is None:  # never shown to the client: no code can be known
            return "000000", None
        totp = pyotp.TOTP(factor.secret)
        if mode == "replay" and factor.used_steps:
            old = max(factor.used_steps)
            return totp.at(old * 30), old
        if mode == "wrong":
            wrong = "000000"
            for candidate in ("000000", "111111", "222222", "333333"):
                if all(totp.at((step + d) * 30) != candidate for d in (-1, 0, 1)):
                    wrong = candidate
                    break
            return wrong, None
        return totp.at(self.now()), step

    def _record_failure(self, user: MUser) -> bool:
        """One judged failure; True if it locked the user out."""
        user.failures += 1
        if self.policy.max_attempts and user.failures >= self.policy.max_attempts:
            user.failures = 0
            if user.status in ("ACTIVE", "PASSWORD_EXPIRED"):
                user.status = "LOCKED_OUT"
            return True
        return False

    def _beyond_limit(self, user: MUser) -> bool:
        """An attempt takes a slot before it is judged; one past ``maxAttempts``
        (possible once an admin lowered it) is judged not at all: it locks the
        user (and the count starts again), or, for a user who cannot be locked,
        stays counted. True if the attempt was refused so."""
        maximum = self.policy.max_attempts
        if not maximum or user.failures + 1 <= maximum:
            return False
        if user.status in ("ACTIVE", "PASSWORD_EXPIRED"):
            user.status, user.failures = "LOCKED_OUT", 0
        else:
            user.failures += 1
        return True

    def _kill(self, tx: MTx) -> None:
        if tx.token:
            self.dead_tokens.append(tx.token)
        if self.tx is tx:
            self.tx = None

    # ---- the reference: which status a transaction must be in ------------------------

    def _password_expired(self, user: MUser) -> bool:
        if user.status == "PASSWORD_EXPIRED":
            return True
        return (
            bool(self.policy.max_age_days)
            and self._days_left(user) is not None
            and ((self._days_left(user) or 0) < 0)
        )

    def _days_left(self, user: MUser) -> int | None:
        if not self.policy.max_age_days or user.password_changed is None:
            return None
        remaining = user.password_changed + timedelta(days=self.policy.max_age_days) - self.now()
        return remaining.days if remaining.total_seconds() >= 0 else -1

    def _question_required(self, tx: MTx) -> bool:
        return tx.kind != "activation" and tx.user.name == "alice"

    def _recovery_counts_as_factor(self, tx: MTx) -> bool:
        """May the recovery's own proof count as the MFA factor? An SMS or call
        code sent to an active factor may; an e-mailed link only with an active
        e-mail factor."""
        if tx.kind != "recovery":
            return False
        if tx.recovery_channel in ("SMS", "CALL"):
            factor = tx.user.factors.get(tx.recovery_factor or "")
            return factor is not None and factor.active
        if tx.recovery_channel == "EMAIL":
            return any(f.kind.key == "okta_email" for f in tx.user.active())
        return False

    def expected_statuses(self, tx: MTx) -> set[str]:
        if tx.recovery_type is not None and not tx.reset_done:
            if not tx.recovery_verified:
                return {S.RECOVERY_CHALLENGE}
            if self._question_required(tx) and not tx.answered:
                return {S.RECOVERY}
            if tx.recovery_type == "PASSWORD":
                return {S.PASSWORD_RESET}
            return {S.SUCCESS}  # unlocked: the user signs in afresh
        statuses = {self._next(tx, tx.mfa_verified)}
        if tx.reset_done and not tx.mfa_verified and self._recovery_counts_as_factor(tx):
            statuses.add(self._next(tx, True))
        return statuses

    def _next(self, tx: MTx, verified: bool) -> str:
        user, policy = tx.user, self.policy
        if user.status == "LOCKED_OUT":
            return S.LOCKED_OUT
        if self._password_expired(user):
            return S.PASSWORD_EXPIRED
        days = self._days_left(user)
        if (
            tx.warn_requested
            and not tx.warn_skipped
            and days is not None
            and policy.warn_days > 0
            and days <= policy.warn_days
        ):
            return S.PASSWORD_WARN
        if tx.enrolling is not None:
            return S.MFA_ENROLL_ACTIVATE
        active = user.active()
        active_keys = {f.kind.key for f in active} | {
            user.factors[i].kind.key for i in tx.enrolled if i in user.factors
        }
        mfa_required = policy.require_factor and not tx.mfa_waived
        required_missing = any(
            value == "REQUIRED" and key not in active_keys
            for key, value in policy.enrollment.items()
        )
        optional = any(
            value == "OPTIONAL" and key not in active_keys
            for key, value in policy.enrollment.items()
        )
        enrol = (
            required_missing
            or (mfa_required and not active and not verified)
            or (tx.multi and optional and not tx.enroll_skipped)
        )
        mfa = S.MFA_CHALLENGE if tx.challenged else S.MFA_REQUIRED
        if enrol and active and not verified:
            return mfa  # a user with a factor proves it before enrolling another
        if enrol:
            return S.MFA_ENROLL
        if mfa_required and not verified:
            return mfa
        return S.SUCCESS

    def _verification_due(self, tx: MTx) -> bool:
        """The user has an active factor (not one enrolled in this flow) and
        must prove one: MFA is required, or an enrolment is due."""
        user, policy = tx.user, self.policy
        if tx.mfa_verified or not user.active():
            return False
        active_keys = {f.kind.key for f in user.active()} | {
            user.factors[i].kind.key for i in tx.enrolled if i in user.factors
        }
        required_missing = any(
            v == "REQUIRED" and k not in active_keys for k, v in policy.enrollment.items()
        )
        optional = any(
            v == "OPTIONAL" and k not in active_keys for k, v in policy.enrollment.items()
        )
        mfa_required = policy.require_factor and not tx.mfa_waived
        return mfa_required or required_missing or (tx.multi and optional and not tx.enroll_skipped)

    def _skippable(self, tx: MTx) -> bool:
        active_keys = {f.kind.key for f in tx.user.active()} | {
            tx.user.factors[i].kind.key for i in tx.enrolled if i in tx.user.factors
        }
        required_missing = any(
            v == "REQUIRED" and k not in active_keys for k, v in self.policy.enrollment.items()
        )
        no_factor = self.policy.require_factor and not tx.user.active() and not tx.mfa_verified
        return not required_missing and not no_factor

    # ---- the checks of one answer ------------------------------------------------------

    def _answered(self, tx: MTx, r: Any, *, allowed: set[str] | None = None) -> None:
        """``r`` advanced ``tx``: its status must be the model's."""
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        expected = allowed if allowed is not None else self.expected_statuses(tx)
        status = body["status"]
        assert status in expected, f"answered {status}, the model expects {sorted(expected)}"
        if status == S.SUCCESS:
            self._success(tx, body)
            return
        if tx.reset_done and status in (S.MFA_REQUIRED, S.MFA_CHALLENGE, S.MFA_ENROLL):
            pass  # the recovery did not count as the factor: MFA follows
        tx.status = status
        tx.token = body.get("stateToken", tx.token)
        assert tx.token, body
        tx.expires_at = self.now() + timedelta(seconds=STATE_TTL)
        if status == S.LOCKED_OUT:
            return
        if status == S.MFA_ENROLL:
            assert not (tx.user.active() and not tx.mfa_verified), (
                "a user with an active factor was offered enrolment before verifying one"
            )
            assert ("skip" in body.get("_links", {})) == self._skippable(tx), body.get("_links")

    def _success(self, tx: MTx, body: dict[str, Any]) -> None:
        user = tx.user
        self._kill(tx)
        if tx.recovery_type == "UNLOCK" and not tx.reset_done:
            assert "sessionToken" not in body
            user.status, user.failures = "ACTIVE", 0
            return
        assert "sessionToken" in body, body
        assert user.status != "LOCKED_OUT", "a locked user reached SUCCESS"
        user.failures = 0
        for fid in tx.enrolled:  # what the transaction enrolled is active only now
            if fid in user.factors:
                user.factors[fid].active = True
        proven = tx.kind == "primary" or tx.reset_done
        assert proven, "a sessionToken without a proven password, recovery or activation"
        if self.policy.require_factor and not tx.mfa_waived:
            prior = tx.verified_prior or (tx.reset_done and self._recovery_counts_as_factor(tx))
            first = tx.first_enrolled
            assert prior or first, (
                "SUCCESS under requireFactor without verifying an active factor, or "
                "enrolling a first one"
            )
        if (
            tx.remember
            and tx.device
            and tx.mfa_verified
            and self.policy.prompt_mode == "DEVICE"
            and self.policy.require_factor
        ):
            self.remembered.add((user.id, tx.device))
        self.session_tokens.append((body["sessionToken"], False))

    def _refused(self, r: Any, status: int, code: str) -> None:
        body = r.get_json()
        # A replayed TOTP code is refused as E0000082 or, like any wrong code, E0000068.
        codes = {code, "E0000068"} if code == "E0000082" else {code}
        assert r.status_code == status and body.get("errorCode") in codes, (r.status_code, body)

    def _mark_verified(self, tx: MTx, factor: MFactor, *, enrolled: bool = False) -> None:
        """A factor proven in ``tx``. One enrolled in it counts as the MFA only
        as a first factor: when the user has no other active factor now (one
        an admin added meanwhile must be proven like any other)."""
        if enrolled:
            others = [f for f in tx.user.active() if f.id not in tx.enrolled]
            if others or tx.mfa_verified:
                return
            tx.first_enrolled = True
        else:
            tx.verified_prior = True  # an active factor not enrolled in the flow
        tx.mfa_verified = True
        tx.challenged = None
        tx.webauthn_challenge = None

    # ---- calls on the open transaction ------------------------------------------------

    def _on_tx(self, action: Action, path: str, body: dict[str, Any]) -> tuple[MTx, Any] | None:
        """Send a call on the open transaction; None when the answer needs no more
        checking (a refusal the model predicted), else (tx, response)."""
        tx = self.tx
        assert tx is not None and tx.token is not None
        r = self.post(path, {"stateToken": tx.token, **body}, tx.user)
        if self.now() >= tx.expires_at:
            self._refused(r, 401, "E0000011")
            self._kill(tx)
            return None
        if action not in ALLOWED[Status(tx.status)]:
            self._refused(r, 403, "E0000079")
            return None
        if not tx.decoy and tx.user.status in ("SUSPENDED",):
            self._refused(r, 401, "E0000011")
            return None
        if self._locked_out_of(tx):
            self._dead_answer(tx, r)
            return None
        return tx, r

    def _locked_out_of(self, tx: MTx) -> bool:
        """A lock ends the user's sign-in transactions opened before it; a
        recovery lives on until its new password is set."""
        recovering = tx.recovery_type is not None and not tx.reset_done
        return not tx.decoy and not recovering and tx.user.status == "LOCKED_OUT"

    def _dead_answer(self, tx: MTx, r: Any) -> None:
        """The answer on an ended sign-in transaction of a locked user: LOCKED_OUT
        (the policy shows lockouts), with no stateToken to go on with."""
        body = r.get_json()
        assert r.status_code == 200 and body["status"] == S.LOCKED_OUT, body
        assert "stateToken" not in body, body
        self._kill(tx)

    def has_tx(self) -> bool:
        return self.tx is not None and self.tx.token is not None

    def _factor_ids(self, tx: MTx, key: str) -> MFactor | None:
        kind = BY_KEY[key]
        return tx.user.active_of(kind)

    # ---- rules: primary authentication ------------------------------------------------

    @rule(
        who=st.sampled_from(["alice", "nina"]),
        right=st.booleans(),
        warn=st.booleans(),
        multi=st.booleans(),
        device=st.sampled_from([None, "laptop-1", "phone-2"]),
    )
    def sign_in(self, who: str, right: bool, warn: bool, multi: bool, device: str | None) -> None:
        user = self.users[who]
        password = user.password if right and user.password else "Wrong-Password-9"
        body: dict[str, Any] = {
            "username": user.login,
            "password": password,
            "options": {"warnBeforePasswordExpired": warn, "multiOptionalFactorEnroll": multi},
        }
        if device:
            body["context"] = {"deviceToken": device}
        r = self.post("", body, user)
        if user.status not in ("ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT") or not user.password:
            self._refused(r, 401, "E0000004")
            return
        correct = password == user.password
        if user.status != "LOCKED_OUT" and self._beyond_limit(user):
            assert r.status_code == 200 and r.get_json()["status"] == S.LOCKED_OUT, r.get_json()
            return
        if not correct:
            if user.status == "LOCKED_OUT" or self._record_failure(user):
                assert r.status_code == 200 and r.get_json()["status"] == S.LOCKED_OUT
            else:
                self._refused(r, 401, "E0000004")
            return
        if user.status == "LOCKED_OUT":
            assert r.status_code == 200 and r.get_json()["status"] == S.LOCKED_OUT, r.get_json()
            return
        # A right password gives back its own slot; the count of earlier
        # failures stands until SUCCESS or a proven factor.
        tx = MTx(
            None,
            user,
            S.UNAUTHENTICATED,
            self.now(),
            "primary",
            warn_requested=warn,
            multi=multi,
            device=device,
        )
        expected = self.expected_statuses(tx)
        if (
            device
            and (user.id, device) in self.remembered
            and self.policy.require_factor
            and self.policy.prompt_mode == "DEVICE"
        ):
            tx.mfa_waived = True
            waived = self.expected_statuses(tx)
            tx.mfa_waived = False
            status = r.get_json().get("status")
            if status not in expected and status in waived:
                tx.mfa_waived = True
            expected |= waived
        self.tx = tx
        self._answered(tx, r, allowed=expected)

    # ---- rules: the open transaction -----------------------------------------------------

    @precondition(has_tx)
    @rule()
    def read(self) -> None:
        tx = self.tx
        assert tx is not None
        r = self.post("", {"stateToken": tx.token}, tx.user)
        if self.now() >= tx.expires_at:
            self._refused(r, 401, "E0000011")
            self._kill(tx)
            return
        if not tx.decoy and tx.user.status == "SUSPENDED":
            self._refused(r, 401, "E0000011")
            return
        if self._locked_out_of(tx):
            self._dead_answer(tx, r)
            return
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["status"] == tx.status, (r.get_json()["status"], tx.status)

    @precondition(has_tx)
    @rule()
    def cancel(self) -> None:
        got = self._on_tx(Action.CANCEL, "/cancel", {})
        if got is None:
            return
        tx, r = got
        assert r.status_code == 200 and r.get_json()["status"] == S.UNAUTHENTICATED, r.get_json()
        self._kill(tx)

    @precondition(has_tx)
    @rule()
    def skip(self) -> None:
        got = self._on_tx(Action.SKIP, "/skip", {})
        if got is None:
            return
        tx, r = got
        if tx.status == S.PASSWORD_WARN:
            tx.warn_skipped = True
        elif not self._skippable(tx):
            self._refused(r, 403, "E0000079")
            return
        else:
            tx.enroll_skipped = True
        self._answered(tx, r)

    @precondition(has_tx)
    @rule()
    def previous(self) -> None:
        got = self._on_tx(Action.PREVIOUS, "/previous", {})
        if got is None:
            return
        tx, r = got
        if tx.status == S.MFA_ENROLL_ACTIVATE:
            pending = tx.user.factors.get(tx.enrolling or "")
            if pending is not None and not pending.active:
                del tx.user.factors[pending.id]
            tx.enrolling = None
        else:
            tx.challenged = None
        tx.webauthn_challenge = None
        self._answered(tx, r)

    @precondition(has_tx)
    @rule(key=KIND_KEYS)
    def enroll(self, key: str) -> None:
        kind = BY_KEY[key]
        profile: dict[str, Any] = {}
        if kind.channel in ("sms", "call"):
            profile = {"phoneNumber": PHONE}
        elif kind.factor_type == "question":
            profile = {"question": QUESTION, "answer": ANSWER}
        got = self._on_tx(
            Action.ENROLL_FACTOR,
            "/factors",
            {"factorType": kind.factor_type, "provider": kind.provider, "profile": profile},
        )
        if got is None:
            return
        tx, r = got
        user = tx.user
        if self._verification_due(tx):  # a factor given meanwhile: proven first
            self._refused(r, 403, "E0000079")
            return
        if self.policy.enrollment[key] == "NOT_ALLOWED":
            self._refused(r, 400, "E0000001")
            return
        if user.active_of(kind) is not None and not kind.webauthn:  # one per authenticator
            assert r.status_code in (400, 403), r.get_json()
            return
        if kind.channel and not self._send_expected(MFactor("", kind)):
            assert r.status_code in (400, 429), r.get_json()
            self.new_messages()
            self._resync_pending(user)
            return
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        if kind.factor_type == "question":
            factor = self._resync_pending(user, active_kind=kind)
            tx.enrolled.append(factor.id)
            self._mark_verified(tx, factor, enrolled=True)
            self._answered(tx, r)
            return
        # The answer shows the factor only in MFA_ENROLL_ACTIVATE (an admin may have
        # expired the password meanwhile): else the pending factor is read from the database.
        embedded = body.get("_embedded", {}).get("factor")
        user.factors = {i: f for i, f in user.factors.items() if f.active or f.kind != kind}
        if embedded is None:
            self._resync_pending(user)
            pending = [f for f in user.factors.values() if f.kind == kind and not f.active]
            factor = pending[-1]
        else:
            factor = MFactor(embedded["id"], kind)
            user.factors[factor.id] = factor
        if kind.totp and embedded is not None:
            factor.secret = embedded["_embedded"]["activation"]["sharedSecret"]
        if kind.webauthn:
            WEBAUTHN_SEEN["enrolled in a flow"] += 1
            factor.key = SoftAuthenticator(RP_ID, ORIGIN)
            tx.webauthn_challenge = (
                embedded["_embedded"]["activation"]["challenge"] if embedded else None
            )
        if kind.channel:
            key_ = (kind.channel, self._destination(factor))
            self.throttle[key_] = self.now()
            self._sending = factor
            self._note_sends()
            self._sending = None
        tx.enrolling = factor.id
        self._answered(tx, r)

    def _resync_pending(self, user: MUser, active_kind: Kind | None = None) -> MFactor:
        """Pending factors are not a guarantee: take them from the database. With
        ``active_kind``, the factor of that kind just made active (a question)."""
        found: MFactor | None = None
        with self.world.ctx.stores.unit_of_work() as uow:
            rows = uow.factors.for_user(user.id)
        for row in rows:
            kind = next(
                k for k in KINDS if (k.factor_type, k.provider) == (row.factor_type, row.provider)
            )
            if row.id not in user.factors:
                user.factors[row.id] = MFactor(row.id, kind, active=False)
            if active_kind is not None and kind == active_kind and not row.active:
                found = user.factors[row.id]
        if active_kind is not None:
            found = found or next(
                (f for f in reversed(list(user.factors.values())) if f.kind == active_kind), None
            )
            assert found is not None, "the enrolled question is not in the database"
            return found
        return MFactor("", KINDS[0])

    @precondition(has_tx)
    @rule(mode=st.sampled_from(["right", "wrong", "replay"]))
    def activate(self, mode: str) -> None:
        tx = self.tx
        assert tx is not None
        factor = tx.user.factors.get(tx.enrolling or "")
        if factor is None:
            factor = next(iter(tx.user.factors.values()), None)
        if factor is None:
            return
        body: dict[str, Any]
        code, step = "", None
        if factor.kind.webauthn:
            key = factor.key or SoftAuthenticator(RP_ID, ORIGIN)
            right = mode == "right" and tx.webauthn_challenge is not None
            body = key.create(tx.webauthn_challenge if right else _random_challenge())
        elif factor.kind.totp:
            code, step = self._totp(factor, mode)
            body = {"passCode": code}
        else:
            stored = self.codes.get(factor.id)
            code = stored.value if stored and mode == "right" else self._wrong_code(factor)
            body = {"passCode": code}
        got = self._on_tx(Action.ACTIVATE_FACTOR, f"/factors/{factor.id}/lifecycle/activate", body)
        if got is None:
            return
        tx, r = got
        if factor.id != tx.enrolling:
            self._refused(r, 403, "E0000079")
            return
        if factor.kind.webauthn:
            if not right:  # another challenge, or none held: nothing changes
                self._refused(r, 403, "E0000068")
                WEBAUTHN_SEEN["registration refused"] += 1
                return
            WEBAUTHN_SEEN["registered in a flow"] += 1
            tx.webauthn_challenge = None
        elif factor.kind.totp:
            ok = step is not None and step > factor.last_step
            if not ok:
                self._refused(r, 403, "E0000082" if step is not None else "E0000068")
                return
            factor.last_step = step or 0
            factor.used_steps.add(step or 0)
        elif not self._code_result(factor, code):
            self._refused(r, 403, "E0000068")
            return
        tx.enrolled.append(factor.id)
        tx.enrolling = None
        self._mark_verified(tx, factor, enrolled=True)
        self._answered(tx, r)

    @precondition(has_tx)
    @rule()
    def resend_activation(self) -> None:
        tx = self.tx
        assert tx is not None
        factor = tx.user.factors.get(tx.enrolling or "")
        fid = factor.id if factor else "smsNotAFactor00000000"
        got = self._on_tx(Action.RESEND_ACTIVATION, f"/factors/{fid}/lifecycle/resend", {})
        if got is None:
            return
        tx, r = got
        if factor is None:
            self._refused(r, 403, "E0000079")
            return
        if factor.kind.channel is None:
            assert r.status_code == 400, r.get_json()
            return
        if self._expect_send(factor, r):
            self._answered(tx, r)

    @precondition(has_tx)
    @rule(
        key=KIND_KEYS,
        mode=st.sampled_from(["right", "wrong", "replay", "send"]),
        remember=st.sampled_from([None, True, False]),
    )
    def verify(self, key: str, mode: str, remember: bool | None) -> None:
        tx = self.tx
        assert tx is not None
        kind = BY_KEY[key]
        factor = tx.user.active_of(kind) or next(
            (f for f in tx.user.factors.values() if f.kind == kind), None
        )
        if (
            kind.webauthn
            and factor is not None
            and factor.active
            and mode == "right"
            and tx.webauthn_challenge is None
        ):
            # As a browser does in one user action: ask for a challenge, then sign it.
            self.verify(key, "send", None)
            if self.tx is not tx or tx.token is None or tx.webauthn_challenge is None:
                return
        fid = factor.id if factor else "ostNotAFactor0000000"
        body: dict[str, Any] = {}
        step = None
        if factor is not None and kind.factor_type == "question":
            body["answer"] = ANSWER if mode == "right" else "Wrong Answer Here"
        elif factor is not None and kind.totp and factor.secret:
            body["passCode"], step = self._totp(factor, "wrong" if mode == "send" else mode)
        elif factor is not None and kind.channel and mode != "send":
            stored = self.codes.get(factor.id)
            body["passCode"] = (
                stored.value if stored and mode == "right" else self._wrong_code(factor)
            )
        signed: bool | None = None  # WebAuthn: whether the answer should verify
        if factor is not None and kind.webauthn and mode != "send":
            key = factor.key or SoftAuthenticator(RP_ID, ORIGIN)  # None: a stranger's key
            challenge = tx.webauthn_challenge
            if mode == "wrong" or challenge is None:
                body.update(key.get(_random_challenge()))
                signed = False
            else:  # right; replay: a clone whose counter did not move
                body.update(key.get(challenge, step=1 if mode == "right" else 0))
                grew = key.counter > factor.sign_count or key.counter == factor.sign_count == 0
                signed = factor.key is not None and grew
        if remember is not None:
            body["rememberDevice"] = remember
        got = self._on_tx(Action.VERIFY_FACTOR, f"/factors/{fid}/verify", body)
        if got is None:
            return
        tx, r = got
        guess = bool(body.get("passCode") or body.get("answer") or body.get("signatureData"))
        if guess and self._beyond_limit(tx.user):
            self._dead_answer(tx, r)
            return
        if factor is None or not factor.active:
            self._refused(r, 404, "E0000007")
            return
        if remember is not None:
            tx.remember = remember
        if kind.channel and "passCode" not in body:
            if self._expect_send(factor, r):
                tx.challenged = factor.id
                self._answered(tx, r)
            return
        if kind.webauthn and signed is None:  # a challenge to sign, bound to the transaction
            tx.challenged = factor.id
            self._answered(tx, r)
            answer = r.get_json()
            if answer["status"] == S.MFA_CHALLENGE:
                tx.webauthn_challenge = answer["_embedded"]["factor"]["_embedded"]["challenge"][
                    "challenge"
                ]
                WEBAUTHN_SEEN["challenged"] += 1
            else:  # e.g. the password expired meanwhile: the challenge is the server's alone
                tx.webauthn_challenge = None
            return
        if kind.webauthn:
            ok = bool(signed)
        elif kind.factor_type == "question":
            ok = mode == "right"
        elif kind.totp:
            ok = step is not None and step > factor.last_step
        else:
            ok = self._code_result(factor, body["passCode"])
        if not ok:
            if kind.webauthn:
                WEBAUTHN_SEEN["clone refused" if mode == "replay" else "assertion refused"] += 1
            self._factor_failed(tx, r, "E0000082" if kind.totp and step is not None else "E0000068")
            return
        if kind.totp and step is not None:
            factor.last_step = step
            factor.used_steps.add(step)
        if kind.webauthn and factor.key is not None:
            factor.sign_count = factor.key.counter
            WEBAUTHN_SEEN["verified" if mode == "right" else "verified, counter 0"] += 1
        tx.user.failures = 0
        self._mark_verified(tx, factor)
        self._answered(tx, r)

    # WebAuthn has rules of its own as well: drawn among seven kinds, its
    # three-step ceremonies (enrol, register; challenge, sign) were too rare.

    @precondition(has_tx)
    @rule()
    def enroll_passkey(self) -> None:
        self.enroll("fido_webauthn")

    @precondition(has_tx)
    @rule(mode=st.sampled_from(["right", "wrong", "replay", "send"]))
    def verify_passkey(self, mode: str) -> None:
        self.verify("fido_webauthn", mode, None)

    def _factor_failed(self, tx: MTx, r: Any, code: str) -> None:
        if self._record_failure(tx.user):
            self._refused(r, 403, "E0000069")
            self._kill(tx)
        else:
            self._refused(r, 403, code)

    @precondition(has_tx)
    @rule()
    def resend_challenge(self) -> None:
        tx = self.tx
        assert tx is not None
        factor = tx.user.factors.get(tx.challenged or "")
        fid = factor.id if factor else "smsNotAFactor00000000"
        got = self._on_tx(Action.RESEND_CHALLENGE, f"/factors/{fid}/verify/resend", {})
        if got is None:
            return
        tx, r = got
        if factor is None:
            self._refused(r, 403, "E0000079")
            return
        if self._expect_send(factor, r):
            self._answered(tx, r)

    @precondition(has_tx)
    @rule(right=st.booleans())
    def change_password(self, right: bool) -> None:
        tx = self.tx
        assert tx is not None
        user = tx.user
        old = user.password if right and user.password else "Wrong-Password-9"
        new = self.new_password()
        got = self._on_tx(
            Action.CHANGE_PASSWORD,
            "/credentials/change_password",
            {"oldPassword": old, "newPassword": new},
        )
        if got is None:
            return
        tx, r = got
        if old != user.password:
            self._refused(r, 403, "E0000014")
            return
        user.password, user.password_changed = new, self.now()
        self.latest_recovery.pop(user.name, None)
        if user.status == "PASSWORD_EXPIRED":
            user.status = "ACTIVE"
        self._answered(tx, r)

    @precondition(has_tx)
    @rule()
    def reset_password(self) -> None:
        new = self.new_password()
        got = self._on_tx(
            Action.RESET_PASSWORD, "/credentials/reset_password", {"newPassword": new}
        )
        if got is None:
            return
        tx, r = got
        user = tx.user
        user.password, user.password_changed = new, self.now()
        user.status, user.failures = "ACTIVE", 0
        self.latest_recovery.pop(user.name, None)
        tx.reset_done = True
        self._answered(tx, r)

    # ---- rules: recovery -------------------------------------------------------------------

    @rule(
        who=st.sampled_from(["alice", "nina"]),
        recovery=st.sampled_from(["PASSWORD", "UNLOCK"]),
        channel=st.sampled_from(["SMS", "CALL", "EMAIL"]),
    )
    def start_recovery(self, who: str, recovery: str, channel: str) -> None:
        user = self.users[who]
        path = "/recovery/password" if recovery == "PASSWORD" else "/recovery/unlock"
        self.new_messages()
        if recovery == "PASSWORD":
            eligible = user.status in ("ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY")
        else:
            eligible = user.status == "LOCKED_OUT"
        factor = None
        if eligible and channel != "EMAIL":
            wanted = "okta_sms" if channel == "SMS" else "okta_call"
            factor = next((f for f in user.active() if f.kind.key == wanted), None)
        # One recovery send per username and channel each RESEND_AFTER seconds,
        # whoever the username is (the same 429 for everyone).
        claim = (channel, user.login)
        last = self.recovery_claims.get(claim)
        r = self.post(path, {"username": user.login, "factorType": channel}, user)
        if last is not None and (self.now() - last).total_seconds() < RESEND_AFTER:
            assert r.status_code == 429, r.get_json()
            return
        self.recovery_claims[claim] = self.now()
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["status"] == S.RECOVERY_CHALLENGE, body
        sent = self.new_messages()
        if channel == "EMAIL":
            assert "stateToken" not in body
            if eligible:
                (message,) = sent
                match = re.search(
                    r"/signin/(reset-password|unlock)/([A-Za-z0-9_\-]+)", message.body
                )
                assert match, message.body
                self.recovery_tokens.append((match.group(2), who, False))
                self.latest_recovery[who] = match.group(2)
                if match.group(1) == "unlock":
                    self.unlock_tokens.add(match.group(2))
            else:
                assert not sent
            return
        tx = MTx(
            body["stateToken"],
            user,
            S.RECOVERY_CHALLENGE,
            self.now() + timedelta(seconds=STATE_TTL),
            "recovery",
            recovery_type=recovery,
            recovery_channel=channel,
            recovery_factor=factor.id if factor else None,
            decoy=factor is None,
            resend_claimed=self.now(),  # a resend right away waits, for a decoy too
        )
        if factor is not None and self._send_expected(factor):
            assert len(sent) == 1, sent
            self.throttle[(factor.kind.channel or "", E164)] = self.now()
            code = _code_of(sent[0])
            assert code is not None
            self.codes[factor.id] = Code(code, self.now())
        else:  # a decoy, or the factor's own throttle: nothing (re)sent, not shown
            assert not sent, sent
        self.tx = tx

    @precondition(has_tx)
    @rule(right=st.booleans())
    def recovery_verify(self, right: bool) -> None:
        tx = self.tx
        assert tx is not None
        channel = tx.recovery_channel or "SMS"
        factor = tx.user.factors.get(tx.recovery_factor or "")
        stored = self.codes.get(factor.id) if factor else None
        code = stored.value if stored and right else "000000"
        got = self._on_tx(
            Action.RECOVERY_VERIFY, f"/recovery/factors/{channel}/verify", {"passCode": code}
        )
        if got is None:
            return
        tx, r = got
        if tx.decoy:
            self._refused(r, 403, "E0000068")
            return
        if tx.recovery_factor is None or tx.recovery_channel not in ("SMS", "CALL"):
            self._refused(r, 403, "E0000079")
            return
        if factor is None or not factor.active:
            self._refused(r, 404, "E0000007")
            return
        if not self._code_result(factor, code):
            self._factor_failed(tx, r, "E0000068")
            return
        tx.recovery_verified = True
        tx.user.failures = 0
        self._answered(tx, r)

    @precondition(has_tx)
    @rule()
    def recovery_resend(self) -> None:
        tx = self.tx
        assert tx is not None and tx.token is not None
        channel = tx.recovery_channel or "SMS"
        r = self.post(f"/recovery/factors/{channel}/resend", {"stateToken": tx.token}, tx.user)
        if self.now() >= tx.expires_at:
            self._refused(r, 401, "E0000011")
            self._kill(tx)
            return
        if Action.RECOVERY_RESEND not in ALLOWED[Status(tx.status)]:
            self._refused(r, 403, "E0000079")
            return
        # One send per transaction each RESEND_AFTER seconds, claimed before
        # anything about the user is read: a decoy waits exactly as a real one.
        claimed = tx.resend_claimed
        if claimed is not None and (self.now() - claimed).total_seconds() < RESEND_AFTER:
            self._refused(r, 429, "E0000109" if channel == "SMS" else "E0000113")
            return
        tx.resend_claimed = self.now()
        if tx.decoy:  # never sends
            assert not self.new_messages()
            self._answered(tx, r, allowed={tx.status})
            return
        if tx.user.status == "SUSPENDED":
            self._refused(r, 401, "E0000011")
            return
        factor = tx.user.factors.get(tx.recovery_factor or "")
        if tx.recovery_factor is None:
            self._refused(r, 403, "E0000079")
            return
        if factor is None or not factor.active:
            self._refused(r, 404, "E0000007")
            return
        # The destination's own throttle (a sign-in sent to it moments ago)
        # holds the code back silently: a decoy could not show it.
        assert r.status_code == 200, r.get_json()
        expected = self._send_expected(factor)
        sent = self.new_messages()
        assert len(sent) == (1 if expected else 0), sent
        if sent:
            self.throttle[(factor.kind.channel or "", E164)] = self.now()
            self.codes[factor.id] = Code(_code_of(sent[-1]) or "", self.now())
        self._answered(tx, r, allowed={tx.status})

    @precondition(has_tx)
    @rule(right=st.booleans())
    def recovery_answer(self, right: bool) -> None:
        got = self._on_tx(
            Action.RECOVERY_ANSWER, "/recovery/answer", {"answer": ANSWER if right else "Nope Nope"}
        )
        if got is None:
            return
        tx, r = got
        if self._beyond_limit(tx.user):  # refused unjudged, as the last guess was
            self._kill(tx)
            self._refused(r, 403, "E0000087")
            return
        if not right:
            if self._record_failure(tx.user):
                self._kill(tx)
            self._refused(r, 403, "E0000087")
            return
        tx.answered = True
        self._answered(tx, r)

    @rule(latest=st.booleans())
    def use_recovery_token(self, latest: bool) -> None:
        """The e-mailed link's token (the newest, or one already used)."""
        if not self.recovery_tokens:
            return
        used = [t for t in self.recovery_tokens if t[2]]
        if latest or not used:
            token, who, was_used = self.recovery_tokens[-1]
        else:
            token, who, was_used = used[-1]
        user = self.users[who]
        r = self.post("/recovery/token", {"recoveryToken": token}, user)
        self.recovery_tokens = [(t, w, u or t == token) for t, w, u in self.recovery_tokens]
        valid = (
            not was_used
            and self.latest_recovery.get(who) == token
            and user.status not in ("SUSPENDED", "STAGED", "PROVISIONED")
        )
        if not valid:
            if was_used:
                self._refused(r, 401, "E0000011")
            return  # a superseded token may or may not still work
        assert r.status_code == 200, r.get_json()
        unlock = token in self.unlock_tokens
        tx = MTx(
            None,
            user,
            S.UNAUTHENTICATED,
            self.now(),
            "recovery",
            recovery_type="UNLOCK" if unlock else "PASSWORD",
            recovery_channel="EMAIL",
            recovery_verified=True,
        )
        self.tx = tx
        self._answered(tx, r)

    # ---- rules: activation -------------------------------------------------------------

    @rule(replay=st.booleans())
    def activate_new_user(self, replay: bool) -> None:
        nina = self.users["nina"]
        if replay and self.activation_tokens:
            token = self.activation_tokens[-1][0]
            r = self.post("", {"token": token}, nina)
            self._refused(r, 401, "E0000004")
            return
        if nina.status != "STAGED":
            return
        r = self.world.admin.post(f"/api/v1/users/{nina.id}/lifecycle/activate?sendEmail=false")
        assert r.status_code == 200, r.get_json()
        token = r.get_json()["activationToken"]
        nina.status = "PROVISIONED"
        self.activation_tokens.append((token, True))
        r = self.post("", {"token": token}, nina)
        tx = MTx(
            None,
            nina,
            S.UNAUTHENTICATED,
            self.now(),
            "activation",
            recovery_type="PASSWORD",
            recovery_verified=True,
        )
        self.tx = tx
        self._answered(tx, r)

    # ---- rules: the one-time tokens ----------------------------------------------------

    @precondition(lambda self: bool(self.dead_tokens))
    @rule(
        index=st.integers(min_value=0, max_value=3),
        action=st.sampled_from(["read", "skip", "cancel", "previous"]),
    )
    def replay_dead_state_token(self, index: int, action: str) -> None:
        token = self.dead_tokens[-1 - index % len(self.dead_tokens)]
        path = "" if action == "read" else f"/{action}"
        r = self.post(path, {"stateToken": token}, self.users["alice"])
        self._refused(r, 401, "E0000011")

    @precondition(lambda self: bool(self.session_tokens))
    @rule(cookie=st.booleans(), reuse=st.booleans())
    def exchange_session_token(self, cookie: bool, reuse: bool) -> None:
        candidates = [t for t in self.session_tokens if t[1] == reuse] or self.session_tokens
        token, used = candidates[-1]
        type(self).steps += 1
        if cookie:
            r = self.world.anon.get(
                f"/login/sessionCookieRedirect?token={token}&redirectUrl=http://portcullis.test/app"
            )
            worked = r.status_code == 302
        else:
            r = self.world.admin.post("/api/v1/sessions", json={"sessionToken": token})
            worked = r.status_code == 200
        assert r.status_code != 500
        if used:
            assert not worked, "a used sessionToken worked again"
        self.session_tokens = [(t, u or t == token) for t, u in self.session_tokens]

    # ---- rules: the admin ----------------------------------------------------------------

    @initialize(
        key=st.sampled_from([None, "fido_webauthn"]),
        enrollment=st.sampled_from([None, "OPTIONAL", "REQUIRED"]),
        require=st.booleans(),
    )
    def start(self, key: str | None, enrollment: str | None, require: bool) -> None:
        """Where a sequence begins: alice may hold a passkey already, the
        enrolment policy may offer WebAuthn, the sign-on rule may ask for a
        factor. Sequences are short, so paths that need three of these set up
        (signing in with a passkey) would otherwise be rare."""
        if key is not None:
            self.admin_enroll_active(key)
        if enrollment is not None:
            self.policy.enrollment["fido_webauthn"] = enrollment
            self.world.put_enrollment(self.policy)
        if require:
            self.admin_require_factor(True, "ALWAYS")

    @rule(key=KIND_KEYS)
    def admin_enroll_active(self, key: str) -> None:
        """An admin enrols and activates a factor for alice (Factors API)."""
        user = self.users["alice"]
        kind = BY_KEY[key]
        if user.active_of(kind) is not None or user.status != "ACTIVE":
            return
        self.clock.advance(seconds=RESEND_AFTER + 1)  # past any resend throttle
        base = f"/api/v1/users/{user.id}/factors"
        profile: dict[str, Any] = {}
        if kind.channel in ("sms", "call"):
            profile = {"phoneNumber": PHONE}
        elif kind.factor_type == "question":
            profile = {"question": QUESTION, "answer": ANSWER}
        self.new_messages()
        type(self).steps += 1
        r = self.world.admin.post(
            base + ("?activate=true" if kind.factor_type == "question" else ""),
            json={"factorType": kind.factor_type, "provider": kind.provider, "profile": profile},
        )
        assert r.status_code == 200, r.get_json()
        data = r.get_json()
        factor = MFactor(data["id"], kind)
        user.factors = {i: f for i, f in user.factors.items() if f.active or f.kind != kind}
        user.factors[factor.id] = factor
        if kind.factor_type == "question":
            factor.active = True
            return
        if kind.webauthn:
            WEBAUTHN_SEEN["registered by an admin"] += 1
            factor.key = SoftAuthenticator(RP_ID, ORIGIN)
            activation = factor.key.create(data["_embedded"]["activation"]["challenge"])
            r = self.world.admin.post(f"{base}/{factor.id}/lifecycle/activate", json=activation)
            assert r.status_code == 200, r.get_json()
            factor.active = True
            return
        if kind.totp:
            factor.secret = data["_embedded"]["activation"]["sharedSecret"]
            step = int(self.now().timestamp()) // 30
            code = pyotp.TOTP(factor.secret).at(self.now())
            factor.last_step = step
            factor.used_steps.add(step)
        else:
            (message,) = self.new_messages()
            code = _code_of(message) or ""
            self.throttle[(kind.channel or "", self._destination(factor))] = self.now()
        r = self.world.admin.post(f"{base}/{factor.id}/lifecycle/activate", json={"passCode": code})
        assert r.status_code == 200, r.get_json()
        factor.active = True  # an open transaction must prove it too, if MFA is due

    @rule(who=st.sampled_from(["alice", "nina"]))
    def admin_unlock(self, who: str) -> None:
        user = self.users[who]
        r = self.world.admin.post(f"/api/v1/users/{user.id}/lifecycle/unlock")
        if user.status == "LOCKED_OUT":
            assert r.status_code == 200, r.get_json()
            user.status, user.failures = "ACTIVE", 0
        else:
            assert r.status_code in (400, 403), r.get_json()

    @rule(suspend=st.booleans())
    def admin_suspend(self, suspend: bool) -> None:
        user = self.users["alice"]
        action = "suspend" if suspend else "unsuspend"
        r = self.world.admin.post(f"/api/v1/users/{user.id}/lifecycle/{action}")
        if suspend and user.status == "ACTIVE":
            assert r.status_code == 200, r.get_json()
            user.status = "SUSPENDED"
        elif not suspend and user.status == "SUSPENDED":
            assert r.status_code == 200, r.get_json()
            user.status = "ACTIVE"
        else:
            assert r.status_code in (400, 403), r.get_json()

    @rule()
    def admin_expire_password(self) -> None:
        user = self.users["alice"]
        r = self.world.admin.post(f"/api/v1/users/{user.id}/lifecycle/expire_password")
        if user.status in ("ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT"):
            assert r.status_code == 200, r.get_json()
            user.status = "PASSWORD_EXPIRED"
        else:
            assert r.status_code in (400, 403), r.get_json()

    @rule(who=st.sampled_from(["alice", "nina"]))
    def admin_reset_factors(self, who: str) -> None:
        user = self.users[who]
        r = self.world.admin.post(f"/api/v1/users/{user.id}/lifecycle/reset_factors")
        if r.status_code == 200:
            self._forget_factors(user, list(user.factors))

    @rule(key=KIND_KEYS)
    def admin_delete_factor(self, key: str) -> None:
        user = self.users["alice"]
        factor = next((f for f in user.factors.values() if f.kind.key == key), None)
        if factor is None:
            return
        r = self.world.admin.delete(f"/api/v1/users/{user.id}/factors/{factor.id}")
        assert r.status_code == 204, r.get_json()
        self._forget_factors(user, [factor.id])

    def _forget_factors(self, user: MUser, ids: list[str]) -> None:
        for fid in ids:
            user.factors.pop(fid, None)
            self.codes.pop(fid, None)

    @rule(on=st.booleans(), mode=st.sampled_from(["ALWAYS", "DEVICE"]))
    def admin_require_factor(self, on: bool, mode: str) -> None:
        self.policy.require_factor, self.policy.prompt_mode = on, mode
        self.world.put_sign_on(self.policy)

    @rule(key=KIND_KEYS, required=st.booleans())
    def admin_enrollment(self, key: str, required: bool) -> None:
        self.policy.enrollment[key] = "REQUIRED" if required else "OPTIONAL"
        self.world.put_enrollment(self.policy)

    @rule(
        age=st.sampled_from([(0, 0), (30, 5), (30, 0)]),
        attempts=st.sampled_from([2, 3, 5]),
    )
    def admin_password_policy(self, age: tuple[int, int], attempts: int) -> None:
        self.policy.max_age_days, self.policy.warn_days = age
        self.policy.max_attempts = attempts
        self.world.put_password_policy(self.policy)

    @rule(by=st.sampled_from([timedelta(seconds=31), timedelta(seconds=301), timedelta(days=27)]))
    def advance_clock(self, by: timedelta) -> None:
        self.clock.advance(seconds=by.total_seconds())

    # ---- after every step ------------------------------------------------------------

    @invariant()
    def database_agrees(self) -> None:
        statuses = dict(self.world.sql.execute("SELECT id, status FROM users").fetchall())
        active_rows = self.world.sql.execute(
            "SELECT user_id, id FROM factors WHERE status = 'ACTIVE'"
        ).fetchall()
        for user in self.users.values():
            assert statuses[user.id] == user.status, (
                f"{user.name} is {statuses[user.id]}, the model says {user.status} "
                f"({user.failures} failures judged, maxAttempts {self.policy.max_attempts})"
            )
            active = {fid for uid, fid in active_rows if uid == user.id}
            model = {f.id for f in user.active()}
            assert active == model, (
                f"{user.name}'s ACTIVE factors are {sorted(active)}, the model's {sorted(model)}"
            )


def _random_challenge() -> str:
    """A challenge this server never issued."""
    return b64url(os.urandom(32))


def _code_of(message: Any) -> str | None:
    if message.channel == "call":
        digits = re.findall(r"\d", message.body)
        return "".join(digits[:6]) if len(digits) >= 6 else None
    match = re.search(r"\b(\d{6})\b", message.body)
    return match.group(1) if match else None


def _settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=SEED == "fixed",
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        phases=[p for p in Phase if p is not Phase.shrink or SHRINK],
    )


def test_authn_state_machine(world: World) -> None:
    AuthnMachine.world = world
    AuthnMachine.sequences = AuthnMachine.steps = 0
    WEBAUTHN_SEEN.clear()
    started = time.monotonic()
    try:
        run_state_machine_as_test(AuthnMachine, settings=_settings())
    finally:
        RUNS["authn state machine"] = (
            AuthnMachine.sequences,
            AuthnMachine.steps,
            time.monotonic() - started,
        )
        print(f"WebAuthn paths reached: {dict(sorted(WEBAUTHN_SEEN.items()))}")
    if EXAMPLES >= 5000:  # a full run: the WebAuthn ceremonies were exercised
        # (a registration in a flow that succeeds is rarer; the fixed seed's
        # 10,000 sequences do not reach it: tests/api/test_authn_webauthn.py does)
        missing = {
            "enrolled in a flow",
            "registration refused",
            "verified",
            "assertion refused",
            "clone refused",
        } - set(WEBAUTHN_SEEN)
        assert not missing, f"no sequence reached {sorted(missing)}: {dict(WEBAUTHN_SEEN)}"
