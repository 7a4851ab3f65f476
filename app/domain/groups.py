"""Groups: the record services pass around, and the built-in Everyone group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OKTA_GROUP = "OKTA_GROUP"
BUILT_IN = "BUILT_IN"
EVERYONE = "Everyone"
EVERYONE_DESCRIPTION = "All users in your organization"


@dataclass
class Group:
    id: str
    type: str
    profile: dict[str, Any]
    created: datetime
    last_updated: datetime
    last_membership_updated: datetime
    seq: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.profile.get("name", ""))

    @property
    def built_in(self) -> bool:
        return self.type == BUILT_IN
