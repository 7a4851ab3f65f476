"""Trusted origins: the admin use cases, and the two questions browsers ask
(may this origin call us with credentials? may we redirect there?)."""

from __future__ import annotations

from typing import Any

from app.domain import ids, lengths, origins
from app.domain.errors import NotFound, ValidationFailed
from app.domain.origins import OriginStatus, Scope, TrustedOrigin
from app.services.context import Context
from app.services.users import parse_cursor
from app.store.db import DuplicateKey

PREFIX = "tos"
REQUEST = "trustedOrigin"


def _parse(body: dict[str, Any]) -> tuple[str, str, list[Scope]]:
    causes: list[str] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        causes.append("name: The field cannot be left blank")
    origin = ""
    raw = body.get("origin")
    if not isinstance(raw, str) or not raw.strip():
        causes.append("origin: The field cannot be left blank")
    else:
        try:
            origin = origins.normalise(raw)
        except origins.InvalidOrigin as exc:
            causes.append(str(exc))
        # The schema bounds the origin as sent; normalising can lengthen it
        # (the host is lower-cased, and "İ" lower-cases to two characters).
        if len(origin) > lengths.TRUSTED_ORIGIN:
            causes.append(
                f"origin: The field cannot exceed {lengths.TRUSTED_ORIGIN} characters "
                "once normalised."
            )
    scopes: list[Scope] = []
    raw_scopes = body.get("scopes")
    if not isinstance(raw_scopes, list) or not raw_scopes:
        causes.append("scopes: At least one scope (CORS or REDIRECT) is required")
    else:
        for item in raw_scopes:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in (Scope.CORS.value, Scope.REDIRECT.value):
                causes.append(f"scopes: Unsupported scope type {kind!r}; use CORS or REDIRECT")
            elif Scope(kind) not in scopes:
                scopes.append(Scope(kind))
    if causes:
        raise ValidationFailed(REQUEST, causes)
    return str(name).strip(), origin, scopes


def _duplicate() -> ValidationFailed:
    return ValidationFailed(REQUEST, ["origin: An object with this field already exists"])


def create(ctx: Context, body: dict[str, Any], actor: str) -> TrustedOrigin:
    name, origin, scopes = _parse(body)
    now = ctx.clock()
    record = TrustedOrigin(
        id=ids.new_id(PREFIX),
        name=name,
        origin=origin,
        scopes=scopes,
        status=OriginStatus.ACTIVE,
        created=now,
        created_by=actor,
        last_updated=now,
        last_updated_by=actor,
    )
    with ctx.stores.unit_of_work() as uow:
        if uow.trusted_origins.by_origin(origin) is not None:
            raise _duplicate()
        try:
            return uow.trusted_origins.add(record)
        except DuplicateKey as exc:
            raise _duplicate() from exc


def get(ctx: Context, origin_id: str) -> TrustedOrigin:
    with ctx.stores.unit_of_work() as uow:
        found = uow.trusted_origins.get(origin_id)
    if found is None:
        raise NotFound(origin_id, "TrustedOrigin")
    return found


def list_origins(ctx: Context, after: str | None, limit: int) -> list[TrustedOrigin]:
    cursor = parse_cursor(after)
    with ctx.stores.unit_of_work() as uow:
        return uow.trusted_origins.list(cursor, limit)


def update(ctx: Context, origin_id: str, body: dict[str, Any], actor: str) -> TrustedOrigin:
    name, origin, scopes = _parse(body)
    with ctx.stores.unit_of_work() as uow:
        found = uow.trusted_origins.get(origin_id)
        if found is None:
            raise NotFound(origin_id, "TrustedOrigin")
        clash = uow.trusted_origins.by_origin(origin)
        if clash is not None and clash.id != origin_id:
            raise _duplicate()
        found.name, found.origin, found.scopes = name, origin, scopes
        found.last_updated, found.last_updated_by = ctx.clock(), actor
        try:
            uow.trusted_origins.save(found)
        except DuplicateKey as exc:
            raise _duplicate() from exc
        return found


def set_status(ctx: Context, origin_id: str, status: OriginStatus, actor: str) -> TrustedOrigin:
    with ctx.stores.unit_of_work() as uow:
        found = uow.trusted_origins.get(origin_id)
        if found is None:
            raise NotFound(origin_id, "TrustedOrigin")
        if found.status is not status:
            found.status = status
            found.last_updated, found.last_updated_by = ctx.clock(), actor
            uow.trusted_origins.save(found)
        return found


def delete(ctx: Context, origin_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        if uow.trusted_origins.get(origin_id) is None:
            raise NotFound(origin_id, "TrustedOrigin")
        uow.trusted_origins.delete(origin_id)


def allows(ctx: Context, origin: str | None, scope: Scope) -> bool:
    """Is ``origin`` an active trusted origin with ``scope``? This server's own
    origin (``BASE_URL``) always is."""
    if not origin:
        return False
    canonical = origins.origin_of(origin)
    if canonical is None:
        return False
    if canonical == origins.origin_of(ctx.settings.base_url):
        return True
    with ctx.stores.unit_of_work() as uow:
        found = uow.trusted_origins.by_origin(canonical)
    return found is not None and found.active and scope in found.scopes
