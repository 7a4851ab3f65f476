"""Okta's JSON shapes, rendered in one place: users, groups, ``_links``, ``Link`` headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from app.domain import ids
from app.domain.clock import okta_timestamp
from app.domain.factors import Factor, FactorKind, Verification, totp
from app.domain.groups import Group
from app.domain.users import User, allowed_operations
from app.services.context import Context
from app.services.credentials import credentials_view
from app.services.users import Page


def link(href: str, method: str | None = None) -> dict[str, Any]:
    return {"href": href, "method": method} if method else {"href": href}


#: Standard attributes Okta sends as null when the profile has none.
NULL_WHEN_UNSET = ("mobilePhone", "secondEmail")


def default_user_type(ctx: Context) -> tuple[str, str]:
    """(type id, schema id) of the one user type: stable for a deployment,
    20 characters as Okta's (``oty…``, ``osc…``, sharing their suffix)."""
    type_id = ids.stable_id(ids.USER_TYPE, ctx.settings.secret_key, "default-user-type")
    return type_id, ids.USER_SCHEMA + type_id[len(ids.USER_TYPE) :]


def user_json(ctx: Context, user: User, *, in_collection: bool = False) -> dict[str, Any]:
    """A user; in a collection (listings) its ``_links`` carry only ``self``, as Okta's do."""
    base = ctx.url(f"/api/v1/users/{user.id}")
    type_id, schema_id = default_user_type(ctx)
    links: dict[str, Any] = {}
    if not in_collection:
        links = {op.link: link(f"{base}/{op.path}", "POST") for op in allowed_operations(user)}
        links["schema"] = link(ctx.url(f"/api/v1/meta/schemas/user/{schema_id}"))
        links["type"] = link(ctx.url(f"/api/v1/meta/types/user/{type_id}"))
    links["self"] = link(base)
    profile = {name: None for name in NULL_WHEN_UNSET} | user.profile
    body: dict[str, Any] = {
        "id": user.id,
        "status": user.status.value,
        "created": okta_timestamp(user.created),
        "activated": okta_timestamp(user.activated),
        "statusChanged": okta_timestamp(user.status_changed),
        "lastLogin": okta_timestamp(user.last_login),
        "lastUpdated": okta_timestamp(user.last_updated),
        "passwordChanged": okta_timestamp(user.password_changed),
        "type": {"id": type_id},
        "profile": profile,
        "credentials": credentials_view(user),
        "_links": links,
    }
    if user.transitioning_to_status:
        body["transitioningToStatus"] = user.transitioning_to_status
    return body


def group_json(ctx: Context, group: Group) -> dict[str, Any]:
    base = ctx.url(f"/api/v1/groups/{group.id}")
    return {
        "id": group.id,
        "created": okta_timestamp(group.created),
        "lastUpdated": okta_timestamp(group.last_updated),
        "lastMembershipUpdated": okta_timestamp(group.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": group.type,
        "profile": group.profile,
        "_links": {"self": link(base), "users": link(f"{base}/users")},
    }


def link_headers(
    ctx: Context, path: str, params: dict[str, Any], page: Page
) -> list[tuple[str, str]]:
    """One ``Link`` header per relation, as Okta sends them:
    ``Link: <…>; rel="self"`` and ``Link: <…?after=…>; rel="next"``."""
    next_after = page.next_after
    params = {**params, "limit": page.limit}
    kept = {k: v for k, v in params.items() if v not in (None, "") and k != "after"}
    self_params = {**kept, **({"after": params["after"]} if params.get("after") else {})}
    links = [f'<{ctx.url(path)}{_query(self_params)}>; rel="self"']
    if next_after is not None:
        links.append(f'<{ctx.url(path)}{_query({**kept, "after": next_after})}>; rel="next"')
    return [("Link", value) for value in links]


def _query(params: dict[str, Any]) -> str:
    return "?" + urlencode(params) if params else ""


# ---- factors ---------------------------------------------------------------------


def hinted(href: str, *methods: str) -> dict[str, Any]:
    return {"href": href, "hints": {"allow": list(methods)}}


def factor_links(ctx: Context, factor: Factor) -> dict[str, Any]:
    """Only the links valid now, in the order of Okta's responses."""
    user = ctx.url(f"/api/v1/users/{factor.user_id}")
    base = f"{user}/factors/{factor.id}"
    links: dict[str, Any] = {}
    if factor.active:
        if factor.kind.verification == Verification.ANSWER:
            links["questions"] = hinted(f"{user}/factors/questions", "GET")
        links["self"] = hinted(base, "GET", "DELETE")
        links["verify"] = hinted(f"{base}/verify", "POST")
    else:
        links["activate"] = hinted(f"{base}/lifecycle/activate", "POST")
        if factor.kind.channel:
            links["resend"] = [{"name": factor.kind.channel, **hinted(f"{base}/resend", "POST")}]
        links["self"] = hinted(base, "GET")
    links["user"] = hinted(user, "GET")
    return links


def factor_json(
    ctx: Context,
    factor: Factor,
    qr_token: str | None = None,
    activation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": factor.id,
        "factorType": factor.factor_type,
        "provider": factor.provider,
        "vendorName": factor.kind.vendor_name,
        "status": factor.status.value,
        "created": okta_timestamp(factor.created),
        "lastUpdated": okta_timestamp(factor.last_updated),
        "profile": factor.profile,
        "_links": factor_links(ctx, factor),
    }
    if qr_token is not None and not factor.active and factor.secret:
        # The secret is shown once, at enrolment, and never after activation.
        qr = ctx.url(f"/api/v1/users/{factor.user_id}/factors/{factor.id}/qr/{qr_token}")
        body["_embedded"] = {
            "activation": {
                "timeStep": totp.STEP_SECONDS,
                "sharedSecret": factor.secret,
                "encoding": "base32",
                "keyLength": totp.DIGITS,
                "factorResult": "WAITING",
                "_links": {"qrcode": {"href": qr, "type": "image/png"}},
            }
        }
    if activation is not None and not factor.active:
        body["_embedded"] = {"activation": webauthn_activation(activation)}
    return body


def webauthn_activation(options: dict[str, Any]) -> dict[str, Any]:
    """``navigator.credentials.create``'s options as Okta sends them (the
    Sign-In Widget's MFA_ENROLL_ACTIVATE_webauthn fixture): rp, user,
    challenge, pubKeyCredParams, attestation, authenticatorSelection,
    excludeCredentials, timeout; byte fields base64url."""
    keys = (
        "rp",
        "user",
        "challenge",
        "pubKeyCredParams",
        "attestation",
        "authenticatorSelection",
        "excludeCredentials",
        "timeout",
    )
    return {key: options[key] for key in keys if key in options}


def webauthn_challenge(options: dict[str, Any]) -> dict[str, Any]:
    """``navigator.credentials.get``'s options as Okta's ``_embedded.challenge``."""
    body = {"challenge": options["challenge"], "extensions": {}}
    for key in ("userVerification", "allowCredentials", "timeout", "rpId"):
        if key in options:
            body[key] = options[key]
    return body


def catalog_entry_json(
    ctx: Context, user_id: str, kind: FactorKind, enrolled: Factor | None
) -> dict[str, Any]:
    user = ctx.url(f"/api/v1/users/{user_id}")
    links: dict[str, Any] = {}
    if kind.verification == Verification.ANSWER:
        links["questions"] = hinted(f"{user}/factors/questions", "GET")
    links["enroll"] = hinted(f"{user}/factors", "POST")
    entry: dict[str, Any] = {
        "factorType": kind.factor_type,
        "provider": kind.provider,
        "vendorName": kind.vendor_name,
        "status": enrolled.status.value if enrolled else "NOT_SETUP",
        "_links": links,
    }
    return entry


def challenge_json(ctx: Context, factor: Factor) -> dict[str, Any]:
    """``factorResult: CHALLENGE`` as in the seed walkthrough."""
    base = ctx.url(f"/api/v1/users/{factor.user_id}/factors/{factor.id}")
    body: dict[str, Any] = {"factorResult": "CHALLENGE"}
    if factor.kind.channel in ("sms", "call"):
        body["profile"] = factor.profile
    if "challenge" in factor.extra:
        body["_embedded"] = {"challenge": webauthn_challenge(factor.extra["challenge"])}
    body["_links"] = {
        "verify": hinted(f"{base}/verify", "POST"),
        "factor": hinted(base, "GET", "DELETE"),
    }
    return body
