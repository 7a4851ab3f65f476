"""The policy repository: policies and their rules (``policies``, ``policy_rules``)."""

from __future__ import annotations

from sqlalchemy import delete, select, union, update
from sqlalchemy.orm import Session

from app.domain.groups import EVERYONE
from app.domain.policy import PolicyDoc, PolicyType, RuleDoc
from app.store.db import flush_unique
from app.store.models import GroupMemberRow, GroupRow, PolicyRow, PolicyRuleRow, PolicyVersionRow
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
    """Policies and rules. Every change raises ``policy_version`` in its own
    transaction (:meth:`_changed`), which is what lets :class:`PolicyCache` keep
    the active policies between changes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: Whether this unit of work changed a policy or a rule: what it reads
        #: then is not committed, and must not be kept by PolicyCache.
        self.changed = False

    def _changed(self) -> None:
        self.changed = True
        self.session.execute(
            update(PolicyVersionRow)
            .where(PolicyVersionRow.id == 1)
            .values(version=PolicyVersionRow.version + 1)
        )

    def version_and_groups(self, user_id: str) -> tuple[int | None, set[str]]:
        """The policies' version and the ids of the user's groups (Everyone
        always among them): what sign-in needs from the database to evaluate
        cached policies, in one query."""
        groups = union(
            select(GroupMemberRow.group_id.label("group_id")).where(
                GroupMemberRow.user_id == user_id
            ),
            select(GroupRow.id.label("group_id")).where(GroupRow.name_lower == EVERYONE.lower()),
        ).subquery()
        version = select(PolicyVersionRow.version).where(PolicyVersionRow.id == 1)
        query = select(version.scalar_subquery(), groups.c.group_id).select_from(groups)
        rows = self.session.execute(query).all()
        if not rows:  # no group at all (Everyone deleted by hand): the version alone
            return self.session.scalar(version), set()
        return rows[0][0], {str(group_id) for _, group_id in rows}

    # ---- policies --------------------------------------------------------------------------

    def of_type(self, kind: PolicyType) -> list[PolicyDoc]:
        """The policies of one type, by priority (without their rules)."""
        rows = self.session.scalars(
            select(PolicyRow).where(PolicyRow.type == kind.value).order_by(PolicyRow.priority)
        )
        return [_policy(r) for r in rows]

    def all_active(self) -> list[PolicyDoc]:
        """Every active policy with its active rules: what sign-in evaluates, in one
        query. A policy with no active rule is left out, as it can never apply."""
        rows = self.session.execute(
            select(PolicyRow, PolicyRuleRow)
            .join(PolicyRuleRow, PolicyRuleRow.policy_id == PolicyRow.id)
            .where(PolicyRow.status == "ACTIVE", PolicyRuleRow.status == "ACTIVE")
            .order_by(PolicyRow.priority, PolicyRuleRow.priority)
        )
        policies: dict[str, PolicyDoc] = {}
        for policy_row, rule_row in rows.tuples():
            policy = policies.get(policy_row.id)
            if policy is None:
                policy = policies[policy_row.id] = _policy(policy_row)
            policy.rules.append(_rule(rule_row))
        return list(policies.values())

    def get(self, policy_id: str) -> PolicyDoc | None:
        row = self._row(policy_id)
        return _policy(row) if row else None

    def add(self, policy: PolicyDoc) -> None:
        self._changed()
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
        self._changed()
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
        self._changed()
        self.session.execute(delete(PolicyRuleRow).where(PolicyRuleRow.policy_id == policy_id))
        self.session.execute(delete(PolicyRow).where(PolicyRow.id == policy_id))

    def set_priorities(self, ordered: list[PolicyDoc]) -> None:
        self._changed()
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
        self._changed()
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
        self._changed()
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
        self._changed()
        self.session.execute(
            delete(PolicyRuleRow).where(
                PolicyRuleRow.policy_id == policy_id, PolicyRuleRow.id == rule_id
            )
        )

    def set_rule_priorities(self, ordered: list[RuleDoc]) -> None:
        self._changed()
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


class PolicyCache:
    """The active policies as :meth:`PolicyRepository.all_active` last read them,
    with the version they were read at: good for as long as the version is the
    same (a policy or rule change raises it). In-process; evaluation only reads
    the documents it is handed."""

    def __init__(self) -> None:
        self._held: tuple[int, list[PolicyDoc]] | None = None

    def get(self, version: int | None) -> list[PolicyDoc] | None:
        held = self._held
        if version is None or held is None or held[0] != version:
            return None
        return held[1]

    def put(self, version: int | None, policies: list[PolicyDoc]) -> None:
        if version is not None:
            self._held = (version, policies)
