"""Trusted origins: what an origin is, and the two scopes a browser client needs.

An origin is ``scheme://host[:port]`` (RFC 6454): no path, query, fragment
or credentials. CORS-scoped origins may call the browser-facing APIs with
credentials; REDIRECT-scoped origins may be the target of
``/login/sessionCookieRedirect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit


class Scope(StrEnum):
    CORS = "CORS"
    REDIRECT = "REDIRECT"


class OriginStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidOrigin(ValueError):
    pass


def normalise(raw: str) -> str:
    """``raw`` as a canonical origin (lower case, no default port), or InvalidOrigin."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidOrigin("origin: not a valid URL") from exc
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidOrigin("origin: must be http:// or https:// followed by a host")
    if parts.username or parts.password:
        raise InvalidOrigin("origin: must not contain credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidOrigin("origin: must not contain a path, query or fragment")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}:{port}"
    return f"{parts.scheme}://{host}"


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) URL, or None if it has none."""
    try:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        if parts.username or parts.password:
            return None
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}:{port}"
    return f"{parts.scheme}://{host}"


@dataclass
class TrustedOrigin:
    id: str
    name: str
    origin: str
    scopes: list[Scope]
    status: OriginStatus
    created: datetime
    created_by: str
    last_updated: datetime
    last_updated_by: str
    seq: int | None = field(default=None)

    @property
    def active(self) -> bool:
        return self.status is OriginStatus.ACTIVE
