from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.users import LIFECYCLE, User, UserStatus, allowed_operations

S = UserStatus
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _user(status: UserStatus, password: bool = True) -> User:
    return User(
        id="00u1",
        status=status,
        profile={"login": "a@b.co"},
        created=NOW,
        last_updated=NOW,
        password_hash="$argon2id$x" if password else None,
    )


@pytest.mark.parametrize(
    ("status", "links"),
    [
        (S.STAGED, {"activate", "deactivate"}),
        (S.PROVISIONED, {"reactivate", "deactivate", "resetPassword", "resetFactors"}),
        (
            S.ACTIVE,
            {
                "deactivate",
                "suspend",
                "expirePassword",
                "resetPassword",
                "resetFactors",
                "changePassword",
                "changeRecoveryQuestion",
                "forgotPassword",
            },
        ),
        (S.SUSPENDED, {"deactivate", "unsuspend", "resetFactors"}),
        (
            S.LOCKED_OUT,
            {
                "deactivate",
                "unlock",
                "expirePassword",
                "resetPassword",
                "resetFactors",
                "forgotPassword",
            },
        ),
        (S.DEPROVISIONED, {"activate"}),
    ],
)
def test_links_follow_the_table(status: UserStatus, links: set[str]) -> None:
    assert {op.link for op in allowed_operations(_user(status))} == links


def test_password_operations_need_a_password() -> None:
    links = {op.link for op in allowed_operations(_user(S.ACTIVE, password=False))}
    assert "changePassword" not in links and "forgotPassword" in links


def test_every_operation_names_a_known_error() -> None:
    from app.domain.errors import OKTA_ERRORS

    assert all(op.error_code in OKTA_ERRORS for op in LIFECYCLE.values())


def test_set_status_tracks_status_changed() -> None:
    user = _user(S.ACTIVE)
    later = datetime(2026, 2, 1, tzinfo=UTC)
    user.set_status(S.ACTIVE, later)
    assert user.status_changed is None and user.last_updated == later
    user.set_status(S.SUSPENDED, later)
    assert user.status_changed == later
