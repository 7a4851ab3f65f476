"""Golden tests: a user and a factor from the admin APIs against okta-sdk-python's recordings.

As in ``test_authn_golden``: every difference found is mended; one found
later goes into ``DIFFERENCES`` and a strict-xfail check of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.test_authn import PHONE
from tests.golden.okta_objects import OBJECTS
from tests.golden.structure import Difference, compare, unexplained

DOC = "docs/compatibility.md"


def created_user(api: Any, make_user: Any) -> dict[str, Any]:
    """``POST /api/v1/users?activate=true`` with a password, as the SDK's tests do."""
    return dict(make_user())


def pending_sms_factor(api: Any, make_user: Any) -> dict[str, Any]:
    """``POST /api/v1/users/{id}/factors`` (sms), read back with ``GET``."""
    user = make_user()
    body = {"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}}
    factors = f"/api/v1/users/{user['id']}/factors"
    enrolled = api.post(factors, json=body)
    assert enrolled.status_code == 200, enrolled.get_json()
    read = api.get(f"{factors}/{enrolled.get_json()['id']}")
    assert read.get_json() == enrolled.get_json()
    return dict(read.get_json())


#: answer id → (how to get it, the shape it must have).
ANSWERS: dict[str, tuple[Callable[[Any, Any], dict[str, Any]], str]] = {
    "user": (created_user, "user"),
    "sms_factor": (pending_sms_factor, "sms factor"),
}

#: None left: every difference the recordings showed is mended (docs/compatibility.md).
DIFFERENCES: list[Difference] = []


def findings_for(name: str, api: Any, make_user: Any) -> list[Any]:
    get, shape = ANSWERS[name]
    return compare(OBJECTS[shape], get(api, make_user))


@pytest.mark.parametrize("name", ANSWERS)
def test_object_has_the_structure_okta_records(name: str, api: Any, make_user: Any) -> None:
    known = [d for d in DIFFERENCES if name in d.walks]
    left = unexplained(findings_for(name, api, make_user), known)
    assert not left, "\n".join(map(str, left))
