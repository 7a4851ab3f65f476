"""Fields of an /authn request body, refused in Okta's words when missing."""

from __future__ import annotations

from typing import Any

from app.domain.errors import ValidationFailed


def required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(name, [f"{name}: The field cannot be left blank"])
    return value


def string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ValidationFailed("authRequest", [f"{name}: The field cannot be left blank"])
        return None
    if not isinstance(value, str):
        raise ValidationFailed("authRequest", [f"{name}: must be a string"])
    return value
