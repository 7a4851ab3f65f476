"""TOTP factors for the HTTP benchmark's verify rows, and codes never used before.

The server accepts a TOTP step of a factor only if it is newer than any step
that factor had accepted (replay refusal), and only within one step of now
(skew). So a wrk run of N verify requests needs N codes that are each new for
their factor: :func:`fresh_codes` gives every factor of a pool its next
unused step, the current one or the next, in two passes over the pool
(:func:`plan`), so that each factor's two codes are a whole pool apart in the
file and the older one is answered before the newer one is sent. A code of
the current step stays accepted for the next 30 to 60 seconds (one step of
skew), longer than a run.

Pools: Okta users with an active Google Authenticator factor (the /authn MFA
verify rows and the Factors API verify row share them, and so the steps they
used) and WorkOS TOTP factors (the WorkOS challenge and verify rows).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import server  # benchmarks/, this script's folder, is on sys.path


@dataclass
class Totp:
    """A TOTP secret and the last step it was used with (by the benchmark)."""

    secret: str
    last: int

    def next_code(self, now: int) -> str | None:
        """A code of a step after the last one used, if the server accepts one
        now (this step or the next); None if none is. The step counts as used."""
        step = max(self.last + 1, now)
        if step > now + 1:
            return None
        self.last = step
        return server.totp_code(self.secret, step)


@dataclass
class Enrolled:
    """An Okta user with an active Google Authenticator factor."""

    login: str
    user_id: str
    factor_id: str
    totp: Totp


@dataclass
class WorkosFactor:
    """A WorkOS TOTP factor (usable from enrolment: it has no activation)."""

    factor_id: str
    totp: Totp


Factor = TypeVar("Factor", Enrolled, WorkosFactor)


def plan(pool: Sequence[Factor], limit: int) -> list[Factor]:
    """Up to ``limit`` factors to give a line each: one pass over the pool, then
    a second one (see the module's docstring). Whatever a line needs beside its
    code (a sign-in, a challenge) can be made for the plan before the codes
    are chosen, so that the codes are of the step when the run begins."""
    return [*pool, *pool][:limit]


def codes(planned: Sequence[Factor], now: int) -> list[str | None]:
    """The next unused code of each planned factor, in order (None where its
    factor has no step left that the server accepts now)."""
    return [factor.totp.next_code(now) for factor in planned]


def usable(planned: Sequence[Factor], now: int) -> int:
    """How many of ``planned`` :func:`codes` would give a code at step ``now``
    (without spending any)."""
    last = {id(f): f.totp.last for f in planned}
    count = 0
    for factor in planned:
        step = max(last[id(factor)] + 1, now)
        if step <= now + 1:
            last[id(factor)] = step
            count += 1
    return count


def await_codes(planned: Sequence[Factor]) -> None:
    """Wait for the next TOTP step if some planned lines would get no code now
    and that step gives them more: each factor gains a step every 30 s."""
    now = server.totp_step()
    if usable(planned, now) < len(planned) and usable(planned, now + 1) > usable(planned, now):
        wait = (now + 1) * server.TOTP_STEP + 0.2 - time.time()
        server.say(f"waiting {wait:.0f} s for the next TOTP step (more unused codes)")
        time.sleep(max(wait, 0))


def fresh_codes(pool: Sequence[Factor], now: int, limit: int) -> list[tuple[Factor, str]]:
    """Up to ``limit`` (factor, code) pairs, each code new for its factor."""
    planned = plan(pool, limit)
    return [(f, c) for f, c in zip(planned, codes(planned, now), strict=True) if c is not None]


def enrol_okta(api: server.Api, index: int) -> Enrolled:
    """Create a user, enrol and activate a Google Authenticator factor.

    Activation uses the previous step's code (accepted: one step of skew), so
    that the current step and the next stay unused for verify requests.
    """
    login = f"mfa{index}@bench.example.com"
    user_id = server.create_user(api, login)
    factor = api.ok(
        "POST",
        f"/api/v1/users/{user_id}/factors",
        {"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    activate = f"/api/v1/users/{user_id}/factors/{factor['id']}/lifecycle/activate"
    step = server.totp_step() - 1
    status, _ = api.call("POST", activate, {"passCode": server.totp_code(secret, step)})
    if status != 200:  # the step turned on the way: the code fell out of the window
        step = server.totp_step()
        api.ok("POST", activate, {"passCode": server.totp_code(secret, step)})
    return Enrolled(login, user_id, factor["id"], Totp(secret, step))


def enrol_workos(api: server.Api, key: str, index: int) -> WorkosFactor:
    """A WorkOS TOTP factor; none of its steps used yet (the previous one is
    left alone so that the current and the next are the verify rows')."""
    status, factor = api.call(
        "POST",
        "/auth/factors/enroll",
        {"type": "totp", "totp_issuer": "Bench", "totp_user": f"bench{index}@example.com"},
        admin=False,
        headers={"Authorization": f"Bearer {key}"},
    )
    if status != 201:
        raise RuntimeError(f"WorkOS enrol answered {status}: {factor}")
    return WorkosFactor(factor["id"], Totp(factor["totp"]["secret"], server.totp_step() - 1))


def challenge_workos(api: server.Api, key: str, factor: WorkosFactor) -> str:
    """A new challenge of ``factor``; its id."""
    status, challenge = api.call(
        "POST",
        f"/auth/factors/{factor.factor_id}/challenge",
        {},
        admin=False,
        headers={"Authorization": f"Bearer {key}"},
    )
    if status != 201:
        raise RuntimeError(f"WorkOS challenge answered {status}: {challenge}")
    return str(challenge["id"])
