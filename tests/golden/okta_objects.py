"""What Okta's recorded Users and Factors API objects look like.

Read (issue 11, part 5) from okta-sdk-python's integration cassettes
(``tests/integration/cassettes/*.yaml``, answers of a real Okta org recorded
by vcrpy), with the same rules as ``okta_structures``: required key paths are
in every recorded answer that has their parent, optional ones in some.
"""

from __future__ import annotations

from tests.golden.okta_parts import FACTOR_ID, TIMESTAMP, USER_ID, below, link_keys
from tests.golden.structure import ARRAY, NULL, OBJECT, STRING, Format, Link, Shape, Source

SDK_PYTHON = "f68509793adefde945ab53ff38f83fab578e3966"
USER_TYPE_ID = Format("oty and 17 alphanumerics", r"oty[0-9A-Za-z]{17}")
E164_PHONE = Format("E.164", r"\+\d{8,15}")


def cassette(name: str) -> Source:
    path = f"tests/integration/cassettes/{name}.yaml"
    return Source("okta/okta-sdk-python", path, SDK_PYTHON)


def users_link(at: str, *, method: bool = True) -> dict[str, str]:
    """A Users API link: ``href``, and ``method`` for an operation."""
    return {at: OBJECT, f"{at}.href": STRING, **({f"{at}.method": STRING} if method else {})}


def user_path(path: str = "") -> str:
    return "/api/v1/users/{userId}" + path


#: An ACTIVE user's operations: link name → path below the user.
OPERATIONS = {
    "suspend": "/lifecycle/suspend",
    "deactivate": "/lifecycle/deactivate",
    "resetPassword": "/lifecycle/reset_password",
    "expirePassword": "/lifecycle/expire_password",
    "changePassword": "/credentials/change_password",
    "changeRecoveryQuestion": "/credentials/change_recovery_question",
}
#: Sent in 22 of the 33 recorded creations (those of 2025, not those of 2020).
SOMETIMES = {
    "forgotPassword": "/credentials/forgot_password",
    "resetFactors": "/lifecycle/reset_factors",
}

#: Every file with a ``POST /api/v1/users`` that answered an ACTIVE user
#: created with a password (33 answers).
USER_SOURCES = tuple(
    cassette(name)
    for name in (
        *(
            f"test_factors_it/TestFactorsResource.test_{test}"
            for test in (
                "delete_factor",
                "enroll_sms_factor",
                "get_factor",
                "list_factors_new_user",
            )
        ),
        *(
            f"test_users_it/TestUsersResource.test_{test}"
            for test in (
                "assign_user_to_role",
                "change_recovery_question",
                "change_user_password",
                "expire_password",
                "expire_password_get_temporary",
                "forgot_password",
                "get_reset_password_link_for_user",
                "list_app_links",
                "list_user_blocks",
                "list_user_clients",
                "list_user_grants",
                "list_user_groups",
                "list_user_identity_providers",
                "list_user_subscriptions",
                "reset_factors",
                "revoke_user_grants",
                "revoke_user_sessions",
                "suspend_user",
                "unlock_user",
                "user_group_target_to_role",
            )
        ),
    )
)

USER_CREATED = Shape(
    """The answer to ``POST /api/v1/users?activate=true`` with a password: an
    ACTIVE user. The standard attributes never set are ``null``, not absent;
    ``credentials.emails`` is in the 2020 and September 2025 recordings, not
    in the October 2025 ones (which add ``realmId``).""",
    USER_SOURCES,
    required={
        **{
            key: STRING
            for key in ("id", "status", "created", "activated", "statusChanged", "lastUpdated")
        },
        "passwordChanged": STRING,
        "lastLogin": NULL,
        "type": OBJECT,
        "type.id": STRING,
        "profile": OBJECT,
        **{f"profile.{key}": STRING for key in ("login", "email", "firstName", "lastName")},
        "profile.mobilePhone": NULL,
        "profile.secondEmail": NULL,
        "credentials": OBJECT,
        "credentials.password": OBJECT,
        "credentials.provider": OBJECT,
        "credentials.provider.type": STRING,
        "credentials.provider.name": STRING,
        "credentials.emails[]": OBJECT,
        **{f"credentials.emails[].{key}": STRING for key in ("value", "status", "type")},
        "_links": OBJECT,
        **{key: kind for name in OPERATIONS for key, kind in users_link(f"_links.{name}").items()},
        **{
            key: kind
            for name in SOMETIMES
            for key, kind in below(f"_links.{name}", users_link(f"_links.{name}")).items()
        },
        **users_link("_links.self", method=False),
        **users_link("_links.schema", method=False),
        **users_link("_links.type", method=False),
    },
    optional={
        "credentials.emails": ARRAY,
        "realmId": STRING,
        **{f"_links.{name}": OBJECT for name in SOMETIMES},
    },
    formats={
        "id": USER_ID,
        "type.id": USER_TYPE_ID,
        **{key: TIMESTAMP for key in ("created", "activated", "statusChanged", "lastUpdated")},
        "passwordChanged": TIMESTAMP,
    },
    values={
        "status": frozenset({"ACTIVE"}),
        "credentials.provider.type": frozenset({"OKTA"}),
        "credentials.provider.name": frozenset({"OKTA"}),
        "credentials.emails[].status": frozenset({"VERIFIED"}),
        "credentials.emails[].type": frozenset({"PRIMARY"}),
    },
    links={
        **{
            f"_links.{name}": Link(user_path(path), method="POST")
            for name, path in (OPERATIONS | SOMETIMES).items()
        },
        "_links.self": Link(user_path()),
        "_links.schema": Link("/api/v1/meta/schemas/user/{schemaId}"),
        "_links.type": Link("/api/v1/meta/types/user/{typeId}"),
    },
)

FACTOR_SOURCES = tuple(
    cassette(f"test_factors_it/TestFactorsResource.test_{test}")
    for test in ("delete_factor", "enroll_sms_factor", "get_factor")
)
FACTOR = user_path("/factors/{factorId}")

SMS_FACTOR_PENDING = Shape(
    """An sms factor enrolled and not yet activated, as ``POST`` and ``GET``
    ``/api/v1/users/{userId}/factors[/{factorId}]`` answer it (5 answers).""",
    FACTOR_SOURCES,
    required={
        **{key: STRING for key in ("id", "factorType", "provider", "vendorName", "status")},
        "created": STRING,
        "lastUpdated": STRING,
        "profile": OBJECT,
        "profile.phoneNumber": STRING,
        "_links": OBJECT,
        **link_keys("_links.activate"),
        "_links.resend": ARRAY,
        **link_keys("_links.resend[]", named=True),
        **link_keys("_links.self"),
        **link_keys("_links.user"),
    },
    formats={
        "id": FACTOR_ID,
        "created": TIMESTAMP,
        "lastUpdated": TIMESTAMP,
        "profile.phoneNumber": E164_PHONE,
    },
    values={
        "factorType": frozenset({"sms"}),
        "provider": frozenset({"OKTA"}),
        "vendorName": frozenset({"OKTA"}),
        "status": frozenset({"PENDING_ACTIVATION"}),
    },
    links={
        "_links.activate": Link(f"{FACTOR}/lifecycle/activate", allow=("POST",)),
        "_links.resend[]": Link(f"{FACTOR}/resend", names=("sms",), allow=("POST",)),
        "_links.self": Link(FACTOR, allow=("GET",)),
        "_links.user": Link(user_path(), allow=("GET",)),
    },
)

OBJECTS = {"user": USER_CREATED, "sms factor": SMS_FACTOR_PENDING}
