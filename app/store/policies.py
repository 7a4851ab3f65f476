"""The policy repository: policies with their rules, read in two queries."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.domain.policy import PolicyDoc, PolicyType, RuleDoc
from app.store.db import flush_unique
from app.store.models import PolicyRow, PolicyRuleRow
from app.store.users import _aware


def _policy(row: PolicyRow) -> PolicyDoc:
    return PolicyDoc(
        id=row.id,
        type=PolicyType(row.type),
        name=row.name,
        description=row.description,
        status=row.status,
        priority=row.priority,
        system=row.system,
        conditions=dict(row.conditions or {}),
        settings=dict(row.settings or {}),
        created=_aware(row.created),  # type: ignore[arg-type]
        last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
    )


def _rule(row: PolicyRuleRow) -> RuleDoc:
    return RuleDoc(
        id=row.id,
        policy_id=row.policy_id,
        type=row.type,
        name=row.name,
        status=row.status,
        priority=row.priority,
        system=row.system,
        conditions=dict(row.conditions or {}),
        actions=dict(row.actions or {}),
        created=_aware(row.created),  # type: ignore[arg-type]
        last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
    )


class PolicyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ---- policies --------------------------------------------------------------------------

    def of_type(self, kind: PolicyType, *, with_rules: bool = False) -> list[PolicyDoc]:
        """The policies of one type, by priority."""
        rows = self.session.scalars(
            select(PolicyRow).where(PolicyRow.type == kind.value).order_by(PolicyRow.priority)
        )
        policies = [_policy(r) for r in rows]
        if with_rules:
            self._attach_rules(policies)
        return policies

    def all_active(self) -> list[PolicyDoc]:
        """Every active policy with its rules: what sign-in evaluates (two queries)."""
        rows = self.session.scalars(select(PolicyRow).where(PolicyRow.status == "ACTIVE"))
        policies = [_policy(r) for r in rows]
        self._attach_rules(policies)
        return policies

    def _attach_rules(self, policies: list[PolicyDoc]) -> None:
        if not policies:
            return
        by_id = {p.id: p for p in policies}
        rows = self.session.scalars(
            select(PolicyRuleRow)
            .where(PolicyRuleRow.policy_id.in_(by_id))
            .order_by(PolicyRuleRow.priority)
        )
        for row in rows:
            by_id[row.policy_id].rules.append(_rule(row))

    def get(self, policy_id: str) -> PolicyDoc | None:
        row = self._row(policy_id)
        return _policy(row) if row else None

    def add(self, policy: PolicyDoc) -> None:
        self.session.add(
            PolicyRow(
                id=policy.id,
                type=policy.type.value,
                name=policy.name,
                description=policy.description,
                status=policy.status,
                priority=policy.priority,
                system=policy.system,
                conditions=policy.conditions,
                settings=policy.settings,
                created=policy.created,
                last_updated=policy.last_updated,
            )
        )
        flush_unique(self.session)

    def save(self, policy: PolicyDoc) -> None:
        row = self._row(policy.id)
        if row is None:
            raise LookupError(policy.id)
        row.name = policy.name
        row.description = policy.description
        row.status = policy.status
        row.priority = policy.priority
        row.conditions = policy.conditions
        row.settings = policy.settings
        row.last_updated = policy.last_updated
        flush_unique(self.session)

    def delete(self, policy_id: str) -> None:
        self.session.execute(delete(PolicyRuleRow).where(PolicyRuleRow.policy_id == policy_id))
        self.session.execute(delete(PolicyRow).where(PolicyRow.id == policy_id))

    def set_priorities(self, ordered: list[PolicyDoc]) -> None:
        for index, policy in enumerate(ordered, start=1):
            row = self._row(policy.id)
            if row is not None and row.priority != index:
                row.priority = index
                policy.priority = index
        self.session.flush()

    def _row(self, policy_id: str) -> PolicyRow | None:
        return self.session.scalars(
            select(PolicyRow).where(PolicyRow.id == policy_id)
        ).one_or_none()

    # ---- rules ----------------------------------------------------------------------------

    def rules(self, policy_id: str) -> list[RuleDoc]:
        rows = self.session.scalars(
            select(PolicyRuleRow)
            .where(PolicyRuleRow.policy_id == policy_id)
            .order_by(PolicyRuleRow.priority)
        )
        return [_rule(r) for r in rows]

    def get_rule(self, policy_id: str, rule_id: str) -> RuleDoc | None:
        row = self._rule_row(policy_id, rule_id)
        return _rule(row) if row else None

    def add_rule(self, rule: RuleDoc) -> None:
        self.session.add(
            PolicyRuleRow(
                id=rule.id,
                policy_id=rule.policy_id,
                type=rule.type,
                name=rule.name,
                status=rule.status,
                priority=rule.priority,
                system=rule.system,
                conditions=rule.conditions,
                actions=rule.actions,
                created=rule.created,
                last_updated=rule.last_updated,
            )
        )
        flush_unique(self.session)

    def save_rule(self, rule: RuleDoc) -> None:
        row = self._rule_row(rule.policy_id, rule.id)
        if row is None:
            raise LookupError(rule.id)
        row.name = rule.name
        row.status = rule.status
        row.priority = rule.priority
        row.conditions = rule.conditions
        row.actions = rule.actions
        row.last_updated = rule.last_updated
        flush_unique(self.session)

    def delete_rule(self, policy_id: str, rule_id: str) -> None:
        self.session.execute(
            delete(PolicyRuleRow).where(
                PolicyRuleRow.policy_id == policy_id, PolicyRuleRow.id == rule_id
            )
        )

    def set_rule_priorities(self, ordered: list[RuleDoc]) -> None:
        for index, rule in enumerate(ordered, start=1):
            row = self._rule_row(rule.policy_id, rule.id)
            if row is not None and row.priority != index:
                row.priority = index
                rule.priority = index
        self.session.flush()

    def _rule_row(self, policy_id: str, rule_id: str) -> PolicyRuleRow | None:
        return self.session.scalars(
            select(PolicyRuleRow).where(
                PolicyRuleRow.policy_id == policy_id, PolicyRuleRow.id == rule_id
            )
        ).one_or_none()
