"""Record a real response for every operation of the OpenAPI document.

``make openapi-examples`` runs this script: it drives a Portcullis server
in-process (the Flask test client, the embedded defaults: SQLite in a
temporary folder and fakeredis, a clock it moves by hand), builds the users,
groups, policies, factors and transactions each operation needs through the
API itself, and calls every operation of ``GET /openapi.json`` once on its
success path. The JSON bodies it gets back are written to
``app/api/openapi_examples.json`` as ``{"METHOD /path/template": {status:
body}}``; app/api/openapi_examples.py puts them into the document as the
``example`` of those answers (issue 11, part 2).

Answers that are not JSON get no example: ``204 No Content``, the ``302`` of
``/login/sessionCookieRedirect``, the QR code (PNG) and the Swagger UI's
static files. They are still called, so the walk covers the whole document.

Ids, tokens and times differ from run to run (the clock starts at a fixed
moment); only throwaway secrets appear (activation and recovery links, TOTP
shared secrets, one-time codes): never a password. tests/api/
test_openapi_examples.py checks that the file is current.

    .venv/bin/python scripts/openapi_examples.py
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.delivery import Outbox  # noqa: E402
from app.services import api_tokens, workos_mfa  # noqa: E402
from app.store import migrations  # noqa: E402

OUTPUT = ROOT / "app" / "api" / "openapi_examples.json"
#: Every password the walk sends: none may appear in a recorded answer.
PASSWORD = "Sup3r-Secret-Phrase"
NEW_PASSWORD = "Brand-New-Pass-9"
RESET_PASSWORD = "Recovered-Pass-7"
PASSWORDS = (PASSWORD, NEW_PASSWORD, RESET_PASSWORD)
PHONE = "+15052694259"
QUESTION = {"question": "disliked_food", "answer": "mayonnaise"}
RECOVERY_QUESTION = {
    "question": "Who's a major player in the cowboy scene?",
    "answer": "Annie Oakley",
}
#: The keys of an OpenAPI path item that are operations (the rest: parameters, …).
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Clock:
    """The server's clock: a fixed start, moved by the walk (resend waits, password age)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def operations(document: dict[str, Any]) -> set[str]:
    """``"METHOD /path"`` for every operation of an OpenAPI document."""
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


class Recorder:
    """The Flask test client, with an SSWS token and a WorkOS key, that keeps
    the JSON answer of each operation it is asked to record (once each)."""

    def __init__(self, app: Flask, clock: Any) -> None:
        self.app, self.clock = app, clock
        self.ctx = app.extensions["portcullis"]
        self.client = app.test_client()
        self.base = self.ctx.settings.base_url.rstrip("/")
        _, token = api_tokens.create_token(self.ctx, "openapi-examples")
        _, key = workos_mfa.create_api_key(self.ctx, "openapi-examples")
        self.auth = {"ssws": f"SSWS {token}", "workos": f"Bearer {key}", "none": None}
        self.outbox = Outbox(self.ctx.stores.redis, clock=self.ctx.clock)
        self.examples: dict[str, dict[str, Any]] = {}
        self.called: set[str] = set()

    def call(
        self,
        method: str,
        template: str,
        status: int = 200,
        *,
        record: bool = True,
        auth: str = "ssws",
        query: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send ``method template`` (its ``{names}`` filled from ``kwargs``) and
        check the status; when ``record``, keep the JSON answer as the
        operation's example (each operation is recorded once)."""
        params = {k: kwargs.pop(k) for k in list(kwargs) if "{" + k + "}" in template}
        headers = {"Accept": "application/json"}
        if self.auth[auth]:
            headers["Authorization"] = str(self.auth[auth])
        response = self.client.open(
            template.format(**params),
            method=method,
            base_url=self.base,
            headers=headers,
            query_string=query,
            **kwargs,
        )
        assert response.status_code == status, (method, template, response.get_data(as_text=True))
        key = f"{method} {template}"
        if record:
            assert key not in self.called, f"{key} is recorded twice"
            self.called.add(key)
            if response.is_json:
                self.examples[key] = {str(status): response.get_json()}
        return response.get_json() if response.is_json else response

    def code(self, to: str) -> str:
        """The one-time code of the newest message to ``to``."""
        match = re.search(r"\b(\d{6})\b", self.outbox.messages(to=to)[0].body)
        assert match, f"no code sent to {to}"
        return match.group(1)

    def wait_to_resend(self) -> None:
        """A new code is sent only OTP_RESEND_AFTER seconds after the last one."""
        self.clock.now += timedelta(seconds=self.ctx.settings.otp_resend_after + 1)

    def totp(self, secret: str) -> str:
        return str(pyotp.TOTP(secret).at(self.clock()))

    def path_of(self, href: str) -> str:
        return urlsplit(href).path


# ---- fixtures ----------------------------------------------------------------------------------


def user(
    r: Recorder, name: str, *, record: bool = False, activate: bool = True, **credentials: Any
) -> dict[str, Any]:
    """An ACTIVE user ``name@example.com`` (STAGED without ``activate``) with ``PASSWORD``."""
    first, _, last = name.partition(".")
    login = f"{name}@example.com"
    body: dict[str, Any] = {
        "profile": {
            "login": login,
            "email": login,
            "firstName": first.title(),
            "lastName": last.title(),
            "locale": "en_US",
            "timeZone": "America/Los_Angeles",
        },
        "credentials": {"password": {"value": PASSWORD}, **credentials},
    }
    query = {"activate": str(activate).lower()}
    return dict(r.call("POST", "/api/v1/users", json=body, query=query, record=record))


def sign_in(
    r: Recorder, login: str, password: str = PASSWORD, *, record: bool = False, **extra: Any
) -> dict[str, Any]:
    body = {"username": login, "password": password, **extra}
    return dict(r.call("POST", "/api/v1/authn", json=body, auth="none", record=record))


def enrolled_sms(r: Recorder, user_id: str) -> dict[str, Any]:
    """An ACTIVE SMS factor (its activation code read from the outbox)."""
    base = "/api/v1/users/{user_id}/factors"
    body = {"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}}
    r.wait_to_resend()
    factor = r.call("POST", base, json=body, user_id=user_id, record=False)
    r.call(
        "POST",
        base + "/{factor_id}/lifecycle/activate",
        json={"passCode": r.code(PHONE)},
        user_id=user_id,
        factor_id=factor["id"],
        record=False,
    )
    return dict(factor)


def into_group(r: Recorder, group_id: str, user_id: str, *, record: bool = False) -> None:
    template = "/api/v1/groups/{group_id}/users/{user_id}"
    r.call("PUT", template, 204, group_id=group_id, user_id=user_id, record=record)


# ---- the walk, one part of the API at a time --------------------------------------------------


def health_and_docs(r: Recorder) -> None:
    r.call("GET", "/healthz/live", auth="none")
    r.call("GET", "/healthz", auth="none")
    r.call("GET", "/docs/assets/{filename}", auth="none", filename="swagger-ui.css")


def users_api(r: Recorder) -> dict[str, Any]:
    """The Users API on ``dade.murphy``; returns that user."""
    dade = user(r, "dade.murphy", record=True)
    uid = dade["id"]
    r.call("GET", "/api/v1/users", query={"q": "dade", "limit": "1"})
    r.call("GET", "/api/v1/users/{user_id}", user_id=uid)
    r.call(
        "POST",
        "/api/v1/users/{user_id}",
        json={"profile": {"mobilePhone": "+1 505 269 4259"}},
        user_id=uid,
    )
    replaced = {**dade["profile"], "nickName": "Zero Cool"}
    r.call("PUT", "/api/v1/users/{user_id}", json={"profile": replaced}, user_id=uid)
    r.call("GET", "/api/v1/users/{user_id}/groups", user_id=uid)
    r.call(
        "POST",
        "/api/v1/users/{user_id}/credentials/change_password",
        json={"oldPassword": {"value": PASSWORD}, "newPassword": {"value": NEW_PASSWORD}},
        user_id=uid,
    )
    r.call(
        "POST",
        "/api/v1/users/{user_id}/credentials/change_recovery_question",
        json={"password": {"value": NEW_PASSWORD}, "recovery_question": RECOVERY_QUESTION},
        user_id=uid,
    )
    r.call(
        "POST",
        "/api/v1/users/{user_id}/credentials/forgot_password",
        query={"sendEmail": "false"},
        user_id=uid,
    )
    return dade


def user_lifecycle(r: Recorder) -> None:
    """Each lifecycle operation from the status it starts from."""
    staged = user(r, "kate.libby", activate=False)
    lifecycle = "/api/v1/users/{user_id}/lifecycle/"
    r.call("POST", lifecycle + "activate", query={"sendEmail": "false"}, user_id=staged["id"])
    provisioned = r.call(
        "POST",
        "/api/v1/users",
        json={"profile": {"login": "paul.cook@example.com", "email": "paul.cook@example.com",
                          "firstName": "Paul", "lastName": "Cook"}},
        query={"activate": "true"},
        record=False,
    )  # fmt: skip
    r.call(
        "POST", lifecycle + "reactivate", query={"sendEmail": "false"}, user_id=provisioned["id"]
    )
    uid = staged["id"]
    r.call("POST", lifecycle + "suspend", user_id=uid)
    r.call("POST", lifecycle + "unsuspend", user_id=uid)
    r.call("POST", lifecycle + "reset_factors", user_id=uid)
    r.call("POST", lifecycle + "deactivate", user_id=provisioned["id"])
    r.call("DELETE", "/api/v1/users/{user_id}", 204, user_id=provisioned["id"])


def groups_api(r: Recorder, member: dict[str, Any]) -> None:
    group = r.call(
        "POST",
        "/api/v1/groups",
        json={"profile": {"name": "Hackers", "description": "Elite"}},
    )
    gid = group["id"]
    r.call("GET", "/api/v1/groups", query={"q": "Hack"})
    r.call("GET", "/api/v1/groups/{group_id}", group_id=gid)
    into_group(r, gid, member["id"], record=True)
    r.call("GET", "/api/v1/groups/{group_id}/users", group_id=gid)
    r.call("DELETE", "/api/v1/groups/{group_id}/users/{user_id}", 204, group_id=gid,
           user_id=member["id"])  # fmt: skip
    r.call(
        "PUT",
        "/api/v1/groups/{group_id}",
        json={"profile": {"name": "Hackers", "description": "Hack the planet"}},
        group_id=gid,
    )
    r.call("DELETE", "/api/v1/groups/{group_id}", 204, group_id=gid)


def trusted_origins_api(r: Recorder) -> None:
    body = {
        "name": "Gibson",
        "origin": "https://gibson.example.com",
        "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}],
    }
    origin = r.call("POST", "/api/v1/trustedOrigins", json=body)
    oid = origin["id"]
    r.call("GET", "/api/v1/trustedOrigins")
    r.call("GET", "/api/v1/trustedOrigins/{origin_id}", origin_id=oid)
    r.call(
        "PUT",
        "/api/v1/trustedOrigins/{origin_id}",
        json={**body, "scopes": [{"type": "CORS"}]},
        origin_id=oid,
    )
    r.call("POST", "/api/v1/trustedOrigins/{origin_id}/lifecycle/deactivate", origin_id=oid)
    r.call("POST", "/api/v1/trustedOrigins/{origin_id}/lifecycle/activate", origin_id=oid)
    r.call("DELETE", "/api/v1/trustedOrigins/{origin_id}", 204, origin_id=oid)


def group(r: Recorder, name: str) -> str:
    body = {"profile": {"name": name}}
    return str(r.call("POST", "/api/v1/groups", json=body, record=False)["id"])


def policies_api(r: Recorder) -> dict[str, str]:
    """The Policy API, setting up the policies the /authn walk needs:

    - the default password policy: SMS recovery on, three attempts before a lockout,
      and its rule allows self-service unlock;
    - group ``MFA``: a sign-on rule requiring a second factor, SMS enrolment REQUIRED;
    - group ``Password age``: passwords expire after 90 days, with a 7-day warning.

    Returns those groups' ids.
    """
    groups = {"mfa": group(r, "MFA"), "age": group(r, "Password age")}
    (default,) = r.call("GET", "/api/v1/policies", query={"type": "PASSWORD"})
    pid = default["id"]
    r.call("GET", "/api/v1/policies/{policy_id}", policy_id=pid)
    settings = default["settings"]
    settings["recovery"]["factors"]["okta_sms"]["status"] = "ACTIVE"
    settings["password"]["lockout"]["maxAttempts"] = 3
    r.call("PUT", "/api/v1/policies/{policy_id}", json=default, policy_id=pid)
    (rule,) = r.call("GET", "/api/v1/policies/{policy_id}/rules", policy_id=pid)
    r.call("GET", "/api/v1/policies/{policy_id}/rules/{rule_id}", policy_id=pid, rule_id=rule["id"])
    rule["actions"]["selfServiceUnlock"]["access"] = "ALLOW"
    r.call(
        "PUT",
        "/api/v1/policies/{policy_id}/rules/{rule_id}",
        json=rule,
        policy_id=pid,
        rule_id=rule["id"],
    )
    people = {"people": {"groups": {"include": [groups["mfa"]]}}}
    sign_on = r.call(
        "POST",
        "/api/v1/policies",
        json={"type": "OKTA_SIGN_ON", "name": "Second factor", "conditions": people},
    )
    require = {"signon": {"access": "ALLOW", "requireFactor": True, "factorPromptMode": "ALWAYS"}}
    r.call(
        "POST",
        "/api/v1/policies/{policy_id}/rules",
        json={
            "name": "Always a second factor",
            "type": "SIGN_ON",
            "priority": 1,
            "actions": require,
        },
        policy_id=sign_on["id"],
    )
    _enrollment_policy(r, people)
    _password_age_policy(r, groups["age"])
    _lifecycles(r, sign_on["id"])
    return groups


def _enrollment_policy(r: Recorder, people: dict[str, Any]) -> None:
    (default,) = r.call("GET", "/api/v1/policies", query={"type": "MFA_ENROLL"}, record=False)
    factors = default["settings"]["factors"]
    factors["okta_sms"]["enroll"]["self"] = "REQUIRED"
    body = {"type": "MFA_ENROLL", "name": "SMS required", "conditions": people}
    r.call(
        "POST", "/api/v1/policies", json={**body, "settings": {"factors": factors}}, record=False
    )


def _password_age_policy(r: Recorder, group_id: str) -> None:
    (default,) = r.call("GET", "/api/v1/policies", query={"type": "PASSWORD"}, record=False)
    settings = default["settings"]
    settings["password"]["age"].update(maxAgeDays=90, expireWarnDays=7)
    body = {
        "type": "PASSWORD",
        "name": "Password age",
        "conditions": {"people": {"groups": {"include": [group_id]}}},
        "settings": settings,
    }
    r.call("POST", "/api/v1/policies", json=body, record=False)


def _lifecycles(r: Recorder, policy_id: str) -> None:
    """Deactivate, activate and delete a policy and a rule made for the purpose."""
    body = {"type": "OKTA_SIGN_ON", "name": "Short-lived"}
    throwaway = r.call("POST", "/api/v1/policies", json=body, record=False)
    base = "/api/v1/policies/{policy_id}"
    r.call("POST", base + "/lifecycle/deactivate", 204, policy_id=throwaway["id"])
    r.call("POST", base + "/lifecycle/activate", 204, policy_id=throwaway["id"])
    r.call("DELETE", base, 204, policy_id=throwaway["id"])
    rule = r.call(
        "POST",
        base + "/rules",
        json={"name": "Short-lived rule", "type": "SIGN_ON"},
        policy_id=policy_id,
        record=False,
    )
    ids = {"policy_id": policy_id, "rule_id": rule["id"]}
    r.call("POST", base + "/rules/{rule_id}/lifecycle/deactivate", 204, **ids)
    r.call("POST", base + "/rules/{rule_id}/lifecycle/activate", 204, **ids)
    r.call("DELETE", base + "/rules/{rule_id}", 204, **ids)


def factors_api(r: Recorder, dade: dict[str, Any]) -> None:
    """The Factors API on ``dade``: a TOTP app, a security question, SMS."""
    uid = dade["id"]
    base = "/api/v1/users/{user_id}/factors"
    r.call("GET", base + "/catalog", user_id=uid)
    r.call("GET", base + "/questions", auth="none", user_id=uid)
    totp = r.call(
        "POST", base, json={"factorType": "token:software:totp", "provider": "GOOGLE"}, user_id=uid
    )
    activation = totp["_embedded"]["activation"]
    qr = r.path_of(activation["_links"]["qrcode"]["href"])
    token = qr.rstrip("/").rsplit("/", 1)[1]
    r.call("GET", base + "/{factor_id}/qr/{token}", auth="none", user_id=uid,
           factor_id=totp["id"], token=token)  # fmt: skip
    r.call(
        "POST",
        base + "/{factor_id}/lifecycle/activate",
        json={"passCode": r.totp(activation["sharedSecret"])},
        user_id=uid,
        factor_id=totp["id"],
    )
    question = {"factorType": "question", "provider": "OKTA", "profile": QUESTION}
    asked = r.call("POST", base, json=question, user_id=uid, record=False)
    r.call(
        "POST",
        base + "/{factor_id}/verify",
        json={"answer": QUESTION["answer"]},
        user_id=uid,
        factor_id=asked["id"],
    )
    r.call("GET", base, user_id=uid)
    r.call("GET", base + "/{factor_id}", user_id=uid, factor_id=totp["id"])
    sms = {"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}}
    r.wait_to_resend()
    pending = r.call("POST", base, json=sms, user_id=uid, record=False)
    ids = {"user_id": uid, "factor_id": pending["id"]}
    r.wait_to_resend()
    r.call("POST", base + "/{factor_id}/resend", **ids)
    r.wait_to_resend()
    r.call("POST", base + "/{factor_id}/lifecycle/resend", **ids)
    r.call("DELETE", base + "/{factor_id}", 204, **ids)


def sessions_api(r: Recorder, login: str, password: str) -> None:
    """A session by its id (server-side apps), then by its cookie (browsers)."""
    first = sign_in(r, login, password, record=True)  # SUCCESS: the primary example
    session = r.call("POST", "/api/v1/sessions", json={"sessionToken": first["sessionToken"]})
    sid = session["id"]
    r.call("GET", "/api/v1/sessions/{session_id}", session_id=sid)
    r.call("POST", "/api/v1/sessions/{session_id}/lifecycle/refresh", session_id=sid)
    r.call("DELETE", "/api/v1/sessions/{session_id}", 204, session_id=sid)

    app_url = f"{r.base}/app"
    token = sign_in(r, login, password)["sessionToken"]
    r.call("GET", "/login/sessionCookieRedirect", 302, auth="none",
           query={"token": token, "redirectUrl": app_url})  # fmt: skip
    r.call("GET", "/api/v1/sessions/me", auth="none")
    r.call("POST", "/api/v1/sessions/me/lifecycle/refresh", auth="none")
    r.call("DELETE", "/api/v1/sessions/me", 204, auth="none")
    token = sign_in(r, login, password)["sessionToken"]
    r.call("POST", "/login/sessionCookieRedirect", 302, auth="none",
           data={"token": token, "redirectUrl": app_url})  # fmt: skip
    user_id = r.call("GET", "/api/v1/sessions/me", auth="none", record=False)["userId"]
    r.call("DELETE", "/api/v1/users/{user_id}/sessions", 204, user_id=user_id)


def authn(r: Recorder, path: str, body: dict[str, Any], *, record: bool = True, **ids: Any) -> Any:
    return r.call("POST", "/api/v1/authn" + path, json=body, auth="none", record=record, **ids)


def authn_mfa(r: Recorder, mfa_group: str) -> None:
    """MFA_REQUIRED → MFA_CHALLENGE → SUCCESS, and MFA_ENROLL, in group ``MFA``."""
    eugene = user(r, "eugene.belford")
    into_group(r, mfa_group, eugene["id"])
    sms = enrolled_sms(r, eugene["id"])
    login = eugene["profile"]["login"]
    state = sign_in(r, login)
    assert state["status"] == "MFA_REQUIRED", state
    token = {"stateToken": state["stateToken"]}
    authn(r, "/introspect", token)
    verify = "/factors/{factor_id}/verify"
    r.wait_to_resend()
    authn(r, verify, token, record=False, factor_id=sms["id"])  # MFA_CHALLENGE
    r.wait_to_resend()
    authn(r, verify + "/resend", token, factor_id=sms["id"])
    authn(r, verify, {**token, "passCode": r.code(PHONE)}, factor_id=sms["id"])

    state = sign_in(r, login)
    authn(r, "/cancel", {"stateToken": state["stateToken"]})

    razor = user(r, "ramon.sanchez")
    into_group(r, mfa_group, razor["id"])
    state = sign_in(r, razor["profile"]["login"])
    assert state["status"] == "MFA_ENROLL", state
    token = {"stateToken": state["stateToken"]}
    enroll = {**token, "factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}}
    r.wait_to_resend()
    authn(r, "/factors", enroll)
    authn(r, "/previous", token)
    r.wait_to_resend()
    factor = authn(r, "/factors", enroll, record=False)["_embedded"]["factor"]
    r.wait_to_resend()
    lifecycle = "/factors/{factor_id}/lifecycle/"
    authn(r, lifecycle + "resend", token, factor_id=factor["id"])
    authn(r, lifecycle + "activate", {**token, "passCode": r.code(PHONE)}, factor_id=factor["id"])


def authn_passwords(r: Recorder) -> None:
    """An expired password changed; a forgotten one reset by SMS and the
    recovery question; an account unlocked; an admin's recovery link redeemed."""
    joey = user(r, "joey.pardella", recovery_question=RECOVERY_QUESTION)
    r.call("POST", "/api/v1/users/{user_id}/lifecycle/expire_password", user_id=joey["id"])
    login = joey["profile"]["login"]
    state = sign_in(r, login)
    change = {"stateToken": state["stateToken"], "oldPassword": PASSWORD}
    authn(r, "/credentials/change_password", {**change, "newPassword": NEW_PASSWORD})

    enrolled_sms(r, joey["id"])
    r.wait_to_resend()
    forgot = {"username": login, "factorType": "SMS", "relayState": "/home"}
    token = {"stateToken": authn(r, "/recovery/password", forgot)["stateToken"]}
    factor = "/recovery/factors/{factor_type}/"
    r.wait_to_resend()
    authn(r, factor + "resend", token, factor_type="sms")
    authn(r, factor + "verify", {**token, "passCode": r.code(PHONE)}, factor_type="sms")
    authn(r, "/recovery/answer", {**token, "answer": RECOVERY_QUESTION["answer"]})
    authn(r, "/credentials/reset_password", {**token, "newPassword": RESET_PASSWORD})

    for _ in range(3):
        r.call("POST", "/api/v1/authn", 401, auth="none", record=False,
               json={"username": login, "password": "not-the-password"})  # fmt: skip
    r.wait_to_resend()
    authn(r, "/recovery/unlock", {"username": login, "factorType": "SMS"})
    r.call("POST", "/api/v1/users/{user_id}/lifecycle/unlock", user_id=joey["id"])

    reset = r.call(
        "POST",
        "/api/v1/users/{user_id}/lifecycle/reset_password",
        query={"sendEmail": "false"},
        user_id=joey["id"],
    )
    recovery_token = reset["resetPasswordUrl"].rstrip("/").rsplit("/", 1)[1]
    authn(r, "/recovery/token", {"recoveryToken": recovery_token})


def authn_password_warning(r: Recorder, age_group: str) -> None:
    """PASSWORD_WARN, 85 days into a 90-day password; skipped. Moves the clock
    on 85 days, so it runs last."""
    cereal = user(r, "emmanuel.goldstein")
    into_group(r, age_group, cereal["id"])
    r.clock.now += timedelta(days=85)
    options = {"warnBeforePasswordExpired": True}
    state = sign_in(r, cereal["profile"]["login"], options=options)
    assert state["status"] == "PASSWORD_WARN", state
    authn(r, "/skip", {"stateToken": state["stateToken"]})


def workos_api(r: Recorder) -> None:
    """WorkOS MFA with an SMS factor (a TOTP one answers a QR code as a data URI,
    several kilobytes that would say nothing more)."""
    factor = r.call(
        "POST",
        "/auth/factors/enroll",
        201,
        auth="workos",
        json={"type": "sms", "phone_number": PHONE},
    )
    fid = factor["id"]
    r.call("GET", "/auth/factors/{factor_id}", auth="workos", factor_id=fid)
    r.wait_to_resend()
    challenge = r.call(
        "POST", "/auth/factors/{factor_id}/challenge", 201, auth="workos", json={}, factor_id=fid
    )
    r.call(
        "POST",
        "/auth/challenges/{challenge_id}/verify",
        auth="workos",
        json={"code": r.code(PHONE)},
        challenge_id=challenge["id"],
    )
    r.call("DELETE", "/auth/factors/{factor_id}", 204, auth="workos", factor_id=fid)


def dev_outbox(r: Recorder) -> None:
    if r.ctx.settings.dev_outbox_enabled:
        r.call("GET", "/api/v1/dev/outbox", query={"to": PHONE, "limit": "1"})


# ---- running it ---------------------------------------------------------------------------------


def record(app: Flask, clock: Any) -> dict[str, dict[str, Any]]:
    """Walk the API of ``app`` (migrated, empty) and return the examples, in
    the document's order; fails unless every operation was called."""
    r = Recorder(app, clock)
    health_and_docs(r)
    dade = users_api(r)
    user_lifecycle(r)
    groups_api(r, dade)
    trusted_origins_api(r)
    groups = policies_api(r)
    factors_api(r, dade)
    sessions_api(r, dade["profile"]["login"], NEW_PASSWORD)
    authn_mfa(r, groups["mfa"])
    authn_passwords(r)
    workos_api(r)
    dev_outbox(r)
    authn_password_warning(r, groups["age"])
    document = r.client.get("/openapi.json").get_json()
    missing = operations(document) - r.called
    assert not missing, f"no example walk for: {sorted(missing)}"
    order = [f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item]
    examples = {key: r.examples[key] for key in order if key in r.examples}
    leaked = [p for p in PASSWORDS if p in json.dumps(examples)]
    assert not leaked, "a password is in a recorded answer"
    return examples


def embedded_app(tmp: Path, clock: Clock) -> Flask:
    """The embedded defaults (SQLite, fakeredis), cheap argon2, a documentation host."""
    settings = Settings(
        instance_path=tmp / "instance",
        database_url=f"sqlite:///{tmp / 'examples.db'}",
        redis_url="fakeredis://openapi-examples",
        secret_key="openapi-examples",
        encryption_key="openapi-examples",
        base_url="https://id.example.com",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
    )
    app = create_app(settings, clock=clock)
    migrations.upgrade(app.extensions["portcullis"].stores.database)
    return app


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        app = embedded_app(Path(tmp), clock)
        examples = record(app, clock)
        app.extensions["portcullis"].stores.database.dispose()
    OUTPUT.write_text(json.dumps(examples, indent=2, ensure_ascii=False) + "\n")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(examples)} operations")


if __name__ == "__main__":
    main()
