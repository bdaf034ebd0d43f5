"""Applying a validated registry file to the database: upsert, optional prune, and what the planner must redo.

Validation (obligations.registry) happens before anything is written; this module writes inside the
caller's transaction, so a failure part-way leaves the database as it was.

Pruning removes only what the file could have listed, within the organizations it speaks for
(`registry.file_scope`): a file with [[org]] tables speaks for the organizations it declares and everything
below them; a members CSV for the organizations its rows name. Inside that scope, the organizations, members
and positions the file does not list are removed — each kind only when the file has records of that kind (a
members CSV lists no positions). The members and positions of a removed organization go with it, and the
seats of removed members fall vacant. Nothing else outside the scope is touched. Pruned organizations and
members stay in the database as inactive, so that the ledger and reports keep their history; their open
future tasks go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from calendars.model import OrgKind, Role
from obligations.db import chunks
from obligations.models import (
    CompletionTask,
    Member,
    Organization,
    Position,
    ProfileHistory,
    Task,
    Waiver,
)
from obligations.planner import plan_state
from obligations.registry import MemberRecord, OrgRecord, PositionRecord, Registry, file_scope


@dataclass
class ImportSummary:
    added: dict[str, int] = field(default_factory=lambda: {"org": 0, "member": 0, "position": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"org": 0, "member": 0, "position": 0})
    removed: dict[str, int] = field(default_factory=lambda: {"org": 0, "member": 0, "position": 0})
    removals: list[str] = field(default_factory=list)  # what pruning removes, one line each, for people

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
    org_columns = (
        "code", "name", "kind", "parent", "profile", "elected_on", "term_years", "profile_since", "tracked_from",
        "wecom_robot_env",
    )  # fmt: skip
    orgs = tuple(
        OrgRecord(code, name, OrgKind(kind), *rest)
        for code, name, kind, *rest in session.execute(
            select(*(getattr(Organization, c) for c in org_columns)).where(col(Organization.active).is_(True))
        )
    )
    member_columns = (
        "id", "name", "org", "status", "joined_on", "probation_start", "full_on", "email", "wecom", "mobile",
        "staff_since",
    )  # fmt: skip
    members = tuple(
        MemberRecord(*row)
        for row in session.execute(
            select(*(getattr(Member, c) for c in member_columns)).where(col(Member.active).is_(True))
        )
    )
    position_columns = ("org", "role", "member", "since", "vacant_since")
    positions = tuple(
        PositionRecord(*row)
        for row in session.execute(select(*(getattr(Position, c) for c in position_columns)))
    )
    return Registry(orgs, members, positions)


def apply(
    session: Session,
    incoming: Registry,
    *,
    prune: bool,
    default_profile: str,
    as_of: dt.date,
    track_from: dt.date | None = None,
) -> ImportSummary:
    """Write `incoming` (already validated) over the database, inside the caller's transaction.

    An organization new to the database is tracked from its own `tracked_from`, else `track_from`, else
    `as_of` (earlier routine periods are not owed); a re-import moves the tracking start only when the file
    gives one. A change of profile applies to duties due from the organization's `profile_since` when the file
    changes it along with the profile, else from `as_of`: earlier ones stay owed under the previous profile.

    Rows are compared and written as plain values with bulk statements: a city's registry (hundreds of
    thousands of members) imports in seconds and without holding an ORM object per row.
    """
    summary = ImportSummary()
    dirty: set[str] = set()
    orgs = _load(session, Organization, "code", _ORG_COLUMNS)
    profiles_before = {code: row["effective_profile"] for code, row in orgs.items()}
    profile_since: dict[str, dt.date] = {}  # a profile_since the file gives anew: the date of this change
    new_orgs: list[dict[str, Any]] = []
    changed_orgs: list[dict[str, Any]] = []
    for record in incoming.orgs:
        current = orgs.get(record.code)
        values = {
            "name": record.name,
            "kind": record.kind.value,
            "parent": record.parent,
            "profile": record.profile,
            "elected_on": record.elected_on,
            "term_years": record.term_years,
            "profile_since": record.profile_since,
            "tracked_from": record.tracked_from
            or (current["tracked_from"] if current is not None else track_from or as_of),
            "wecom_robot_env": record.wecom_robot_env,
            "active": True,
        }
        if record.profile_since is not None and (
            current is None or current["profile_since"] != record.profile_since
        ):
            profile_since[record.code] = record.profile_since
        if current is None:
            row = {
                "code": record.code,
                "path": "",
                "effective_profile": default_profile,
                "dirty": True,
                **values,
            }
            orgs[record.code] = row
            new_orgs.append(row)
            summary.added["org"] += 1
            dirty.add(record.code)
        elif _changes(current, values):
            current.update(values)
            changed_orgs.append(current)
            summary.updated["org"] += 1
            dirty.add(record.code)
    listed_orgs = {record.code for record in incoming.orgs}
    scope = file_scope(incoming, {code: row["parent"] for code, row in orgs.items()})
    pruned_orgs: set[str] = set()
    if prune and incoming.orgs:
        for code, row in sorted(orgs.items(), key=lambda item: item[1]["path"]):
            if code in scope and code not in listed_orgs and row["active"]:
                pruned_orgs.add(code)
                row["active"] = False
                changed_orgs.append(row)
                summary.removed["org"] += 1
                summary.removals.append(f"组织 {code}（{row['name']}）")
    moved = _refresh_tree(orgs, default_profile)
    dirty |= moved
    new_codes = {row["code"] for row in new_orgs}
    # Parents before children, for the foreign key.
    new_orgs.sort(key=lambda row: row["path"].count("/"))
    for chunk in chunks(new_orgs, 2000):
        session.execute(insert(Organization), chunk)
    updates = {row["code"]: row for row in changed_orgs}
    updates.update({code: orgs[code] for code in moved if code not in new_codes})
    if updates:
        session.execute(update(Organization), [_org_update(row) for row in updates.values()])
    _record_profiles(session, orgs, new_codes, profiles_before, profile_since, default_profile, as_of)

    # A kind of record is pruned only where the file could have listed it (a members CSV lists no seats);
    # the members and seats of a removed organization go with it in any case.
    members_in = ((scope if incoming.members else frozenset()) | pruned_orgs) if prune else None
    positions_in = ((scope if incoming.positions else frozenset()) | pruned_orgs) if prune else None
    gone = _apply_members(session, incoming.members, members_in, summary, dirty)
    _apply_positions(session, incoming.positions, positions_in, gone, as_of, summary, dirty)

    inactive = [code for code, row in orgs.items() if not row["active"]]
    _drop_future_open_tasks(session, inactive, as_of)
    marked = [code for code in dirty if code in orgs and orgs[code]["active"] and code not in new_codes]
    for codes_chunk in chunks(marked, 2000):
        session.execute(
            update(Organization).where(col(Organization.code).in_(codes_chunk)).values(dirty=True)
        )
    if summary.changed:
        state = plan_state(session)
        state.registry_version += 1
        session.add(state)
    session.flush()
    return summary


_ORG_COLUMNS = (
    "code", "name", "kind", "parent", "profile", "elected_on", "term_years", "profile_since", "tracked_from",
    "wecom_robot_env", "active", "path", "effective_profile",
)  # fmt: skip
_MEMBER_COLUMNS = (
    "id", "name", "org", "status", "joined_on", "probation_start", "full_on", "staff_since", "email", "wecom",
    "mobile", "active",
)  # fmt: skip


def _load(session: Session, model: Any, key: str, columns: Sequence[str]) -> dict[Any, dict[str, Any]]:
    rows = session.execute(select(*(getattr(model, name) for name in columns)))
    return {row[columns.index(key)]: dict(zip(columns, row, strict=True)) for row in rows}


def _changes(current: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    return any(current.get(name) != value for name, value in values.items())


def _org_update(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in _ORG_COLUMNS}


def _refresh_tree(orgs: Mapping[str, dict[str, Any]], default_profile: str) -> set[str]:
    """Recompute every organization's path and effective profile; returns the codes whose values changed."""
    changed: set[str] = set()
    resolved: dict[str, tuple[str, str]] = {}

    def resolve(code: str) -> tuple[str, str]:
        found = resolved.get(code)
        if found is not None:
            return found
        row = orgs[code]
        parent = row["parent"]
        if parent and parent in orgs:
            parent_path, parent_profile = resolve(parent)
        else:
            parent_path, parent_profile = "/", default_profile
        resolved[code] = (f"{parent_path}{code}/", row["profile"] or parent_profile)
        return resolved[code]

    for code, row in orgs.items():
        path, profile = resolve(code)
        if (row["path"], row["effective_profile"]) != (path, profile):
            row["path"], row["effective_profile"] = path, profile
            changed.add(code)
    return changed


def _record_profiles(
    session: Session,
    orgs: Mapping[str, Mapping[str, Any]],
    new_codes: set[str],
    before: Mapping[str, str],
    given_since: Mapping[str, dt.date],
    default_profile: str,
    as_of: dt.date,
) -> None:
    """Keep profile_history in step: history is not rewritten by a change of profile.

    A new organization follows its profile from the start, unless the file dates its own profile
    (`profile_since`): before that date it followed the profile it would inherit. An organization whose
    effective profile changed follows the new one from the `profile_since` given anew by the organization
    that declares it (itself or the ancestor it inherits from), else from `as_of`; a later history row that
    the new date precedes is superseded. A `profile_since` given anew without a change of profile corrects
    the date of the latest change.
    """

    def source(code: str) -> str:
        """The organization whose declared profile `code` follows (itself or an ancestor)."""
        row = orgs[code]
        while not row["profile"] and row["parent"] in orgs:
            row = orgs[row["parent"]]
        return str(row["code"])

    def inherited(code: str) -> str:
        parent = orgs[code]["parent"]
        return str(orgs[parent]["effective_profile"]) if parent in orgs else default_profile

    added: list[dict[str, Any]] = []
    for code, row in orgs.items():
        profile = row["effective_profile"]
        if code in new_codes:
            since = given_since.get(code) if row["profile"] else None
            if since is not None and inherited(code) != profile:
                added.append({"org": code, "profile": inherited(code), "since": None})
                added.append({"org": code, "profile": profile, "since": since})
            else:
                added.append({"org": code, "profile": profile, "since": None})
        elif before.get(code) != profile:
            since = given_since.get(source(code), as_of)
            known = session.scalar(
                select(col(ProfileHistory.id)).where(col(ProfileHistory.org) == code).limit(1)
            )
            if known is None:  # a database older than the history: the previous profile from the start
                added.append({"org": code, "profile": before[code], "since": None})
            session.execute(
                delete(ProfileHistory).where(
                    col(ProfileHistory.org) == code, col(ProfileHistory.since) >= since
                )
            )
            added.append({"org": code, "profile": profile, "since": since})
        elif code in given_since and row["profile"]:
            latest = session.scalar(
                select(col(ProfileHistory.id))
                .where(col(ProfileHistory.org) == code, col(ProfileHistory.since).is_not(None))
                .order_by(col(ProfileHistory.since).desc())
                .limit(1)
            )
            if latest is not None:
                session.execute(
                    update(ProfileHistory)
                    .where(col(ProfileHistory.id) == latest)
                    .values(since=given_since[code])
                )
    for chunk in chunks(added, 2000):
        session.execute(insert(ProfileHistory), chunk)


def _apply_members(
    session: Session,
    records: Iterable[MemberRecord],
    prune_in: frozenset[str] | None,
    summary: ImportSummary,
    dirty: set[str],
) -> set[str]:
    """Upsert the members; with `prune_in`, deactivate the active members there that are not listed.

    Returns the ids of the members deactivated.
    """
    members = _load(session, Member, "id", _MEMBER_COLUMNS)
    listed: set[str] = set()
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    moved: list[tuple[str, str]] = []
    for record in records:
        listed.add(record.id)
        values = {
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
            added.append({"id": record.id, **values})
            summary.added["member"] += 1
            dirty.add(record.org)
            continue
        if not _changes(current, values):
            continue
        if current["org"] != record.org:
            dirty.add(current["org"])
            moved.append((record.id, record.org))
        current.update(values)
        changed.append(dict(current))
        summary.updated["member"] += 1
        dirty.add(record.org)
    for chunk in chunks(added, 2000):
        session.execute(insert(Member), chunk)
    if changed:
        session.execute(update(Member), changed)
    for member_id, org in moved:
        # A member's own duties (学时, 政治生日) follow them to their new organization.
        session.execute(
            update(Task)
            .where(col(Task.subject) == member_id, col(Task.subject_kind).in_(("member", "officer")))
            .values(org=org)
        )
    if prune_in is None:
        return set()
    gone = [m for m_id, m in members.items() if m["active"] and m_id not in listed and m["org"] in prune_in]
    gone.sort(key=lambda m: (m["org"], m["id"]))
    for chunk in chunks(gone, 2000):
        ids = [m["id"] for m in chunk]
        session.execute(update(Member).where(col(Member.id).in_(ids)).values(active=False))
    summary.removed["member"] += len(gone)
    summary.removals.extend(f"党员 {m['id']}（{m['name']}，{m['org']}）" for m in gone)
    dirty.update(m["org"] for m in gone)
    return {m["id"] for m in gone}


def _apply_positions(
    session: Session,
    records: Iterable[PositionRecord],
    prune_in: frozenset[str] | None,
    gone_members: set[str],
    as_of: dt.date,
    summary: ImportSummary,
    dirty: set[str],
) -> None:
    """Upsert the positions; with `prune_in`, remove those there that are not listed, and vacate (from
    `as_of`) the other seats of members who were just deactivated: a departed member holds no seat."""
    columns = ("id", "org", "role", "member", "since", "vacant_since")
    positions = {(row["org"], row["role"]): row for row in _load(session, Position, "id", columns).values()}
    listed: dict[tuple[str, str], str | None] = {}  # (org, role) -> holder, as the file lists it
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for record in records:
        key = (record.org, record.role)
        listed[key] = record.member
        values = {"member": record.member, "since": record.since, "vacant_since": record.vacant_since}
        current = positions.get(key)
        if current is None:
            added.append({"org": record.org, "role": record.role, **values})
            summary.added["position"] += 1
            dirty.add(record.org)
        elif _changes(current, values):
            changed.append({"id": current["id"], **values})
            summary.updated["position"] += 1
            dirty.add(record.org)
    for chunk in chunks(added, 2000):
        session.execute(insert(Position), chunk)
    if changed:
        session.execute(update(Position), changed)
    if prune_in is None:
        return
    gone: list[dict[str, Any]] = []
    vacated: list[dict[str, Any]] = []
    for key, row in sorted(positions.items()):
        holder = listed[key] if key in listed else row["member"]
        if key not in listed and row["org"] in prune_in:
            gone.append(row)
        elif holder is not None and holder in gone_members:
            vacated.append({**row, "member": holder})
    for chunk in chunks(gone, 2000):
        session.execute(delete(Position).where(col(Position.id).in_([row["id"] for row in chunk])))
    if vacated:
        session.execute(
            update(Position),
            [{"id": row["id"], "member": None, "since": None, "vacant_since": as_of} for row in vacated],
        )
    summary.removed["position"] += len(gone)
    summary.updated["position"] += len(vacated)
    summary.removals.extend(
        f"职务 {row['org']} {Role(row['role']).label}（{row['member'] or '空缺'}）" for row in gone
    )
    summary.removals.extend(
        f"职务 {row['org']} {Role(row['role']).label}（{row['member']}，改为空缺）" for row in vacated
    )
    dirty.update(row["org"] for row in (*gone, *vacated))


def _drop_future_open_tasks(session: Session, codes: list[str], as_of: dt.date) -> None:
    for chunk in chunks(codes, 500):
        session.execute(
            delete(Task).where(
                col(Task.org).in_(chunk),
                col(Task.status) == "open",
                col(Task.done_count) == 0,
                col(Task.due) >= as_of,
                col(Task.id).not_in(select(col(CompletionTask.task_id))),
                col(Task.id).not_in(select(col(Waiver.task_id))),
            )
        )
