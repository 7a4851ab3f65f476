"""Build the Postman collection (postman/portcullis.postman_collection.json).

The collection is data, so it is generated: each request below is one line
of intent plus the checks a user would make. Run this after changing it;
``tests/unit/test_postman_collection.py`` fails when the JSON is stale.

    .venv/bin/python postman/build_collection.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "portcullis.postman_collection.json"

# Pre-request script of the collection: a run id that keeps logins unique.
COLLECTION_PRE_REQUEST = """
if (!pm.collectionVariables.get('runId')) {
  pm.collectionVariables.set('runId', Date.now().toString(36));
}
"""

# A TOTP code (RFC 6238, HMAC-SHA1, 6 digits, 30 s) from the enrolled shared
# secret, computed in the request's pre-request script with crypto-js.
TOTP_CODE = r"""
const cryptoJs = require('crypto-js');
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
let bits = '';
for (const c of pm.collectionVariables.get('totpSecret').replace(/=+$/, '')) {
  bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
}
let key = '';
for (let i = 0; i + 8 <= bits.length; i += 8) {
  key += parseInt(bits.substr(i, 8), 2).toString(16).padStart(2, '0');
}
const step = Math.floor(Date.now() / 1000 / 30) + OFFSET;
const hmac = cryptoJs.HmacSHA1(cryptoJs.enc.Hex.parse(step.toString(16).padStart(16, '0')),
                               cryptoJs.enc.Hex.parse(key)).toString();
const offset = parseInt(hmac.slice(-1), 16);
const binary = parseInt(hmac.substr(offset * 2, 8), 16) & 0x7fffffff;
pm.collectionVariables.set('totpCode', (binary % 1000000).toString().padStart(6, '0'));
"""


def expect_status(code: int) -> str:
    return f"pm.test('status {code}', () => pm.response.to.have.status({code}));\n"


def expect_error(code: int, error: str) -> str:
    return expect_status(code) + (
        f"pm.test('errorCode {error}', () => {{\n"
        f"  const body = pm.response.json();\n"
        f"  pm.expect(body.errorCode).to.eql('{error}');\n"
        f"  pm.expect(body).to.have.keys('errorCode', 'errorSummary', 'errorLink', 'errorId',"
        f" 'errorCauses');\n}});\n"
    )


def request(
    name: str,
    method: str,
    path: str,
    tests: str,
    body: Any = None,
    *,
    raw_body: str | None = None,
    auth: bool = True,
    pre: str = "",
    bearer: bool = False,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request; ``form`` sends an HTML form's body (and does not follow redirects)."""
    headers = [{"key": "Accept", "value": "application/json"}]
    if bearer:
        headers.append({"key": "Authorization", "value": "Bearer {{workosApiKey}}"})
    elif auth:
        headers.append({"key": "Authorization", "value": "SSWS {{apiToken}}"})
    item: dict[str, Any] = {"name": name, "event": [], "request": {"method": method}}
    if body is not None or raw_body is not None:
        headers.append({"key": "Content-Type", "value": "application/json"})
        item["request"]["body"] = {
            "mode": "raw",
            "raw": raw_body if raw_body is not None else json.dumps(body, indent=2),
        }
    if form is not None:
        headers.append({"key": "Content-Type", "value": "application/x-www-form-urlencoded"})
        item["request"]["body"] = {
            "mode": "urlencoded",
            "urlencoded": [{"key": k, "value": v, "type": "text"} for k, v in form.items()],
        }
        item["protocolProfileBehavior"] = {"followRedirects": False}
    item["request"]["header"] = headers
    url = "{{baseUrl}}" + path
    base, _, query = url.partition("?")
    item["request"]["url"] = {
        "raw": url,
        "host": ["{{baseUrl}}"],
        "path": [p for p in base.replace("{{baseUrl}}", "").split("/") if p],
    }
    if query:
        item["request"]["url"]["query"] = [
            {"key": k, "value": v} for k, _, v in (pair.partition("=") for pair in query.split("&"))
        ]
    if pre:
        item["event"].append({"listen": "prerequest", "script": {"exec": pre.strip().split("\n")}})
    item["event"].append({"listen": "test", "script": {"exec": tests.strip().split("\n")}})
    return item


def folder(name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "item": items}


PROFILE = {
    "firstName": "Isaac",
    "lastName": "Brock",
    "email": "isaac.brock.{{runId}}@example.com",
    "login": "isaac.brock.{{runId}}@example.com",
    "mobilePhone": "+1 505 269 4259",
}
USER = "/api/v1/users/{{userId}}"

USERS = folder(
    "Users",
    [
        request(
            "Create User with Password",
            "POST",
            "/api/v1/users?activate=true",
            expect_status(200)
            + """
const user = pm.response.json();
pm.test('an active 00u user, no hash shown', () => {
  pm.expect(user.id).to.match(/^00u[A-Za-z0-9]{17}$/);
  pm.expect(user.status).to.eql('ACTIVE');
  pm.expect(user.credentials.password).to.eql({});
  pm.expect(user._links.suspend.method).to.eql('POST');
});
pm.collectionVariables.set('userId', user.id);
pm.collectionVariables.set('userLogin', user.profile.login);
""",
            {"profile": PROFILE, "credentials": {"password": {"value": "Sup3r-Secret-Phrase"}}},
            pre="pm.collectionVariables.set('runId', Date.now().toString(36));",
        ),
        request(
            "Create User without Credentials",
            "POST",
            "/api/v1/users?activate=false",
            expect_status(200)
            + """
const user = pm.response.json();
pm.test('a STAGED user that can be activated', () => {
  pm.expect(user.status).to.eql('STAGED');
  pm.expect(user._links).to.have.property('activate');
  pm.expect(user.credentials).to.not.have.property('password');
});
pm.collectionVariables.set('stagedUserId', user.id);
""",
            {
                "profile": {
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "email": "ada.{{runId}}@example.com",
                    "login": "ada.{{runId}}@example.com",
                }
            },
        ),
        request(
            "Get User by id",
            "GET",
            USER,
            expect_status(200)
            + """
pm.test('the same user', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('userId')));
""",
        ),
        request(
            "Get User by login",
            "GET",
            "/api/v1/users/{{userLogin}}",
            expect_status(200)
            + """
pm.test('found by login', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('userId')));
""",
        ),
        request(
            "List Users",
            "GET",
            "/api/v1/users?limit=2",
            expect_status(200)
            + """
pm.test('at most 2 users and a Link header', () => {
  pm.expect(pm.response.json().length).to.be.at.most(2);
  pm.expect(pm.response.headers.get('Link')).to.include('rel="self"');
});
""",
        ),
        request(
            "List Users with a filter",
            "GET",
            '/api/v1/users?filter=status eq "ACTIVE"&limit=200',
            expect_status(200)
            + """
pm.test('only ACTIVE users', () => {
  const users = pm.response.json();
  pm.expect(users.length).to.be.above(0);
  users.forEach(u => pm.expect(u.status).to.eql('ACTIVE'));
});
""",
        ),
        request(
            "Update User (partial)",
            "POST",
            USER,
            expect_status(200)
            + """
const user = pm.response.json();
pm.test('firstName changed, the rest kept', () => {
  pm.expect(user.profile.firstName).to.eql('Zac');
  pm.expect(user.profile.mobilePhone).to.eql('+1 505 269 4259');
});
""",
            {"profile": {"firstName": "Zac"}},
        ),
        request(
            "Update User (full)",
            "PUT",
            USER,
            expect_status(200)
            + """
pm.test('profile replaced: the mobilePhone it no longer has is null, as Okta sends it', () => pm.expect(pm.response.json().profile.mobilePhone).to.eql(null));
""",
            {"profile": {k: v for k, v in PROFILE.items() if k != "mobilePhone"}},
        ),
        request("Suspend User", "POST", USER + "/lifecycle/suspend", expect_status(200)),
        request(
            "Get suspended User",
            "GET",
            USER,
            expect_status(200)
            + """
pm.test('SUSPENDED, with an unsuspend link', () => {
  pm.expect(pm.response.json().status).to.eql('SUSPENDED');
  pm.expect(pm.response.json()._links).to.have.property('unsuspend');
});
""",
        ),
        request("Unsuspend User", "POST", USER + "/lifecycle/unsuspend", expect_status(200)),
        request(
            "Get unsuspended User",
            "GET",
            USER,
            expect_status(200)
            + """
pm.test('ACTIVE again', () => pm.expect(pm.response.json().status).to.eql('ACTIVE'));
""",
        ),
        request(
            "Activate staged User (sendEmail=false)",
            "POST",
            "/api/v1/users/{{stagedUserId}}/lifecycle/activate?sendEmail=false",
            expect_status(200)
            + """
pm.test('an activation URL and token', () => {
  const body = pm.response.json();
  pm.expect(body.activationUrl).to.include(body.activationToken);
});
""",
        ),
        request(
            "Error: no API token", "GET", "/api/v1/users", expect_error(401, "E0000011"), auth=False
        ),
        request(
            "Error: malformed JSON",
            "POST",
            "/api/v1/users",
            expect_error(400, "E0000003"),
            raw_body='{"profile": {',
        ),
        request(
            "Error: weak password",
            "POST",
            "/api/v1/users",
            expect_error(400, "E0000001")
            + """
pm.test('a cause per unmet rule', () => pm.expect(pm.response.json().errorCauses.length).to.be.above(1));
""",
            {
                "profile": {
                    **PROFILE,
                    "login": "weak.{{runId}}@example.com",
                    "email": "weak.{{runId}}@example.com",
                },
                "credentials": {"password": {"value": "weak"}},
            },
        ),
        request(
            "Error: duplicate login",
            "POST",
            "/api/v1/users",
            expect_error(400, "E0000001")
            + """
pm.test('login already exists', () => pm.expect(pm.response.json().errorCauses[0].errorSummary).to.include('already exists'));
""",
            {"profile": PROFILE},
        ),
    ],
)

GROUP = "/api/v1/groups/{{groupId}}"
GROUPS = folder(
    "Groups",
    [
        request(
            "Create Group",
            "POST",
            "/api/v1/groups",
            expect_status(200)
            + """
const group = pm.response.json();
pm.test('an OKTA_GROUP 00g group', () => {
  pm.expect(group.id).to.match(/^00g/);
  pm.expect(group.type).to.eql('OKTA_GROUP');
});
pm.collectionVariables.set('groupId', group.id);
""",
            {"profile": {"name": "West Coast {{runId}}", "description": "Postman run"}},
        ),
        request("Add User to Group", "PUT", GROUP + "/users/{{userId}}", expect_status(204)),
        request(
            "List Group Members",
            "GET",
            GROUP + "/users",
            expect_status(200)
            + """
pm.test('the user is a member', () => pm.expect(pm.response.json().map(u => u.id)).to.include(pm.collectionVariables.get('userId')));
""",
        ),
        request(
            "List User's Groups",
            "GET",
            USER + "/groups",
            expect_status(200)
            + """
pm.test('Everyone and the new group', () => {
  const names = pm.response.json().map(g => g.profile.name);
  pm.expect(names).to.include('Everyone');
  pm.expect(names.length).to.eql(2);
});
""",
        ),
        request(
            "Remove User from Group", "DELETE", GROUP + "/users/{{userId}}", expect_status(204)
        ),
        request("Delete Group", "DELETE", GROUP, expect_status(204)),
        request("Get deleted Group", "GET", GROUP, expect_error(404, "E0000007")),
    ],
)

FACTOR = USER + "/factors/{{factorId}}"
FACTORS = folder(
    "Factors",
    [
        request(
            "Enroll Google Authenticator Factor",
            "POST",
            USER + "/factors",
            expect_status(200)
            + """
const factor = pm.response.json();
pm.test('pending, with the shared secret and a QR code link', () => {
  pm.expect(factor.id).to.match(/^uft/);
  pm.expect(factor.status).to.eql('PENDING_ACTIVATION');
  pm.expect(factor._embedded.activation.factorResult).to.eql('WAITING');
  pm.expect(factor._embedded.activation._links.qrcode.type).to.eql('image/png');
});
pm.collectionVariables.set('factorId', factor.id);
pm.collectionVariables.set('totpSecret', factor._embedded.activation.sharedSecret);
pm.collectionVariables.set('qrUrl', factor._embedded.activation._links.qrcode.href);
""",
            {"factorType": "token:software:totp", "provider": "GOOGLE"},
        ),
        {
            **request(
                "Get QR code (no token needed)",
                "GET",
                "",
                expect_status(200)
                + """
pm.test('a PNG', () => pm.expect(pm.response.headers.get('Content-Type')).to.eql('image/png'));
""",
                auth=False,
            ),
            "request": {"method": "GET", "header": [], "url": "{{qrUrl}}"},
        },
        request(
            "Activate TOTP Factor",
            "POST",
            FACTOR + "/lifecycle/activate",
            expect_status(200)
            + """
pm.test('ACTIVE, secret gone', () => {
  pm.expect(pm.response.json().status).to.eql('ACTIVE');
  pm.expect(pm.response.json()).to.not.have.property('_embedded');
});
""",
            {"passCode": "{{totpCode}}"},
            pre=TOTP_CODE.replace("OFFSET", "0"),
        ),
        request(
            "Verify TOTP Factor",
            "POST",
            FACTOR + "/verify",
            expect_status(200)
            + """
pm.test('factorResult SUCCESS', () => pm.expect(pm.response.json().factorResult).to.eql('SUCCESS'));
""",
            {"passCode": "{{totpCode}}"},
            pre=TOTP_CODE.replace("OFFSET", "1"),
        ),
        request(
            "Verify the same code again (replay)",
            "POST",
            FACTOR + "/verify",
            expect_error(403, "E0000082"),
            {"passCode": "{{totpCode}}"},
        ),
        request(
            "Verify a wrong code",
            "POST",
            FACTOR + "/verify",
            expect_error(403, "E0000068"),
            {"passCode": "000000"},
        ),
        request(
            "List Factors",
            "GET",
            USER + "/factors",
            expect_status(200)
            + """
pm.test('the secret is never shown again', () => pm.expect(pm.response.text()).to.not.include(pm.collectionVariables.get('totpSecret')));
""",
        ),
        # Postman cannot make an attestation (that takes an authenticator's key): these
        # requests show the creation options and the refusals (docs/factors/webauthn.md).
        request(
            "Enroll a WebAuthn Factor (creation options)",
            "POST",
            USER + "/factors",
            expect_status(200)
            + """
const factor = pm.response.json();
pm.test('a pending FIDO factor with the options for navigator.credentials.create', () => {
  pm.expect(factor.factorType).to.eql('webauthn');
  pm.expect(factor.provider).to.eql('FIDO');
  pm.expect(factor.status).to.eql('PENDING_ACTIVATION');
  const activation = factor._embedded.activation;
  pm.expect(activation.challenge).to.match(/^[A-Za-z0-9_-]{43,}$/);
  pm.expect(activation.rp.id).to.be.a('string');
  pm.expect(activation.user.id).to.eql(pm.collectionVariables.get('userId'));
  pm.expect(activation.pubKeyCredParams.map(p => p.alg)).to.include.members([-7, -257]);
});
pm.collectionVariables.set('webauthnFactorId', factor.id);
""",
            {"factorType": "webauthn", "provider": "FIDO"},
        ),
        request(
            "Activate WebAuthn with bytes that are not an attestation (400)",
            "POST",
            USER + "/factors/{{webauthnFactorId}}/lifecycle/activate",
            expect_error(400, "E0000001"),
            {"attestation": "not-an-attestation", "clientData": "bm90IGpzb24"},
        ),
        request(
            "Activate WebAuthn again: the challenge was answered once (403)",
            "POST",
            USER + "/factors/{{webauthnFactorId}}/lifecycle/activate",
            expect_error(403, "E0000068")
            + """
pm.test('the cause says why', () => pm.expect(pm.response.json().errorCauses[0].errorSummary).to.include('challenge'));
""",
            {
                "attestation": "oA",
                "clientData": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiQUFBQSJ9",
            },
        ),
        request(
            "Delete the pending WebAuthn Factor",
            "DELETE",
            USER + "/factors/{{webauthnFactorId}}",
            expect_status(204),
        ),
    ],
)

WORKOS = folder(
    "WorkOS MFA",
    [
        request(
            "(1) Create the Authentication Factor",
            "POST",
            "/auth/factors/enroll",
            expect_status(201)
            + """
const factor = pm.response.json();
pm.test('an authentication_factor with the TOTP secret and a QR code', () => {
  pm.expect(factor.object).to.eql('authentication_factor');
  pm.expect(factor.id).to.match(/^auth_factor_[0-9A-Z]{26}$/);
  pm.expect(factor.totp.qr_code).to.match(/^data:image\\/png;base64,/);
  pm.expect(factor.totp.uri).to.include('otpauth://totp/');
});
pm.collectionVariables.set('workosFactorId', factor.id);
pm.collectionVariables.set('totpSecret', factor.totp.secret);
""",
            {"type": "totp", "totp_issuer": "Foo Corp", "totp_user": "alan@foo-corp.com"},
            bearer=True,
        ),
        request(
            "(2) Challenge the Authentication Factor",
            "POST",
            "/auth/factors/{{workosFactorId}}/challenge",
            expect_status(201)
            + """
const challenge = pm.response.json();
pm.test('an authentication_challenge of that factor', () => {
  pm.expect(challenge.object).to.eql('authentication_challenge');
  pm.expect(challenge.authentication_factor_id).to.eql(pm.collectionVariables.get('workosFactorId'));
});
pm.collectionVariables.set('workosChallengeId', challenge.id);
""",
            {},
            bearer=True,
        ),
        request(
            "(3) Verify the Challenge",
            "POST",
            "/auth/challenges/{{workosChallengeId}}/verify",
            expect_status(200)
            + """
pm.test('valid', () => {
  pm.expect(pm.response.json().valid).to.eql(true);
  pm.expect(pm.response.json().challenge.id).to.eql(pm.collectionVariables.get('workosChallengeId'));
});
""",
            {"code": "{{totpCode}}"},
            bearer=True,
            pre=TOTP_CODE.replace("OFFSET", "0"),
        ),
        request(
            "Verify the Challenge again (already verified)",
            "POST",
            "/auth/challenges/{{workosChallengeId}}/verify",
            expect_status(422)
            + """
pm.test('authentication_challenge_previously_verified', () => pm.expect(pm.response.json().code).to.eql('authentication_challenge_previously_verified'));
""",
            {"code": "{{totpCode}}"},
            bearer=True,
        ),
        request(
            "Error: no API key",
            "POST",
            "/auth/factors/enroll",
            expect_status(401),
            {"type": "totp"},
            auth=False,
        ),
    ],
)

AUTHN_PASSWORD = "Sup3r-Secret-Phrase"
AUTHN_LOGIN = "jeff.beck.{{runId}}@example.com"
RECOVERY_LOGIN = "annie.oakley.{{runId}}@example.com"


def authn(name: str, path: str, tests: str, body: Any, pre: str = "") -> dict[str, Any]:
    """A call of the Authentication API: no API token, the stateToken is the credential."""
    return request(name, "POST", "/api/v1/authn" + path, tests, body, auth=False, pre=pre)


def expect_authn(status: str, save: str = "") -> str:
    return (
        expect_status(200)
        + f"""
const tx = pm.response.json();
pm.test('status {status}', () => pm.expect(tx.status).to.eql('{status}'));
"""
        + save
    )


SAVE_STATE = "pm.collectionVariables.set('stateToken', tx.stateToken);\n"
EXPECT_SESSION_TOKEN = """
pm.test('a one-time sessionToken, no stateToken', () => {
  pm.expect(tx.sessionToken).to.be.a('string').and.not.empty;
  pm.expect(tx).to.not.have.property('stateToken');
  pm.expect(tx._embedded.user.profile).to.have.keys('login', 'firstName', 'lastName', 'locale', 'timeZone');
});
pm.collectionVariables.set('sessionToken', tx.sessionToken);
"""
EXPECT_RATE_LIMIT_HEADERS = """
pm.test("Okta's rate-limit headers (RATE_LIMIT_AUTHN, per client)", () => {
  const limit = Number(pm.response.headers.get('X-Rate-Limit-Limit'));
  const remaining = Number(pm.response.headers.get('X-Rate-Limit-Remaining'));
  pm.expect(limit).to.be.above(0);
  pm.expect(remaining).to.be.within(0, limit - 1);
  pm.expect(Number(pm.response.headers.get('X-Rate-Limit-Reset'))).to.be.above(Date.now() / 1000 - 1);
});
"""
# Read the newest code sent to a phone number from the development outbox.
READ_SMS_CODE = """
const messages = pm.response.json();
pm.test('a code was sent', () => pm.expect(messages.length).to.be.above(0));
pm.collectionVariables.set('smsCode', messages[0].body.match(/\\b(\\d{6})\\b/)[1]);
"""


def group_condition() -> dict[str, Any]:
    return {"people": {"groups": {"include": ["{{authnGroupId}}"]}}}


AUTHENTICATION = folder(
    "Authentication",
    [
        request(
            "Create Group for sign-in policies",
            "POST",
            "/api/v1/groups",
            expect_status(200)
            + "pm.collectionVariables.set('authnGroupId', pm.response.json().id);\n",
            {"profile": {"name": "Sign-in policy group {{runId}}", "description": "Postman"}},
        ),
        request(
            "Create User in that Group",
            "POST",
            "/api/v1/users?activate=true",
            expect_status(200)
            + "pm.collectionVariables.set('authnUserId', pm.response.json().id);\n",
            {
                "profile": {
                    "firstName": "Jeff",
                    "lastName": "Beck",
                    "email": AUTHN_LOGIN,
                    "login": AUTHN_LOGIN,
                    "locale": "en",
                    "timeZone": "America/Los_Angeles",
                },
                "credentials": {"password": {"value": AUTHN_PASSWORD}},
                "groupIds": ["{{authnGroupId}}"],
            },
        ),
        authn(
            "Primary Authentication (SUCCESS)",
            "",
            expect_authn("SUCCESS", EXPECT_SESSION_TOKEN + EXPECT_RATE_LIMIT_HEADERS),
            {
                "username": AUTHN_LOGIN,
                "password": AUTHN_PASSWORD,
                "options": {"multiOptionalFactorEnroll": False, "warnBeforePasswordExpired": False},
            },
        ),
        authn(
            "Primary Authentication, wrong password",
            "",
            expect_error(401, "E0000004"),
            {"username": AUTHN_LOGIN, "password": "not-the-password"},
        ),
        request(
            "Expire the Password",
            "POST",
            "/api/v1/users/{{authnUserId}}/lifecycle/expire_password",
            expect_status(200),
        ),
        authn(
            "Primary Authentication (PASSWORD_EXPIRED)",
            "",
            expect_authn("PASSWORD_EXPIRED", SAVE_STATE)
            + """
pm.test('next: changePassword', () => pm.expect(tx._links.next.name).to.eql('changePassword'));
""",
            {"username": AUTHN_LOGIN, "password": AUTHN_PASSWORD},
        ),
        authn(
            "Change Password (SUCCESS)",
            "/credentials/change_password",
            expect_authn("SUCCESS", EXPECT_SESSION_TOKEN),
            {
                "stateToken": "{{stateToken}}",
                "oldPassword": AUTHN_PASSWORD,
                "newPassword": "Brand-New-Passw0rd",
            },
        ),
        request(
            "Require Google Authenticator for the Group (MFA_ENROLL policy)",
            "POST",
            "/api/v1/policies",
            expect_status(200)
            + "pm.collectionVariables.set('enrollPolicyId', pm.response.json().id);\n",
            {
                "type": "MFA_ENROLL",
                "name": "Google Authenticator required {{runId}}",
                "priority": 1,
                "conditions": group_condition(),
                "settings": {"factors": {"google_otp": {"enroll": {"self": "REQUIRED"}}}},
            },
        ),
        authn(
            "Primary Authentication (MFA_ENROLL)",
            "",
            expect_authn("MFA_ENROLL", SAVE_STATE)
            + """
pm.test('Google Authenticator is required, nothing to skip', () => {
  const google = tx._embedded.factors.find(f => f.provider === 'GOOGLE');
  pm.expect(google.enrollment).to.eql('REQUIRED');
  pm.expect(google.status).to.eql('NOT_SETUP');
  pm.expect(tx._links).to.not.have.property('skip');
});
""",
            {"username": AUTHN_LOGIN, "password": "Brand-New-Passw0rd"},
        ),
        authn(
            "Enroll Google Authenticator (MFA_ENROLL_ACTIVATE)",
            "/factors",
            expect_authn("MFA_ENROLL_ACTIVATE")
            + """
const factor = tx._embedded.factor;
pm.test('shared secret and QR code', () => {
  pm.expect(factor._embedded.activation.encoding).to.eql('base32');
  pm.expect(factor._embedded.activation._links.qrcode.type).to.eql('image/png');
  pm.expect(tx._links.next.name).to.eql('activate');
});
pm.collectionVariables.set('authnFactorId', factor.id);
pm.collectionVariables.set('totpSecret', factor._embedded.activation.sharedSecret);
""",
            {
                "stateToken": "{{stateToken}}",
                "factorType": "token:software:totp",
                "provider": "GOOGLE",
            },
        ),
        authn(
            "Activate Google Authenticator (SUCCESS)",
            "/factors/{{authnFactorId}}/lifecycle/activate",
            expect_authn("SUCCESS", EXPECT_SESSION_TOKEN),
            {"stateToken": "{{stateToken}}", "passCode": "{{totpCode}}"},
            pre=TOTP_CODE.replace("OFFSET", "0"),
        ),
        request(
            "Require MFA at sign-in for the Group (OKTA_SIGN_ON policy)",
            "POST",
            "/api/v1/policies",
            expect_status(200)
            + "pm.collectionVariables.set('signOnPolicyId', pm.response.json().id);\n",
            {
                "type": "OKTA_SIGN_ON",
                "name": "MFA at sign-in {{runId}}",
                "priority": 1,
                "conditions": group_condition(),
            },
        ),
        request(
            "Add a rule: require a factor",
            "POST",
            "/api/v1/policies/{{signOnPolicyId}}/rules",
            expect_status(200)
            + """
pm.test('a SIGN_ON rule', () => pm.expect(pm.response.json().type).to.eql('SIGN_ON'));
""",
            {
                "name": "Require MFA",
                "priority": 1,
                "actions": {"signon": {"access": "ALLOW", "requireFactor": True}},
            },
        ),
        request(
            "Enroll and activate an SMS Factor",
            "POST",
            "/api/v1/users/{{authnUserId}}/factors?activate=true",
            expect_status(200)
            + "pm.collectionVariables.set('smsFactorId', pm.response.json().id);\n",
            {
                "factorType": "sms",
                "provider": "OKTA",
                "profile": {"phoneNumber": "+1 505 269 4259"},
            },
        ),
        authn(
            "Primary Authentication (MFA_REQUIRED)",
            "",
            expect_authn("MFA_REQUIRED", SAVE_STATE)
            + """
pm.test('the enrolled factors, each with a verify link', () => {
  const types = tx._embedded.factors.map(f => f.factorType);
  pm.expect(types).to.include.members(['sms', 'token:software:totp']);
  tx._embedded.factors.forEach(f => pm.expect(f._links.verify.href).to.include('/api/v1/authn/factors/'));
  const sms = tx._embedded.factors.find(f => f.factorType === 'sms');
  pm.expect(sms.profile.phoneNumber, 'masked before SUCCESS').to.eql('+1 XXX-XXX-4259');
  pm.expect(tx._embedded.policy).to.have.keys('allowRememberDevice', 'rememberDeviceLifetimeInMinutes', 'rememberDeviceByDefault', 'factorsPolicyInfo');
});
""",
            {"username": AUTHN_LOGIN, "password": "Brand-New-Passw0rd"},
        ),
        authn(
            "Introspect the transaction (still MFA_REQUIRED)",
            "/introspect",
            expect_authn("MFA_REQUIRED")
            + """
pm.test('the same transaction, unchanged', () => {
  pm.expect(tx.stateToken).to.eql(pm.collectionVariables.get('stateToken'));
});
""",
            {"stateToken": "{{stateToken}}"},
        ),
        authn(
            "Send an SMS challenge (MFA_CHALLENGE)",
            "/factors/{{smsFactorId}}/verify",
            expect_authn("MFA_CHALLENGE")
            + """
pm.test('factorResult CHALLENGE, with resend', () => {
  pm.expect(tx.factorResult).to.eql('CHALLENGE');
  pm.expect(tx._links.resend[0].name).to.eql('sms');
});
""",
            {"stateToken": "{{stateToken}}"},
        ),
        request(
            "Read the SMS from the development outbox",
            "GET",
            "/api/v1/dev/outbox?to=%2B15052694259&limit=1",
            expect_status(200) + READ_SMS_CODE,
        ),
        authn(
            "Verify a wrong SMS code",
            "/factors/{{smsFactorId}}/verify",
            expect_error(403, "E0000068"),
            {"stateToken": "{{stateToken}}", "passCode": "000000"},
        ),
        authn(
            "Verify the SMS code (SUCCESS)",
            "/factors/{{smsFactorId}}/verify",
            expect_authn("SUCCESS", EXPECT_SESSION_TOKEN),
            {"stateToken": "{{stateToken}}", "passCode": "{{smsCode}}"},
        ),
        request(
            "Exchange the sessionToken for a Session",
            "POST",
            "/api/v1/sessions",
            expect_status(200)
            + """
const session = pm.response.json();
pm.test('an ACTIVE session with what was verified', () => {
  pm.expect(session.status).to.eql('ACTIVE');
  pm.expect(session.amr).to.include.members(['pwd', 'sms', 'mfa']);
  pm.expect(session.mfaActive).to.eql(true);
});
pm.collectionVariables.set('sessionId', session.id);
""",
            {"sessionToken": "{{sessionToken}}"},
        ),
        request(
            "Refresh the Session",
            "POST",
            "/api/v1/sessions/{{sessionId}}/lifecycle/refresh",
            expect_status(200),
        ),
        request("End the Session", "DELETE", "/api/v1/sessions/{{sessionId}}", expect_status(204)),
        request(
            "Get the ended Session",
            "GET",
            "/api/v1/sessions/{{sessionId}}",
            expect_error(404, "E0000007"),
        ),
        authn(
            "Primary Authentication, then cancel",
            "",
            expect_authn("MFA_REQUIRED", SAVE_STATE),
            {"username": AUTHN_LOGIN, "password": "Brand-New-Passw0rd", "relayState": "/app"},
        ),
        authn(
            "Cancel (UNAUTHENTICATED)",
            "/cancel",
            expect_authn("UNAUTHENTICATED")
            + "pm.test('relayState kept', () => pm.expect(tx.relayState).to.eql('/app'));\n",
            {"stateToken": "{{stateToken}}"},
        ),
        authn(
            "The cancelled stateToken is spent",
            "",
            expect_error(401, "E0000011"),
            {"stateToken": "{{stateToken}}"},
        ),
        request(
            "Allow SMS recovery for the Group (PASSWORD policy)",
            "POST",
            "/api/v1/policies",
            expect_status(200)
            + "pm.collectionVariables.set('passwordPolicyId', pm.response.json().id);\n",
            {
                "type": "PASSWORD",
                "name": "SMS recovery {{runId}}",
                "priority": 1,
                "conditions": group_condition(),
                "settings": {
                    "recovery": {
                        "factors": {
                            "okta_sms": {"status": "ACTIVE"},
                            "okta_email": {"status": "ACTIVE"},
                        }
                    }
                },
            },
        ),
        request(
            "Create a second User with an SMS Factor",
            "POST",
            "/api/v1/users?activate=true",
            expect_status(200)
            + "pm.collectionVariables.set('recoveryUserId', pm.response.json().id);\n",
            {
                "profile": {
                    "firstName": "Annie",
                    "lastName": "Oakley",
                    "email": RECOVERY_LOGIN,
                    "login": RECOVERY_LOGIN,
                },
                "credentials": {"password": {"value": AUTHN_PASSWORD}},
                "groupIds": ["{{authnGroupId}}"],
            },
        ),
        request(
            "Enroll and activate the second User's SMS Factor",
            "POST",
            "/api/v1/users/{{recoveryUserId}}/factors?activate=true",
            expect_status(200),
            {
                "factorType": "sms",
                "provider": "OKTA",
                "profile": {"phoneNumber": "+1 505 269 4260"},
            },
        ),
        authn(
            "Forgot Password by SMS (RECOVERY_CHALLENGE)",
            "/recovery/password",
            expect_authn("RECOVERY_CHALLENGE", SAVE_STATE)
            + """
pm.test('recovery by SMS', () => {
  pm.expect(tx.factorType).to.eql('SMS');
  pm.expect(tx.recoveryType).to.eql('PASSWORD');
  pm.expect(tx, 'names nobody: unknown users get the same answer').to.not.have.property('_embedded');
});
""",
            {"username": RECOVERY_LOGIN, "factorType": "SMS"},
        ),
        request(
            "Read the recovery SMS from the development outbox",
            "GET",
            "/api/v1/dev/outbox?to=%2B15052694260&limit=1",
            expect_status(200) + READ_SMS_CODE,
        ),
        authn(
            "Verify the recovery code (PASSWORD_RESET)",
            "/recovery/factors/SMS/verify",
            expect_authn("PASSWORD_RESET")
            + "pm.test('next: resetPassword', () => pm.expect(tx._links.next.name).to.eql('resetPassword'));\n",
            {"stateToken": "{{stateToken}}", "passCode": "{{smsCode}}"},
        ),
        authn(
            "Reset Password (MFA_ENROLL: the SMS code proved the phone, the Group requires Google Authenticator)",
            "/credentials/reset_password",
            expect_authn("MFA_ENROLL")
            + "pm.test('no session before the sign-on policy is met', () => pm.expect(tx.sessionToken).to.be.undefined);\n",
            {"stateToken": "{{stateToken}}", "newPassword": "Recovered-Passw0rd"},
        ),
        authn(
            "Sign in with the new Password (MFA_REQUIRED: the SMS Factor first, then enrolment)",
            "",
            expect_authn("MFA_REQUIRED"),
            {"username": RECOVERY_LOGIN, "password": "Recovered-Passw0rd"},
        ),
        request(
            "End all Sessions of the User",
            "DELETE",
            "/api/v1/users/{{authnUserId}}/sessions",
            expect_status(204),
        ),
        request(
            "Delete the PASSWORD policy",
            "DELETE",
            "/api/v1/policies/{{passwordPolicyId}}",
            expect_status(204),
        ),
        request(
            "Delete the OKTA_SIGN_ON policy",
            "DELETE",
            "/api/v1/policies/{{signOnPolicyId}}",
            expect_status(204),
        ),
        request(
            "Delete the MFA_ENROLL policy",
            "DELETE",
            "/api/v1/policies/{{enrollPolicyId}}",
            expect_status(204),
        ),
        request(
            "The default policies remain",
            "GET",
            "/api/v1/policies?type=OKTA_SIGN_ON",
            expect_status(200)
            + """
pm.test('only the system default is left', () => {
  const policies = pm.response.json();
  pm.expect(policies.map(p => p.system)).to.eql([true]);
});
""",
        ),
        request(
            "Deactivate the second User",
            "DELETE",
            "/api/v1/users/{{recoveryUserId}}",
            expect_status(204),
        ),
        request(
            "Delete the second User",
            "DELETE",
            "/api/v1/users/{{recoveryUserId}}",
            expect_status(204),
        ),
        request(
            "Deactivate the sign-in User",
            "DELETE",
            "/api/v1/users/{{authnUserId}}",
            expect_status(204),
        ),
        request(
            "Delete the sign-in User", "DELETE", "/api/v1/users/{{authnUserId}}", expect_status(204)
        ),
        request(
            "Delete the Group", "DELETE", "/api/v1/groups/{{authnGroupId}}", expect_status(204)
        ),
    ],
)

POLICY = "/api/v1/policies/{{policyId}}"
POLICY_RULE = POLICY + "/rules/{{policyRuleId}}"
POLICY_LOGIN = "ada.admin.{{runId}}@example.com"
STRICT_PASSWORDS = {
    "password": {
        "complexity": {"minLength": 14, "minSymbol": 1, "excludeAttributes": ["lastName"]},
        "age": {"historyCount": 6},
    }
}
POLICIES = folder(
    "Policies",
    [
        request(
            "List PASSWORD Policies (the default)",
            "GET",
            "/api/v1/policies?type=PASSWORD",
            expect_status(200)
            + """
const policies = pm.response.json();
const defaults = policies.filter(p => p.system);
pm.test('one system Default Policy, last, for Everyone', () => {
  pm.expect(defaults.length).to.eql(1);
  pm.expect(defaults[0].name).to.eql('Default Policy');
  pm.expect(defaults[0].priority).to.eql(policies.length);
  pm.expect(defaults[0].settings.password.complexity.minLength).to.eql(8);
  pm.expect(defaults[0]._links.self.hints.allow).to.eql(['GET', 'PUT']);
});
pm.collectionVariables.set('defaultPolicyId', defaults[0].id);
""",
        ),
        request(
            "Error: list without a type",
            "GET",
            "/api/v1/policies",
            expect_error(400, "E0000001"),
        ),
        request(
            "Create Group for the Policy",
            "POST",
            "/api/v1/groups",
            expect_status(200)
            + "pm.collectionVariables.set('policyGroupId', pm.response.json().id);\n",
            {"profile": {"name": "Admins {{runId}}", "description": "Postman policies"}},
        ),
        request(
            "Create PASSWORD Policy for the Group",
            "POST",
            "/api/v1/policies",
            expect_status(200)
            + """
const policy = pm.response.json();
pm.test('an ACTIVE 00p policy at priority 1', () => {
  pm.expect(policy.id).to.match(/^00p[A-Za-z0-9]{17}$/);
  pm.expect(policy.status).to.eql('ACTIVE');
  pm.expect(policy.priority).to.eql(1);
  pm.expect(policy.system).to.eql(false);
  pm.expect(policy._links.deactivate.href).to.match(/^https?:\\/\\//);
});
pm.collectionVariables.set('policyId', policy.id);
""",
            {
                "type": "PASSWORD",
                "name": "Admins passwords {{runId}}",
                "description": "Longer passwords for admins",
                "priority": 1,
                "conditions": {"people": {"groups": {"include": ["{{policyGroupId}}"]}}},
                "settings": STRICT_PASSWORDS,
            },
        ),
        request(
            "Get Policy",
            "GET",
            POLICY,
            expect_status(200)
            + """
pm.test('the settings as sent', () => {
  const complexity = pm.response.json().settings.password.complexity;
  pm.expect(complexity.minLength).to.eql(14);
  pm.expect(complexity.minSymbol).to.eql(1);
});
""",
        ),
        request(
            "Error: a Group member's password too short for the Policy",
            "POST",
            "/api/v1/users?activate=true",
            expect_error(400, "E0000001")
            + """
pm.test('the policy asks for 14 characters', () => {
  const causes = pm.response.json().errorCauses.map(c => c.errorSummary).join(' ');
  pm.expect(causes).to.include('at least 14 characters');
});
""",
            {
                "profile": {
                    "firstName": "Ada",
                    "lastName": "Admin",
                    "email": POLICY_LOGIN,
                    "login": POLICY_LOGIN,
                },
                "credentials": {"password": {"value": "Sup3r-Secret"}},
                "groupIds": ["{{policyGroupId}}"],
            },
        ),
        request(
            "Create a Group member with a password the Policy accepts",
            "POST",
            "/api/v1/users?activate=true",
            expect_status(200)
            + "pm.collectionVariables.set('policyUserId', pm.response.json().id);\n",
            {
                "profile": {
                    "firstName": "Ada",
                    "lastName": "Admin",
                    "email": POLICY_LOGIN,
                    "login": POLICY_LOGIN,
                },
                "credentials": {"password": {"value": "Sup3r-Secret-Phrase!"}},
                "groupIds": ["{{policyGroupId}}"],
            },
        ),
        request(
            "List Policy Rules",
            "GET",
            POLICY + "/rules",
            expect_status(200)
            + """
pm.test('one ordinary rule, so the policy applies', () => {
  const rules = pm.response.json();
  pm.expect(rules.length).to.eql(1);
  pm.expect(rules[0].type).to.eql('PASSWORD');
  pm.expect(rules[0].system).to.eql(false);
});
""",
        ),
        request(
            "Create Policy Rule at priority 1",
            "POST",
            POLICY + "/rules",
            expect_status(200)
            + """
const rule = pm.response.json();
pm.test('a 0pr rule first in line', () => {
  pm.expect(rule.id).to.match(/^0pr/);
  pm.expect(rule.priority).to.eql(1);
  pm.expect(rule.actions.selfServiceUnlock.access).to.eql('ALLOW');
});
pm.collectionVariables.set('policyRuleId', rule.id);
""",
            {
                "type": "PASSWORD",
                "name": "Self-service unlock {{runId}}",
                "priority": 1,
                "conditions": {
                    "people": {"users": {"exclude": []}},
                    "network": {"connection": "ANYWHERE"},
                },
                "actions": {
                    "passwordChange": {"access": "ALLOW"},
                    "selfServicePasswordReset": {"access": "ALLOW"},
                    "selfServiceUnlock": {"access": "ALLOW"},
                },
            },
        ),
        request(
            "Update Policy Rule",
            "PUT",
            POLICY_RULE,
            expect_status(200)
            + """
pm.test('renamed, unlock denied', () => {
  pm.expect(pm.response.json().name).to.eql('No self-service unlock');
  pm.expect(pm.response.json().actions.selfServiceUnlock.access).to.eql('DENY');
});
""",
            {
                "type": "PASSWORD",
                "name": "No self-service unlock",
                "actions": {"selfServiceUnlock": {"access": "DENY"}},
            },
        ),
        request(
            "Deactivate Policy Rule",
            "POST",
            POLICY_RULE + "/lifecycle/deactivate",
            expect_status(204),
        ),
        request(
            "Get deactivated Policy Rule",
            "GET",
            POLICY_RULE,
            expect_status(200)
            + """
pm.test('INACTIVE, with an activate link', () => {
  pm.expect(pm.response.json().status).to.eql('INACTIVE');
  pm.expect(pm.response.json()._links).to.have.property('activate');
});
""",
        ),
        request(
            "Activate Policy Rule", "POST", POLICY_RULE + "/lifecycle/activate", expect_status(204)
        ),
        request("Delete Policy Rule", "DELETE", POLICY_RULE, expect_status(204)),
        request("Get deleted Policy Rule", "GET", POLICY_RULE, expect_error(404, "E0000007")),
        request(
            "Get Policy with its Rules (expand=rules)",
            "GET",
            POLICY + "?expand=rules",
            expect_status(200)
            + """
pm.test('the rules embedded', () => pm.expect(pm.response.json()._embedded.rules.length).to.eql(1));
""",
        ),
        request("Deactivate Policy", "POST", POLICY + "/lifecycle/deactivate", expect_status(204)),
        request(
            "Get deactivated Policy",
            "GET",
            POLICY,
            expect_status(200)
            + "pm.test('INACTIVE', () => pm.expect(pm.response.json().status).to.eql('INACTIVE'));\n",
        ),
        request(
            "Error: delete the default Policy",
            "DELETE",
            "/api/v1/policies/{{defaultPolicyId}}",
            expect_error(400, "E0000001"),
        ),
        request(
            "Error: deactivate the default Policy",
            "POST",
            "/api/v1/policies/{{defaultPolicyId}}/lifecycle/deactivate",
            expect_error(400, "E0000001"),
        ),
        request(
            "Error: invalid settings",
            "POST",
            "/api/v1/policies",
            expect_error(400, "E0000001")
            + """
pm.test('the cause names the field', () => {
  pm.expect(pm.response.json().errorCauses[0].errorSummary).to.include('minLength');
});
""",
            {
                "type": "PASSWORD",
                "name": "Too short",
                "settings": {"password": {"complexity": {"minLength": 2}}},
            },
        ),
        request("Delete Policy", "DELETE", POLICY, expect_status(204)),
        request("Get deleted Policy", "GET", POLICY, expect_error(404, "E0000007")),
        request(
            "Deactivate the Group member",
            "DELETE",
            "/api/v1/users/{{policyUserId}}",
            expect_status(204),
        ),
        request(
            "Delete the Group member",
            "DELETE",
            "/api/v1/users/{{policyUserId}}",
            expect_status(204),
        ),
        request(
            "Delete the Group", "DELETE", "/api/v1/groups/{{policyGroupId}}", expect_status(204)
        ),
    ],
)

SESSION_LOGIN = "kirk.hammett.{{runId}}@example.com"


def sign_in_for_session(name: str) -> dict[str, Any]:
    return authn(
        name,
        "",
        expect_authn("SUCCESS", EXPECT_SESSION_TOKEN),
        {"username": SESSION_LOGIN, "password": AUTHN_PASSWORD},
    )


SESSIONS = folder(
    "Sessions",
    [
        request(
            "Create a User to sign in",
            "POST",
            "/api/v1/users?activate=true",
            expect_status(200)
            + "pm.collectionVariables.set('sessionUserId', pm.response.json().id);\n",
            {
                "profile": {
                    "firstName": "Kirk",
                    "lastName": "Hammett",
                    "email": SESSION_LOGIN,
                    "login": SESSION_LOGIN,
                },
                "credentials": {"password": {"value": AUTHN_PASSWORD}},
            },
        ),
        sign_in_for_session("Primary Authentication (SUCCESS)"),
        request(
            "Create Session with the sessionToken",
            "POST",
            "/api/v1/sessions",
            expect_status(200)
            + """
const session = pm.response.json();
pm.test('the session object of the seed walkthrough', () => {
  pm.expect(session).to.include.keys('id', 'userId', 'login', 'createdAt', 'expiresAt', 'status',
    'lastPasswordVerification', 'lastFactorVerification', 'amr', 'idp', 'mfaActive', '_links');
  pm.expect(session.id).to.match(/^102/);
  pm.expect(session.amr).to.eql(['pwd']);
  pm.expect(session._links.refresh.hints.allow).to.eql(['POST']);
});
pm.collectionVariables.set('sessionId', session.id);
pm.collectionVariables.set('sessionExpiresAt', session.expiresAt);
""",
            {"sessionToken": "{{sessionToken}}"},
        ),
        request(
            "Create Session with the same sessionToken (one-time)",
            "POST",
            "/api/v1/sessions",
            expect_error(403, "E0000005"),
            {"sessionToken": "{{sessionToken}}"},
        ),
        request(
            "Get Session",
            "GET",
            "/api/v1/sessions/{{sessionId}}",
            expect_status(200)
            + """
pm.test('ACTIVE, this user', () => {
  pm.expect(pm.response.json().status).to.eql('ACTIVE');
  pm.expect(pm.response.json().userId).to.eql(pm.collectionVariables.get('sessionUserId'));
});
""",
        ),
        request(
            "Refresh Session",
            "POST",
            "/api/v1/sessions/{{sessionId}}/lifecycle/refresh",
            expect_status(200)
            + """
pm.test('expiresAt not earlier', () => pm.expect(Date.parse(pm.response.json().expiresAt)).to.be.at.least(Date.parse(pm.collectionVariables.get('sessionExpiresAt'))));
""",
        ),
        request("Delete Session", "DELETE", "/api/v1/sessions/{{sessionId}}", expect_status(204)),
        request(
            "Get deleted Session",
            "GET",
            "/api/v1/sessions/{{sessionId}}",
            expect_error(404, "E0000007"),
        ),
        sign_in_for_session("Sign in again"),
        request(
            "Create a second Session",
            "POST",
            "/api/v1/sessions",
            expect_status(200)
            + "pm.collectionVariables.set('sessionId', pm.response.json().id);\n",
            {"sessionToken": "{{sessionToken}}"},
        ),
        request(
            "Revoke all of the User's Sessions",
            "DELETE",
            "/api/v1/users/{{sessionUserId}}/sessions",
            expect_status(204),
        ),
        request(
            "Get a revoked Session",
            "GET",
            "/api/v1/sessions/{{sessionId}}",
            expect_error(404, "E0000007"),
        ),
        request(
            "Get current Session without a cookie",
            "GET",
            "/api/v1/sessions/me",
            expect_error(404, "E0000007"),
            auth=False,
        ),
        sign_in_for_session("Sign in for the cookie hand-off"),
        request(
            "Cookie hand-off: POST the sessionToken as a form",
            "POST",
            "/login/sessionCookieRedirect",
            expect_status(302)
            + """
pm.test('redirects to redirectUrl and sets the session cookie', () => {
  pm.expect(pm.response.headers.get('Location')).to.eql(pm.variables.replaceIn('{{baseUrl}}/app'));
  pm.expect(pm.response.headers.get('Set-Cookie')).to.match(/HttpOnly/);
});
""",
            auth=False,
            form={"token": "{{sessionToken}}", "redirectUrl": "{{baseUrl}}/app"},
        ),
        request(
            "Cookie hand-off with the same sessionToken (one-time)",
            "POST",
            "/login/sessionCookieRedirect",
            expect_status(401)
            + "pm.test('no cookie', () => pm.expect(pm.response.headers.has('Set-Cookie'))"
            ".to.be.false);\n",
            auth=False,
            form={"token": "{{sessionToken}}", "redirectUrl": "{{baseUrl}}/app"},
        ),
        request(
            "Cookie hand-off: a JSON body is not the form",
            "POST",
            "/login/sessionCookieRedirect",
            expect_error(400, "E0000001"),
            {"token": "{{sessionToken}}", "redirectUrl": "{{baseUrl}}/app"},
            auth=False,
        ),
        request(
            "Deactivate the User", "DELETE", "/api/v1/users/{{sessionUserId}}", expect_status(204)
        ),
        request("Delete the User", "DELETE", "/api/v1/users/{{sessionUserId}}", expect_status(204)),
    ],
)

TRUSTED_ORIGINS = folder(
    "Trusted Origins",
    [
        request(
            "Create Trusted Origin",
            "POST",
            "/api/v1/trustedOrigins",
            expect_status(200)
            + """
const origin = pm.response.json();
pm.test('ACTIVE, both scopes', () => {
  pm.expect(origin.id).to.match(/^tos/);
  pm.expect(origin.scopes.map(s => s.type)).to.eql(['CORS', 'REDIRECT']);
});
pm.collectionVariables.set('trustedOriginId', origin.id);
""",
            {
                "name": "Example app {{runId}}",
                "origin": "https://app-{{runId}}.example.com",
                "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}],
            },
        ),
        request(
            "Create Trusted Origin with a path (refused)",
            "POST",
            "/api/v1/trustedOrigins",
            expect_error(400, "E0000001"),
            {"name": "bad", "origin": "https://app.example.com/path", "scopes": [{"type": "CORS"}]},
        ),
        request(
            "Deactivate Trusted Origin",
            "POST",
            "/api/v1/trustedOrigins/{{trustedOriginId}}/lifecycle/deactivate",
            expect_status(200)
            + "pm.test('INACTIVE', () => pm.expect(pm.response.json().status).to.eql('INACTIVE'));\n",
        ),
        request(
            "Delete Trusted Origin",
            "DELETE",
            "/api/v1/trustedOrigins/{{trustedOriginId}}",
            expect_status(204),
        ),
    ],
)

CLEANUP = folder(
    "Cleanup",
    [
        request("Delete User (deactivates)", "DELETE", USER, expect_status(204)),
        request(
            "Get deactivated User",
            "GET",
            USER,
            expect_status(200)
            + """
pm.test('DEPROVISIONED', () => pm.expect(pm.response.json().status).to.eql('DEPROVISIONED'));
""",
        ),
        request("Delete User (deletes)", "DELETE", USER, expect_status(204)),
        request("Get deleted User", "GET", USER, expect_error(404, "E0000007")),
    ],
)


HEALTH = folder(
    "Health",
    [
        request(
            "Liveness (no store asked)",
            "GET",
            "/healthz/live",
            expect_status(200)
            + "pm.test('ok', () => pm.expect(pm.response.json()).to.eql({status: 'ok'}));\n",
            auth=False,
        ),
        request(
            "Readiness (the database and Redis answer)",
            "GET",
            "/healthz",
            expect_status(200) + "pm.test('both stores answer', () => {\n"
            "  const body = pm.response.json();\n"
            "  pm.expect(body.status).to.eql('ok');\n"
            "  pm.expect(body.checks).to.eql({database: 'ok', redis: 'ok'});\n"
            "});\n",
            auth=False,
        ),
    ],
)


def collection() -> dict[str, Any]:
    return {
        "info": {
            "name": "Portcullis",
            "description": "Portcullis: Okta's Users, Groups, Factors, Authentication, "
            "Policies, Sessions and Trusted Origins APIs, and the WorkOS-style MFA API. "
            "Set baseUrl and apiToken (instance/admin-token) in the environment.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "event": [
            {"listen": "prerequest", "script": {"exec": COLLECTION_PRE_REQUEST.strip().split("\n")}}
        ],
        "variable": [{"key": "runId", "value": ""}],
        "item": [
            HEALTH,
            USERS,
            GROUPS,
            FACTORS,
            AUTHENTICATION,
            SESSIONS,
            POLICIES,
            TRUSTED_ORIGINS,
            WORKOS,
            CLEANUP,
        ],
    }


def render() -> str:
    return json.dumps(collection(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
