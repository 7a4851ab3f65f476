"""Settings: one object built from the environment at start-up and passed in.

Every setting has a documented default (see docs/configuration.md) so that a
newcomer runs Portcullis with no environment at all: SQLite under
``./instance/`` and an in-process fakeredis.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _convert(name: str, raw: str, annotation: Any) -> Any:
    """An environment string as the field's type (``int``, ``bool`` or ``str``)."""
    if annotation in (int, "int"):
        try:
            return int(raw)
        except ValueError as exc:
            raise ValueError(f"{name} must be an integer, got {raw!r}") from exc
    if annotation in (bool, "bool"):
        if raw.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError(f"{name} must be true or false, got {raw!r}")
        return raw.lower() in ("1", "true", "yes")
    return raw


def _persistent_secret(instance_path: Path, name: str, nbytes: int) -> str:
    """Read a generated secret from the instance folder, creating it once.

    A secret that changed on every start would invalidate signed links and
    make encrypted factor secrets unreadable, so the generated value is kept
    beside the SQLite database with mode 0600.
    """
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    # The folder holds the database, keys and the admin token: owner only.
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


#: RFC 6265 ``token`` characters: what a cookie name may be made of.
_COOKIE_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
#: Cookie name prefixes (RFC 6265bis, matched in any letter case) a browser
#: only accepts with ``Secure``, which Portcullis sets only on an https BASE_URL.
_SECURE_PREFIXES = ("__host-", "__secure-")


def _check_cookie_name(name: str, base_url: str) -> None:
    """Refuse a session cookie name the browser would drop or that is no cookie name.

    ``__Host-`` and ``__Secure-`` cookies are accepted by browsers only with
    ``Secure`` (``__Host-`` also with ``Path=/`` and no ``Domain``, which the
    session cookie always has): on an http ``BASE_URL`` every sign-in would
    set a cookie the browser throws away, so the server does not start.
    """
    if not _COOKIE_NAME.match(name):
        raise ValueError(
            f"SESSION_COOKIE_NAME must be a cookie name (letters, digits and !#$%&'*+-.^_`|~), "
            f"got {name!r}"
        )
    if name.lower().startswith(_SECURE_PREFIXES) and not base_url.startswith("https://"):
        raise ValueError(
            f"SESSION_COOKIE_NAME {name!r} needs an https BASE_URL: browsers accept "
            f"__Host- and __Secure- cookies only with Secure, which is set only when "
            f"BASE_URL starts with https:// (BASE_URL is {base_url!r})"
        )


@dataclass(frozen=True)
class Settings:
    """What a running Portcullis needs to know, with the embedded defaults."""

    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""
    redis_url: str = "fakeredis://"
    secret_key: str = ""
    encryption_key: str = ""
    base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    org_name: str = "Portcullis"
    # Lifetimes, in seconds unless named otherwise.
    activation_token_ttl: int = 7 * 24 * 3600
    recovery_token_ttl: int = 60 * 60
    state_token_ttl: int = 5 * 60
    session_token_ttl: int = 5 * 60
    session_cookie_samesite: str = "Lax"  # the sid cookie: Lax, Strict or None
    # The session cookie's name: Okta's "sid", or "__Host-sid" (ASVS 3.4.4) on https.
    session_cookie_name: str = "sid"
    # Serve GET /login/sessionCookieRedirect?token=… (Okta's form, which puts the
    # one-time sessionToken in a URL); false leaves only the POST form (ASVS 3.1.1).
    session_cookie_redirect_get: bool = True
    # Where /signin sends the browser after SUCCESS (via sessionCookieRedirect);
    # empty: BASE_URL + "/app", the session page that ships with the server.
    signin_redirect_url: str = ""
    # argon2id cost (argon2-cffi's RFC 9106 "low memory" profile by default).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "portcullis@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # Factors
    totp_issuer: str = ""  # the label authenticator apps show; ORG_NAME when empty
    totp_skew_steps: int = 1
    qr_code_ttl: int = 600
    otp_lifetime: int = 300
    otp_resend_after: int = 30
    otp_max_attempts: int = 5
    # WebAuthn (docs/factors/webauthn.md): the relying party id (a registrable
    # domain; empty: BASE_URL's host), further origins allowed to run the
    # ceremonies besides BASE_URL's (comma-separated, e.g. the Sign-In Widget's
    # page), and whether the authenticator must verify the user (PIN, biometrics).
    webauthn_rp_id: str = ""
    webauthn_origins: str = ""
    webauthn_user_verification: str = "preferred"
    # How long a WorkOS-style challenge is kept after it was made (it answers
    # "expired" or "already verified" until then, 404 after).
    workos_challenge_retention: int = 24 * 3600
    sms_template: str = "Your {org} verification code is {code}"
    email_subject: str = "Your {org} verification code"
    email_template: str = "Your {org} verification code is {code}. It expires in {minutes} minutes."
    # Twilio (SMS and voice); unset keeps messages in the local outbox.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = ""  # only to point the SDK at a local fake in tests
    # GET /api/v1/dev/outbox: "auto" (on only with the embedded SQLite + fakeredis
    # defaults), "true" or "false". Never on while Twilio or SMTP delivers.
    dev_outbox_http: str = "auto"
    # Requests to /api/v1/authn* per client address (the notation of `limits`,
    # e.g. "300 per minute" or "10/second;300/minute"); "off" switches it off.
    rate_limit_authn: str = "300 per minute"
    # Proxies in front of the server that append to X-Forwarded-For (0: none).
    trusted_proxy_count: int = 0
    # Input limits, enforced where a request enters (app/api); see docs/configuration.md
    # for where each default comes from.
    request_body_max_bytes: int = 1024 * 1024  # larger bodies: 413, before parsing
    relay_state_max_length: int = 2048  # Okta's documented MaxLength of relayState
    password_max_length: int = 256  # Okta sets none (it keeps 72 characters): a sanity cap
    request_json_max_depth: int = 32  # no Okta or WorkOS body nests past 5: 400 beyond
    # What /authn answers show as a user's profile.locale and profile.timeZone when
    # the profile has none (Okta always sends strings: the org's defaults).
    default_locale: str = "en_US"
    default_time_zone: str = "America/Los_Angeles"
    # Store outages (docs/configuration.md#outages): connect and read timeouts, well
    # under gunicorn's 30 s, and the Retry-After of the 503 a request gets meanwhile.
    redis_timeout: float = 2.0  # seconds, to connect and for each reply
    database_connect_timeout: int = 3  # seconds (PostgreSQL)
    database_statement_timeout: int = 10  # seconds a PostgreSQL statement may run
    # psycopg's server-side prepared statements; off behind a pooler that cannot
    # track them (pgbouncer in transaction mode before 1.22): docs/scaling.md.
    database_prepared_statements: bool = True
    outage_retry_after: int = 5  # seconds
    # How long a process trusts an SSWS token or WorkOS key it found active
    # without asking the database again; a token revoked by another process or
    # instance works there this long at most (0: ask on every request).
    api_token_cache_seconds: float = 2.0
    delivery_timeout: float = 10.0  # seconds for Twilio's API and the SMTP relay
    # Strict-Transport-Security max-age, sent only when BASE_URL is https (0: never).
    hsts_max_age: int = 365 * 24 * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (``os.environ`` by default).

        Every field is read from the variable of its name in capitals
        (``otp_lifetime`` ← ``OTP_LIFETIME``); an unset or empty variable keeps
        the default. Four defaults are derived: the SQLite file and the two
        generated keys live in the instance folder, and ``BASE_URL`` follows
        ``HOST`` and ``PORT``.
        """
        env = os.environ if env is None else env
        instance = Path(env.get("PORTCULLIS_INSTANCE") or "instance").resolve()
        values: dict[str, Any] = {"instance_path": instance}
        for spec in fields(cls):
            raw = env.get(spec.name.upper())
            if spec.name != "instance_path" and raw not in (None, ""):
                values[spec.name] = _convert(spec.name.upper(), raw, spec.type)
        if "database_url" not in values:
            values["database_url"] = f"sqlite:///{instance / 'portcullis.db'}"
            # SQLite creates the file, not its folder (which holds keys too: owner only).
            instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in ("secret_key", "encryption_key"):
            if name not in values:  # generated only when not configured
                values[name] = _persistent_secret(instance, name.replace("_", "-"), 32)
        host, port = values.get("host", cls.host), values.get("port", cls.port)
        values["base_url"] = str(values.get("base_url") or f"http://{host}:{port}").rstrip("/")
        return cls(**values)

    def __post_init__(self) -> None:
        _check_cookie_name(self.session_cookie_name, self.base_url)
        for name in (
            "request_body_max_bytes",
            "relay_state_max_length",
            "password_max_length",
            "request_json_max_depth",
            "workos_challenge_retention",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.upper()} must be at least 1, got {getattr(self, name)}")
        if self.api_token_cache_seconds < 0:
            raise ValueError(
                f"API_TOKEN_CACHE_SECONDS must be 0 or more, got {self.api_token_cache_seconds}"
            )
        if self.hsts_max_age < 0:
            raise ValueError(f"HSTS_MAX_AGE must be 0 or more, got {self.hsts_max_age}")
        self._check_webauthn()

    def _check_webauthn(self) -> None:
        """Refuse at start what no browser would accept at sign-in."""
        if self.webauthn_user_verification not in ("required", "preferred", "discouraged"):
            raise ValueError(
                "WEBAUTHN_USER_VERIFICATION must be required, preferred or discouraged, "
                f"got {self.webauthn_user_verification!r}"
            )
        for origin in self.webauthn_origin_list[1:]:
            parsed = urlsplit(origin)
            if parsed.scheme not in ("https", "http") or not parsed.hostname or parsed.path:
                raise ValueError(
                    f"WEBAUTHN_ORIGINS: {origin!r} is not an origin (scheme://host[:port])"
                )

    @property
    def webauthn_rp(self) -> str:
        """The relying party id: WEBAUTHN_RP_ID, else BASE_URL's host."""
        return (self.webauthn_rp_id or urlsplit(self.base_url).hostname or "localhost").lower()

    @property
    def webauthn_origin_list(self) -> tuple[str, ...]:
        """BASE_URL's origin first, then WEBAUTHN_ORIGINS' (no trailing slash)."""
        own = urlsplit(self.base_url)
        extra = (o.strip().rstrip("/") for o in self.webauthn_origins.split(","))
        return (f"{own.scheme}://{own.netloc}", *(o for o in extra if o))

    @property
    def issuer(self) -> str:
        return self.totp_issuer or self.org_name

    @property
    def dev_outbox_enabled(self) -> bool:
        """Whether the development outbox is readable over HTTP (see docs/configuration.md)."""
        mode = self.dev_outbox_http.lower()
        if mode not in ("auto", "true", "false"):
            raise ValueError(f"DEV_OUTBOX_HTTP must be auto, true or false, got {mode!r}")
        if mode == "false" or self.twilio_configured or self.smtp_host:
            return False
        if mode == "true":
            return True
        return self.database_url.startswith("sqlite") and self.redis_url.startswith("fakeredis")

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)
