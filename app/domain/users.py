"""Users: statuses, the lifecycle table, and the user record the services pass around.

The lifecycle table follows Okta's User Lifecycle reference: each operation
lists the statuses it may start from and the error Okta answers otherwise.
The ``_links`` a user shows are derived from the same table, so a link is
offered exactly when its operation would be accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class UserStatus(StrEnum):
    STAGED = "STAGED"
    PROVISIONED = "PROVISIONED"
    ACTIVE = "ACTIVE"
    RECOVERY = "RECOVERY"
    PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
    LOCKED_OUT = "LOCKED_OUT"
    SUSPENDED = "SUSPENDED"
    DEPROVISIONED = "DEPROVISIONED"


S = UserStatus
#: Statuses in which a user exists as a working account (may sign in or recover).
LIVE = frozenset({S.ACTIVE, S.RECOVERY, S.PASSWORD_EXPIRED, S.LOCKED_OUT})


@dataclass(frozen=True)
class Operation:
    """One lifecycle or credentials operation of the Users API."""

    path: str  # URL below /api/v1/users/{id}/
    link: str  # key in the user's _links
    allowed_from: frozenset[UserStatus]
    error_code: str  # Okta's answer when the user is in any other status
    needs_password: bool = False  # offered only to users with an Okta password
    error_detail: str = ""  # fills the summary, e.g. "Api validation failed: suspendUser"
    error_cause: str | None = None


LIFECYCLE: dict[str, Operation] = {
    "activate": Operation(
        "lifecycle/activate", "activate", frozenset({S.STAGED, S.DEPROVISIONED}), "E0000016"
    ),
    "reactivate": Operation(
        "lifecycle/reactivate", "reactivate", frozenset({S.PROVISIONED, S.RECOVERY}), "E0000038"
    ),
    "deactivate": Operation(
        "lifecycle/deactivate", "deactivate", frozenset(S) - {S.DEPROVISIONED}, "E0000038"
    ),
    "suspend": Operation(
        "lifecycle/suspend",
        "suspend",
        frozenset({S.ACTIVE}),
        "E0000001",
        error_detail="suspendUser",
        error_cause="Cannot suspend a user that is not active",
    ),
    "unsuspend": Operation(
        "lifecycle/unsuspend",
        "unsuspend",
        frozenset({S.SUSPENDED}),
        "E0000001",
        error_detail="unsuspendUser",
        error_cause="Cannot unsuspend a user that is not suspended",
    ),
    "unlock": Operation(
        "lifecycle/unlock",
        "unlock",
        frozenset({S.LOCKED_OUT}),
        "E0000032",
        error_cause="The user is not locked out.",
    ),
    "expire_password": Operation(
        "lifecycle/expire_password",
        "expirePassword",
        frozenset({S.ACTIVE, S.RECOVERY, S.PASSWORD_EXPIRED, S.LOCKED_OUT}),
        "E0000038",
        needs_password=True,
    ),
    "reset_password": Operation(
        "lifecycle/reset_password",
        "resetPassword",
        frozenset({S.ACTIVE, S.RECOVERY, S.PASSWORD_EXPIRED, S.LOCKED_OUT, S.PROVISIONED}),
        "E0000038",
    ),
    "reset_factors": Operation(
        "lifecycle/reset_factors", "resetFactors", LIVE | {S.SUSPENDED, S.PROVISIONED}, "E0000038"
    ),
    "change_password": Operation(
        "credentials/change_password",
        "changePassword",
        frozenset({S.ACTIVE, S.PASSWORD_EXPIRED}),
        "E0000014",
        needs_password=True,
    ),
    "change_recovery_question": Operation(
        "credentials/change_recovery_question",
        "changeRecoveryQuestion",
        frozenset({S.ACTIVE, S.PASSWORD_EXPIRED}),
        "E0000014",
        needs_password=True,
    ),
    "forgot_password": Operation(
        "credentials/forgot_password",
        "forgotPassword",
        frozenset({S.ACTIVE, S.RECOVERY, S.PASSWORD_EXPIRED, S.LOCKED_OUT}),
        "E0000034",
    ),
}


@dataclass
class RecoveryQuestion:
    question: str
    answer_hash: str


@dataclass
class User:
    """A user as the services see it: no ORM row, no HTTP shape."""

    id: str
    status: UserStatus
    profile: dict[str, Any]
    created: datetime
    last_updated: datetime
    status_changed: datetime | None = None
    activated: datetime | None = None
    last_login: datetime | None = None
    password_changed: datetime | None = None
    password_hash: str | None = None
    password_history: list[str] = field(default_factory=list)
    recovery_question: RecoveryQuestion | None = None
    transitioning_to_status: str | None = None
    seq: int | None = None  # store-assigned insertion order, the pagination cursor

    @property
    def login(self) -> str:
        return str(self.profile["login"])

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def set_status(self, status: UserStatus, now: datetime) -> None:
        if status != self.status:
            self.status = status
            self.status_changed = now
        self.last_updated = now


def allowed_operations(user: User) -> list[Operation]:
    """The operations valid for ``user`` now, in the table's order (for ``_links``)."""
    return [
        op
        for op in LIFECYCLE.values()
        if user.status in op.allowed_from and (user.has_password or not op.needs_password)
    ]


#: The profile attributes of Okta's default user schema.
STANDARD_PROFILE_ATTRIBUTES = (
    "login",
    "email",
    "secondEmail",
    "firstName",
    "lastName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "displayName",
    "nickName",
    "profileUrl",
    "primaryPhone",
    "mobilePhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "postalAddress",
    "countryCode",
    "preferredLanguage",
    "locale",
    "timezone",
    "timeZone",
    "userType",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "managerId",
    "manager",
)

#: Profile attributes every user must have (Okta's default schema).
REQUIRED_PROFILE_ATTRIBUTES = ("login", "email", "firstName", "lastName")
