"""Applying a validated registry file to the database: upsert, optional prune, and what the planner must redo.

Validation (obligations.registry) happens before anything is written; this module writes inside the
caller's transaction, so a failure part-way leaves the database as it was.

Pruning removes only what the file could have listed: organizations when the file has [[org]] tables;
members and positions of the organizations the file speaks of. Pruned organizations and members stay in the
database as inactive, so that the ledger and reports keep their history; their open future tasks go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from calendars.model import OrgKind
from obligations.models import CompletionTask, Member, Organization, Position, Task, Waiver
from obligations.planner import plan_state
from obligations.registry import MemberRecord, OrgRecord, PositionRecord, Registry


@dataclass
class ImportSummary:
    added: dict[str, int] = field(default_factory=lambda: {"org": 0, "member": 0, "position": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"org": 0, "member": 0, "position": 0})
    removed: dict[str, int] = field(default_factory=lambda: {"org": 0, "member": 0, "position": 0})

    @property
    def changed(self) -> bool:
        return any(sum(counts.values()) for counts in (self.added, self.updated, self.removed))

    def describe(self) -> str:
        names = {"org": "组织", "member": "党员", "position": "职务"}
        parts = []
        for kind, label in names.items():
            parts.append(
                f"{label}：新增 {self.added[kind]}，更新 {self.updated[kind]}，移除 {self.removed[kind]}"
            )
        return "；".join(parts)


def existing_registry(session: Session) -> Registry:
    """The active registry as records, for validating an incoming file against it."""
    orgs = tuple(
        OrgRecord(o.code, o.name, OrgKind(o.kind), o.parent, o.profile, o.elected_on, o.term_years)
        for o in session.exec(select(Organization).where(col(Organization.active).is_(True)))
    )
    members = tuple(
        MemberRecord(
            m.id,
            m.name,
            m.org,
            m.status,
            m.joined_on,
            m.probation_start,
            m.full_on,
            m.email,
            m.wecom,
            m.mobile,
            m.staff_since,
        )
        for m in session.exec(select(Member).where(col(Member.active).is_(True)))
    )
    positions = tuple(
        PositionRecord(p.org, p.role, p.member, p.since, p.vacant_since)
        for p in session.exec(select(Position))
    )
    return Registry(orgs, members, positions)


def apply(
    session: Session, incoming: Registry, *, prune: bool, default_profile: str, as_of: dt.date
) -> ImportSummary:
    summary = ImportSummary()
    dirty: set[str] = set()
    orgs = {org.code: org for org in session.exec(select(Organization))}
    for record in incoming.orgs:
        values: dict[str, Any] = {
            "name": record.name,
            "kind": record.kind.value,
            "parent": record.parent,
            "profile": record.profile,
            "elected_on": record.elected_on,
            "term_years": record.term_years,
            "active": True,
        }
        current = orgs.get(record.code)
        if current is None:
            current = Organization(code=record.code, path="", effective_profile=default_profile, **values)
            orgs[record.code] = current
            summary.added["org"] += 1
            dirty.add(record.code)
        elif _assign(current, values):
            summary.updated["org"] += 1
            dirty.add(record.code)
        session.add(current)
    listed_orgs = {record.code for record in incoming.orgs}
    if prune and incoming.orgs:
        for code, org in orgs.items():
            if code not in listed_orgs and org.active:
                org.active = False
                session.add(org)
                summary.removed["org"] += 1
    changed_tree = _refresh_tree(orgs, default_profile)
    dirty |= changed_tree
    session.flush()

    covered = listed_orgs | {m.org for m in incoming.members} | {p.org for p in incoming.positions}
    _apply_members(session, incoming.members, covered if prune else None, summary, dirty)
    _apply_positions(session, incoming.positions, covered if prune else None, summary, dirty)

    inactive = [code for code, org in orgs.items() if not org.active]
    _drop_future_open_tasks(session, inactive, as_of)
    for code in dirty:
        if code in orgs and orgs[code].active:
            orgs[code].dirty = True
            session.add(orgs[code])
    if summary.changed:
        state = plan_state(session)
        state.registry_version += 1
        session.add(state)
    session.flush()
    return summary


def _assign(row: Any, values: Mapping[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _refresh_tree(orgs: Mapping[str, Organization], default_profile: str) -> set[str]:
    """Recompute every organization's path and effective profile; returns the codes whose values changed."""
    changed: set[str] = set()
    resolved: dict[str, tuple[str, str]] = {}

    def resolve(code: str) -> tuple[str, str]:
        if code in resolved:
            return resolved[code]
        org = orgs[code]
        if org.parent and org.parent in orgs:
            parent_path, parent_profile = resolve(org.parent)
        else:
            parent_path, parent_profile = "/", default_profile
        resolved[code] = (f"{parent_path}{code}/", org.profile or parent_profile)
        return resolved[code]

    for code, org in orgs.items():
        path, profile = resolve(code)
        if (org.path, org.effective_profile) != (path, profile):
            org.path, org.effective_profile = path, profile
            changed.add(code)
    return changed


def _apply_members(
    session: Session,
    records: Iterable[MemberRecord],
    prune_in: set[str] | None,
    summary: ImportSummary,
    dirty: set[str],
) -> None:
    members = {member.id: member for member in session.exec(select(Member))}
    listed: set[str] = set()
    for record in records:
        listed.add(record.id)
        values: dict[str, Any] = {
            "name": record.name,
            "org": record.org,
            "status": record.status,
            "joined_on": record.joined_on,
            "probation_start": record.probation_start,
            "full_on": record.full_on,
            "staff_since": record.staff_since,
            "email": record.email,
            "wecom": record.wecom,
            "mobile": record.mobile,
            "active": True,
        }
        current = members.get(record.id)
        if current is None:
            session.add(Member(id=record.id, **values))
            summary.added["member"] += 1
            dirty.add(record.org)
            continue
        moved_from = current.org if current.org != record.org else None
        if _assign(current, values):
            summary.updated["member"] += 1
            dirty.add(record.org)
            session.add(current)
        if moved_from is not None:
            dirty.add(moved_from)
            # A member's own duties (学时, 政治生日) follow them to their new organization.
            session.execute(
                update(Task)
                .where(col(Task.subject) == record.id, col(Task.subject_kind).in_(("member", "officer")))
                .values(org=record.org)
            )
    if prune_in is None:
        return
    for member_id, member in members.items():
        if member.active and member_id not in listed and member.org in prune_in:
            member.active = False
            session.add(member)
            summary.removed["member"] += 1
            dirty.add(member.org)
            session.execute(delete(Position).where(col(Position.member) == member_id))


def _apply_positions(
    session: Session,
    records: Iterable[PositionRecord],
    prune_in: set[str] | None,
    summary: ImportSummary,
    dirty: set[str],
) -> None:
    session.flush()
    positions = {(p.org, p.role): p for p in session.exec(select(Position))}
    listed: set[tuple[str, str]] = set()
    for record in records:
        key = (record.org, record.role)
        listed.add(key)
        values: dict[str, Any] = {
            "member": record.member,
            "since": record.since,
            "vacant_since": record.vacant_since,
        }
        current = positions.get(key)
        if current is None:
            session.add(Position(org=record.org, role=record.role, **values))
            summary.added["position"] += 1
            dirty.add(record.org)
        elif _assign(current, values):
            session.add(current)
            summary.updated["position"] += 1
            dirty.add(record.org)
    if prune_in is None:
        return
    for key, position in positions.items():
        if key not in listed and position.org in prune_in:
            session.delete(position)
            summary.removed["position"] += 1
            dirty.add(position.org)


def _drop_future_open_tasks(session: Session, codes: list[str], as_of: dt.date) -> None:
    for index in range(0, len(codes), 500):
        session.execute(
            delete(Task).where(
                col(Task.org).in_(codes[index : index + 500]),
                col(Task.status) == "open",
                col(Task.done_count) == 0,
                col(Task.due) >= as_of,
                col(Task.id).not_in(select(col(CompletionTask.task_id))),
                col(Task.id).not_in(select(col(Waiver.task_id))),
            )
        )
