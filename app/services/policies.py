"""Policies: the admin use cases of ``/api/v1/policies`` and, for sign-in,
which settings apply to a user (``effective_for``).

Priorities are dense per type (1 = highest); the system default policy stays
last whatever priority is asked for, and so does each policy's default rule.
A document is accepted only if the engine can use it: the same parsers
(``app.domain.policy.parse_*``) validate it on the way in and read it at
sign-in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from app.domain import ids
from app.domain.errors import NotFound, ValidationFailed
from app.domain.passwords import PasswordPolicy
from app.domain.policy import (
    ANYWHERE,
    RULE_TYPES,
    EffectivePolicy,
    PolicyDoc,
    PolicyInvalid,
    PolicyType,
    RuleDoc,
    evaluate,
    group_ids_in,
    parse_conditions,
    parse_enroll_actions,
    parse_enrollment,
    parse_password,
    parse_sign_on,
)
from app.domain.users import User
from app.services.context import Context
from app.store import UnitOfWork

POLICY_PREFIX = "00p"
RULE_PREFIX = "0pr"
STATUSES = ("ACTIVE", "INACTIVE")


# ---- for sign-in and password changes --------------------------------------------------------


def effective_for(
    ctx: Context, uow: UnitOfWork, user: User, groups: Iterable[str] = ()
) -> EffectivePolicy:
    """The settings that apply to ``user`` now, for the /authn engine and for
    password changes. One query for the user's groups and the policies'
    version; the active policies with their active rules come from this
    process' cache while the version stays the same, else from a second query
    (read after the version: what is cached is never older than its number).
    ``groups``: groups the user is about to join (a user being created with
    ``groupIds``), counted as joined."""
    version, group_ids = uow.policies.version_and_groups(user.id)
    cache = ctx.stores.policy_cache
    if uow.policies.changed:  # this unit of work's own, uncommitted policies
        version = None
    policies = cache.get(version)
    if policies is None:
        policies = uow.policies.all_active()
        cache.put(version, policies)
    return evaluate(policies, user.id, group_ids | set(groups))


def password_complexity(
    ctx: Context, uow: UnitOfWork, user: User, groups: Iterable[str] = ()
) -> PasswordPolicy:
    """The complexity and history rules of the user's PASSWORD policy."""
    return effective_for(ctx, uow, user, groups).password.complexity


# ---- validation ---------------------------------------------------------------------------


def _check_settings(kind: PolicyType, settings: dict[str, Any]) -> None:
    try:
        if kind is PolicyType.PASSWORD:
            parse_password(settings, {})
        elif kind is PolicyType.MFA_ENROLL:
            parse_enrollment(settings)
    except PolicyInvalid as exc:
        raise ValidationFailed("policy", exc.causes) from exc


def _check_rule_type(policy: PolicyDoc, body: dict[str, Any]) -> None:
    if body.get("type") not in (None, RULE_TYPES[policy.type]):
        raise ValidationFailed(
            "rule",
            [f"type: the rules of {policy.type.value} policies are {RULE_TYPES[policy.type]}"],
        )


def _check_actions(kind: PolicyType, actions: dict[str, Any]) -> None:
    try:
        if kind is PolicyType.PASSWORD:
            parse_password({}, actions)
        elif kind is PolicyType.MFA_ENROLL:
            parse_enroll_actions(actions)
        elif kind is PolicyType.OKTA_SIGN_ON:
            parse_sign_on(actions)
    except PolicyInvalid as exc:
        raise ValidationFailed("rule", exc.causes) from exc


def _check_conditions(
    uow: UnitOfWork, raw: Any, what: str, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The conditions as sent, once their shape is right and every group they
    name exists (a typo in a group id would otherwise match no one, silently)."""
    try:
        conditions = parse_conditions(raw, rule=what == "rule")
    except PolicyInvalid as exc:
        raise ValidationFailed(what, exc.causes) from exc
    # Only ids new to the document must exist: a group deleted since keeps
    # matching no one, and the policy can still be sent back as it was read.
    known = group_ids_in(before) if before else set()
    missing = sorted(
        g for g in group_ids_in(conditions) if g not in known and uow.groups.get(g) is None
    )
    if missing:
        raise ValidationFailed(
            what, [f"conditions.people.groups: group {g} does not exist" for g in missing]
        )
    return conditions


def _kind(raw: Any) -> PolicyType:
    try:
        return PolicyType(raw)
    except ValueError as exc:
        raise ValidationFailed(
            "policy", [f"type: must be one of {', '.join(t.value for t in PolicyType)}"]
        ) from exc


def _name(body: dict[str, Any], what: str) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(what, ["name: The field cannot be left blank"])
    return name.strip()


def _priority(body: dict[str, Any], what: str) -> int | None:
    value = body.get("priority")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed(what, ["priority: must be a whole number from 1"])
    return value


def _dict(body: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(what, [f"{key}: must be an object"])
    return value


def _reorder(items: list[Any], moving: Any, priority: int | None) -> list[Any]:
    """``items`` by priority with ``moving`` placed at ``priority``; system items last."""
    others = [i for i in items if i.id != moving.id and not i.system]
    system = [i for i in items if i.id != moving.id and i.system]
    if moving.system:
        return [*others, moving, *system]
    position = len(others) if priority is None else min(priority - 1, len(others))
    return [*others[:position], moving, *others[position:], *system]


# ---- policies ------------------------------------------------------------------------------


def list_policies(ctx: Context, kind: Any, status: str | None = None) -> list[PolicyDoc]:
    """``GET /api/v1/policies?type=…[&status=…]``: as in Okta, ``type`` is required."""
    if not kind:
        raise ValidationFailed("type", ["type: The type query parameter is required"])
    policy_type = _kind(kind)
    with ctx.stores.unit_of_work() as uow:
        found = uow.policies.of_type(policy_type)
    return [p for p in found if status is None or p.status == status]


def get_policy(ctx: Context, policy_id: str) -> PolicyDoc:
    with ctx.stores.unit_of_work() as uow:
        return _find(uow, policy_id)


def _find(uow: UnitOfWork, policy_id: str) -> PolicyDoc:
    policy = uow.policies.get(policy_id)
    if policy is None:
        raise NotFound(policy_id, "Policy")
    return policy


def create_policy(ctx: Context, body: dict[str, Any], *, activate: bool) -> PolicyDoc:
    kind = _kind(body.get("type"))
    name = _name(body, "policy")
    settings = _dict(body, "settings", "policy")
    _check_settings(kind, settings)
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        conditions = _check_conditions(uow, body.get("conditions"), "policy")
        policy = PolicyDoc(
            id=ids.new_id(POLICY_PREFIX),
            type=kind,
            name=name,
            description=str(body.get("description") or ""),
            status="ACTIVE" if activate else "INACTIVE",
            priority=1,
            system=False,
            conditions=conditions,
            settings=settings,
            created=now,
            last_updated=now,
        )
        uow.policies.add(policy)
        ordered = _reorder(uow.policies.of_type(kind), policy, _priority(body, "policy"))
        uow.policies.set_priorities(ordered)
        _default_rule(ctx, uow, policy)
        return policy


#: The actions of the first rule of a new policy: Okta's defaults for the type.
FIRST_RULE_ACTIONS: dict[PolicyType, dict[str, Any]] = {
    PolicyType.PASSWORD: {
        "passwordChange": {"access": "ALLOW"},
        "selfServicePasswordReset": {"access": "ALLOW"},
        "selfServiceUnlock": {"access": "DENY"},
    },
    PolicyType.MFA_ENROLL: {"enroll": {"self": "CHALLENGE"}},
    PolicyType.OKTA_SIGN_ON: {
        "signon": {
            "access": "ALLOW",
            "requireFactor": False,
            "rememberDeviceByDefault": False,
            "session": {
                "usePersistentCookie": False,
                "maxSessionIdleMinutes": 120,
                "maxSessionLifetimeMinutes": 0,
            },
        }
    },
}


def _default_rule(ctx: Context, uow: UnitOfWork, policy: PolicyDoc) -> None:
    """A new policy gets one rule with Okta's default actions, so that it takes
    effect at once (a policy with no rule never applies). Unlike the rule of
    a system policy it is an ordinary rule: edit, deactivate or delete it."""
    now = ctx.clock()
    uow.policies.add_rule(
        RuleDoc(
            id=ids.new_id(RULE_PREFIX),
            policy_id=policy.id,
            type=RULE_TYPES[policy.type],
            name="Default Rule",
            status="ACTIVE",
            priority=1,
            system=False,
            conditions={"network": {"connection": ANYWHERE}},
            actions=copy.deepcopy(FIRST_RULE_ACTIONS[policy.type]),
            created=now,
            last_updated=now,
        )
    )


def update_policy(ctx: Context, policy_id: str, body: dict[str, Any]) -> PolicyDoc:
    with ctx.stores.unit_of_work() as uow:
        policy = _find(uow, policy_id)
        if body.get("type") not in (None, policy.type.value):
            raise ValidationFailed("policy", ["type: The type of a policy cannot change"])
        settings = _dict(body, "settings", "policy") if "settings" in body else policy.settings
        _check_settings(policy.type, settings)
        name = _name(body, "policy")
        conditions = policy.conditions
        if "conditions" in body:
            conditions = _check_conditions(uow, body.get("conditions"), "policy", policy.conditions)
            if policy.system and conditions != policy.conditions:
                raise ValidationFailed(
                    "policy", ["conditions: The default policy applies to everyone"]
                )
        policy = replace(
            policy,
            name=name,
            description=str(body.get("description", policy.description) or ""),
            settings=settings,
            conditions=conditions,
            last_updated=ctx.clock(),
        )
        uow.policies.save(policy)
        priority = _priority(body, "policy")
        if priority is not None:
            uow.policies.set_priorities(
                _reorder(uow.policies.of_type(policy.type), policy, priority)
            )
        return policy


def set_policy_status(ctx: Context, policy_id: str, status: str) -> PolicyDoc:
    with ctx.stores.unit_of_work() as uow:
        policy = _find(uow, policy_id)
        if policy.system and status != "ACTIVE":
            raise ValidationFailed("policy", ["The default policy cannot be deactivated"])
        policy = replace(policy, status=status, last_updated=ctx.clock())
        uow.policies.save(policy)
        return policy


def delete_policy(ctx: Context, policy_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        policy = _find(uow, policy_id)
        if policy.system:
            raise ValidationFailed("policy", ["The default policy cannot be deleted"])
        uow.policies.delete(policy.id)
        uow.policies.set_priorities(
            [p for p in uow.policies.of_type(policy.type) if p.id != policy.id]
        )


# ---- rules ---------------------------------------------------------------------------------


def list_rules(ctx: Context, policy_id: str) -> tuple[PolicyDoc, list[RuleDoc]]:
    with ctx.stores.unit_of_work() as uow:
        policy = _find(uow, policy_id)
        return policy, uow.policies.rules(policy.id)


def get_rule(ctx: Context, policy_id: str, rule_id: str) -> RuleDoc:
    with ctx.stores.unit_of_work() as uow:
        _find(uow, policy_id)
        return _find_rule(uow, policy_id, rule_id)


def _find_rule(uow: UnitOfWork, policy_id: str, rule_id: str) -> RuleDoc:
    rule = uow.policies.get_rule(policy_id, rule_id)
    if rule is None:
        raise NotFound(rule_id, "PolicyRule")
    return rule


def create_rule(ctx: Context, policy_id: str, body: dict[str, Any], *, activate: bool) -> RuleDoc:
    with ctx.stores.unit_of_work() as uow:
        policy = _find(uow, policy_id)
        _check_rule_type(policy, body)
        actions = _dict(body, "actions", "rule")
        _check_actions(policy.type, actions)
        now = ctx.clock()
        rule = RuleDoc(
            id=ids.new_id(RULE_PREFIX),
            policy_id=policy.id,
            type=RULE_TYPES[policy.type],
            name=_name(body, "rule"),
            status="ACTIVE" if activate else "INACTIVE",
            priority=1,
            system=False,
            conditions=_check_conditions(uow, body.get("conditions"), "rule"),
            actions=actions,
            created=now,
            last_updated=now,
        )
        uow.policies.add_rule(rule)
        ordered = _reorder(uow.policies.rules(policy.id), rule, _priority(body, "rule"))
        uow.policies.set_rule_priorities(ordered)
        return rule


def update_rule(ctx: Context, policy_id: str, rule_id: str, body: dict[str, Any]) -> RuleDoc:
    with ctx.stores.unit_of_work() as uow:
        policy = _find(uow, policy_id)
        rule = _find_rule(uow, policy_id, rule_id)
        _check_rule_type(policy, body)
        actions = _dict(body, "actions", "rule") if "actions" in body else rule.actions
        _check_actions(policy.type, actions)
        conditions = rule.conditions
        if "conditions" in body:
            conditions = _check_conditions(uow, body.get("conditions"), "rule", rule.conditions)
            if rule.system and conditions != rule.conditions:
                # The default rule is the catch-all: narrowing it would leave
                # some users with no rule, hence no policy at all.
                raise ValidationFailed("rule", ["conditions: The default rule applies to everyone"])
        rule = replace(
            rule,
            name=_name(body, "rule"),
            actions=actions,
            conditions=conditions,
            last_updated=ctx.clock(),
        )
        uow.policies.save_rule(rule)
        priority = _priority(body, "rule")
        if priority is not None:
            uow.policies.set_rule_priorities(
                _reorder(uow.policies.rules(policy.id), rule, priority)
            )
        return rule


def set_rule_status(ctx: Context, policy_id: str, rule_id: str, status: str) -> RuleDoc:
    with ctx.stores.unit_of_work() as uow:
        _find(uow, policy_id)
        rule = _find_rule(uow, policy_id, rule_id)
        if rule.system and status != "ACTIVE":
            raise ValidationFailed("rule", ["The default rule cannot be deactivated"])
        rule = replace(rule, status=status, last_updated=ctx.clock())
        uow.policies.save_rule(rule)
        return rule


def delete_rule(ctx: Context, policy_id: str, rule_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        _find(uow, policy_id)
        rule = _find_rule(uow, policy_id, rule_id)
        if rule.system:
            raise ValidationFailed("rule", ["The default rule cannot be deleted"])
        uow.policies.delete_rule(policy_id, rule_id)
        uow.policies.set_rule_priorities(
            [r for r in uow.policies.rules(policy_id) if r.id != rule_id]
        )
