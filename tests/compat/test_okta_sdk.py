"""Okta's own Python management SDK (``okta``, pinned in the dev extras)
against the live Portcullis of the compat tier, called as an admin script
would call it: users, their lifecycle, groups, a TOTP factor, policies and
trusted origins.

The SDK is asyncio and answers ``(data, response, error)`` rather than
raising, so each call goes through :func:`ok`, which fails the test on an
error. Its factor activation has no ``passCode`` field in 3.4.x, so that
one call goes through the SDK's own request executor (``create_request``
then ``execute``, the pair its README documents), which signs it with the
same SSWS token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pyotp
import pytest
from okta.client import Client as OktaClient
from okta.errors.okta_api_error import OktaAPIError
from okta.models.add_group_request import AddGroupRequest
from okta.models.create_user_request import CreateUserRequest
from okta.models.okta_user_group_profile import OktaUserGroupProfile
from okta.models.password_credential import PasswordCredential
from okta.models.trusted_origin_scope import TrustedOriginScope
from okta.models.trusted_origin_write import TrustedOriginWrite
from okta.models.update_user_request import UpdateUserRequest
from okta.models.user_credentials_writable import UserCredentialsWritable
from okta.models.user_factor_token_software_totp import UserFactorTokenSoftwareTOTP
from okta.models.user_profile import UserProfile

from tests.compat.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.integration

Scenario = Callable[[OktaClient], Coroutine[Any, Any, None]]


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture
def run(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Callable[[Scenario], None]:
    """Run a scenario with a client configured as the SDK's README shows, for a
    plain-http org (the documented ``OKTA_TESTING_TESTINGDISABLEHTTPSCHECK``)
    and without its retries on 429, which would only hide a failure."""
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    config = {
        "orgUrl": server.base,
        "token": server.admin.token,
        "authorizationMode": "SSWS",
        "rateLimit": {"maxRetries": 0},
    }

    async def with_client(scenario: Scenario) -> None:
        async with OktaClient(config) as client:
            await scenario(client)

    return lambda scenario: asyncio.run(with_client(scenario))


async def ok(call: Awaitable[tuple[Any, ...]]) -> Any:
    """The data of an SDK call, failing the test on the error it returns."""
    data, *_, error = await call
    assert error is None, f"the SDK reported: {error}"
    return data


async def not_found(call: Awaitable[tuple[Any, ...]]) -> None:
    """The SDK's error for a deleted object: Okta's 404 body, parsed."""
    data, *_, error = await call
    assert data is None and isinstance(error, OktaAPIError), error
    assert (error.status, error.error_code) == (404, "E0000007")


async def _create_user(client: OktaClient, login: str, **profile: Any) -> Any:
    request = CreateUserRequest(
        profile=UserProfile(
            login=login, email=login, first_name="Dade", last_name="Murphy", **profile
        ),
        credentials=UserCredentialsWritable(password=PasswordCredential(value=PASSWORD)),
    )
    return await ok(client.create_user(request, activate=True))


def test_users_create_get_list_update(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: OktaClient) -> None:
        login = "dade.sdk@example.com"
        user = await _create_user(client, login)
        assert user.id and user.status.value == "ACTIVE"
        assert user.profile.login == login and user.profile.first_name == "Dade"
        assert user.credentials.password is not None and user.created is not None

        by_id = await ok(client.get_user(user.id))
        by_login = await ok(client.get_user(login))
        assert by_id.id == by_login.id == user.id
        assert by_login.profile.email == login

        found = await ok(client.list_users(q="dade.sdk"))
        assert [u.id for u in found] == [user.id]
        active = await ok(client.list_users(filter='status eq "ACTIVE"'))
        assert user.id in {u.id for u in active}
        assert all(u.status.value == "ACTIVE" for u in active)

        change = UpdateUserRequest(profile=UserProfile(nick_name="Zero Cool"))
        updated = await ok(client.update_user(user.id, change))
        assert updated.profile.nick_name == "Zero Cool"
        assert updated.profile.login == login  # a partial update keeps the rest
        assert (await ok(client.get_user(user.id))).profile.nick_name == "Zero Cool"

    run(scenario)


def test_validation_errors_reach_the_sdk(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: OktaClient) -> None:
        login = "razor.twice@example.com"
        await _create_user(client, login)
        request = CreateUserRequest(profile=UserProfile(login=login, email=login))
        data, _, error = await client.create_user(request)
        assert data is None and isinstance(error, OktaAPIError), error
        assert (error.status, error.error_code) == (400, "E0000001")
        assert any("login" in cause["errorSummary"] for cause in error.error_causes)

    run(scenario)


def test_user_lifecycle_suspend_unsuspend_deactivate_delete(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(client: OktaClient) -> None:
        user = await _create_user(client, "kate.lifecycle@example.com")
        await ok(client.suspend_user(user.id))
        assert (await ok(client.get_user(user.id))).status.value == "SUSPENDED"
        await ok(client.unsuspend_user(user.id))
        assert (await ok(client.get_user(user.id))).status.value == "ACTIVE"
        await ok(client.deactivate_user(user.id))
        assert (await ok(client.get_user(user.id))).status.value == "DEPROVISIONED"
        await ok(client.delete_user(user.id))
        await not_found(client.get_user(user.id))

    run(scenario)


def test_groups_create_add_list_remove_delete(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: OktaClient) -> None:
        user = await _create_user(client, "cereal.group@example.com")
        profile = OktaUserGroupProfile(name="Hackers", description="Elite")
        group = await ok(client.add_group(AddGroupRequest(profile=profile)))
        # The SDK wraps a group's profile (an anyOf of the Okta and AD shapes).
        assert group.id and group.profile.actual_instance.name == "Hackers"
        assert group.profile.actual_instance.description == "Elite"

        await ok(client.assign_user_to_group(group.id, user.id))
        members = await ok(client.list_group_users(group.id))
        assert [m.id for m in members] == [user.id]
        assert members[0].profile.login == "cereal.group@example.com"

        await ok(client.unassign_user_from_group(group.id, user.id))
        assert await ok(client.list_group_users(group.id)) == []
        await ok(client.delete_group(group.id))
        await not_found(client.get_group(group.id))

    run(scenario)


def test_totp_factor_enrol_activate_list_delete(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: OktaClient) -> None:
        user = await _create_user(client, "phreak.totp@example.com")
        wanted = UserFactorTokenSoftwareTOTP(factor_type="token:software:totp", provider="GOOGLE")
        factor = await ok(client.enroll_factor(user.id, wanted))
        assert factor.id and factor.status.value == "PENDING_ACTIVATION"
        assert factor.factor_type.value == "token:software:totp"
        secret = factor.embedded["activation"]["sharedSecret"]

        await _activate_with_pass_code(client, user.id, factor.id, pyotp.TOTP(secret))
        listed = await ok(client.list_factors(user.id))
        assert [(f.id, f.status.value) for f in listed] == [(factor.id, "ACTIVE")]
        assert listed[0].provider == "GOOGLE"

        await ok(client.unenroll_factor(user.id, factor.id))
        assert await ok(client.list_factors(user.id)) == []

    run(scenario)


async def _activate_with_pass_code(
    client: OktaClient, user_id: str, factor_id: str, totp: pyotp.TOTP
) -> None:
    """``POST …/lifecycle/activate`` with ``passCode`` through the SDK's request
    executor: the typed ``activate_factor`` of 3.4.x cannot send a passCode."""
    if time.time() % 30 > 28:  # do not let the step roll over under the request
        await asyncio.sleep(30 - time.time() % 30 + 0.1)
    executor = client.get_request_executor()
    request, error = await executor.create_request(
        method="POST",
        url=f"/api/v1/users/{user_id}/factors/{factor_id}/lifecycle/activate",
        body={"passCode": totp.now()},
        headers={"Accept": "application/json"},
    )
    assert error is None, error
    response, body, error = await executor.execute(request)
    assert error is None, f"the SDK reported: {error}"
    assert response.status == 200 and json.loads(body)["status"] == "ACTIVE"


def test_policies_list_get_rules(run: Callable[[Scenario], None]) -> None:
    async def scenario(client: OktaClient) -> None:
        sign_on = await _default_policy(client, "OKTA_SIGN_ON")
        assert sign_on.name == "Default Policy" and sign_on.status.value == "ACTIVE"
        [rule] = await ok(client.list_policy_rules(sign_on.id))
        assert rule.id and rule.type.value == "SIGN_ON" and rule.status.value == "ACTIVE"
        assert rule.actions.signon.access == "ALLOW"
        assert rule.actions.signon.primary_factor.value == "PASSWORD_IDP"
        assert rule.actions.signon.session.max_session_idle_minutes == 120

        password = await _default_policy(client, "PASSWORD")
        assert password.settings.password.complexity.min_length == 8
        [rule] = await ok(client.list_policy_rules(password.id))
        assert rule.actions.self_service_password_reset.access.value == "ALLOW"

    run(scenario)


async def _default_policy(client: OktaClient, policy_type: str) -> Any:
    """The org's default policy of a type, listed then read by id (other tests
    on this server add policies of their own)."""
    listed = await ok(client.list_policies(type=policy_type))
    assert listed and all(p.type.value == policy_type for p in listed)
    default = next(p for p in listed if p.system)
    policy = await ok(client.get_policy(default.id))
    assert policy.id == default.id and policy.type.value == policy_type
    return policy


def test_trusted_origins_create_list_get_lifecycle_delete(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(client: OktaClient) -> None:
        scopes = [TrustedOriginScope(type="CORS"), TrustedOriginScope(type="REDIRECT")]
        wanted = TrustedOriginWrite(name="SDK app", origin="https://sdk.example.com", scopes=scopes)
        origin = await ok(client.create_trusted_origin(wanted))
        assert origin.id and origin.status.value == "ACTIVE"
        assert origin.origin == "https://sdk.example.com"
        assert {s.type.value for s in origin.scopes} == {"CORS", "REDIRECT"}

        listed = await ok(client.list_trusted_origins())
        assert origin.id in {o.id for o in listed}
        fetched = await ok(client.get_trusted_origin(origin.id))
        assert fetched.name == "SDK app"

        inactive = await ok(client.deactivate_trusted_origin(origin.id))
        assert inactive.status.value == "INACTIVE"
        active = await ok(client.activate_trusted_origin(origin.id))
        assert active.status.value == "ACTIVE"

        await ok(client.delete_trusted_origin(origin.id))
        await not_found(client.get_trusted_origin(origin.id))

    run(scenario)
