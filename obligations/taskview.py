"""One task as a person reads it: what the duty asks (the rule's evidence declaration), where it stands, and
its history — every record (withdrawn ones too, with their reason), who made it, when and through which
channel, and the approved extensions and exemptions. The desk's task page renders it; it decides nothing.

A record held after the task's due date is a make-up (补办): it counts, and the task is done late (逾期完成).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from calendars.model import Evidence, Profile, RecordSpec, Rule, Unit
from obligations import ledger, roster
from obligations.duelist import Mine
from obligations.models import (
    Attachment,
    Attendance,
    Completion,
    CompletionTask,
    Member,
    Organization,
    Task,
    Waiver,
)


@dataclass(frozen=True)
class Entry:
    """One record of the task."""

    completion: Completion
    amount: float  # what it counts toward the task (1 meeting, 4 学时)
    present: tuple[tuple[str, str], ...]  # (member id, name)
    absent: tuple[tuple[str, str, str], ...]  # (member id, name, reason)
    attachments: tuple[Attachment, ...]
    late: bool  # held after the due date: 补办

    @property
    def undone(self) -> bool:
        return self.completion.undone_at is not None


@dataclass(frozen=True)
class TaskView:
    task: Task
    org: Organization
    rule: Rule | None
    name: str  # 支部委员会会议（2026年11月）
    status: str  # open | overdue | done | waived
    days_left: int
    late: bool  # done after the due date (逾期完成)
    entries: tuple[Entry, ...]
    waivers: tuple[Waiver, ...]
    roster: tuple[Member, ...]  # whom a record may name: the branch's members, its 党小组's included

    def name_of(self, member_id: str | None) -> str:
        """A member of the roster by name (an operating-system user or a former member as recorded)."""
        if not member_id:
            return "—"
        found = next((member for member in self.roster if member.id == member_id), None)
        return f"{found.name}（{member_id}）" if found else member_id

    @property
    def spec(self) -> RecordSpec:
        return self.rule.record if self.rule else RecordSpec()

    @property
    def requirement(self) -> str:
        """台账要求, as `rules show` and the README say it."""
        return self.rule.describe_record() if self.rule else "日期"

    @property
    def citation(self) -> str:
        return self.rule.citation if self.rule else ""

    @property
    def cadence(self) -> str:
        return self.rule.describe_cadence() if self.rule else ""

    def requires(self, evidence: Evidence) -> bool:
        return self.spec.requires(evidence)

    @property
    def asks_lecturer(self) -> bool:
        return self.spec.lecturer is not None or self.requires(Evidence.LECTURER)

    @property
    def asks_hours(self) -> bool:
        return self.task.unit == Unit.HOURS.value or self.requires(Evidence.HOURS)

    @property
    def asks_attendance(self) -> bool:
        """A meeting of the organization names who attended; a person's own duty does not."""
        return self.task.subject_kind == "org" or self.requires(Evidence.ATTENDEES)


def task_view(session: Session, profiles: Mapping[str, Profile], task: Task, *, as_of: dt.date) -> TaskView:
    org = session.get(Organization, task.org)
    assert org is not None
    rule = ledger.rule_of(session, profiles, task)  # under the profile in force on the task's date
    members = roster.voting_member_rows(session, org.code)
    status = task.status_on(as_of)
    waivers = session.exec(
        select(Waiver).where(col(Waiver.task_id) == task.id).order_by(col(Waiver.granted_at))
    ).all()
    return TaskView(
        task=task,
        org=org,
        rule=rule,
        name=ledger.task_name(session, profiles, task),
        status=status,
        days_left=(task.due - as_of).days,
        late=task.status == "done" and task.done_on is not None and task.done_on > task.due,
        entries=tuple(_entries(session, task, members)),
        waivers=tuple(waivers),
        roster=tuple(sorted(members.values(), key=lambda member: (member.org, member.id))),
    )


def _entries(session: Session, task: Task, members: Mapping[str, Member]) -> list[Entry]:
    rows = session.exec(
        select(Completion, CompletionTask.amount)
        .join(CompletionTask, col(CompletionTask.completion_id) == col(Completion.id))
        .where(col(CompletionTask.task_id) == task.id)
        .order_by(col(Completion.held_on).desc(), col(Completion.id).desc())
    ).all()
    ids = [completion.id for completion, _ in rows]
    attendance = session.exec(select(Attendance).where(col(Attendance.completion_id).in_(ids))).all()
    files = session.exec(
        select(Attachment).where(col(Attachment.completion_id).in_(ids)).order_by(col(Attachment.id))
    ).all()
    named = {row.member for row in attendance} - set(members)
    names = {member.id: member.name for member in members.values()}
    if named:
        names |= {m.id: m.name for m in session.exec(select(Member).where(col(Member.id).in_(named)))}
    entries = []
    for completion, amount in rows:
        here = [row for row in attendance if row.completion_id == completion.id]
        entries.append(
            Entry(
                completion=completion,
                amount=amount,
                present=tuple((r.member, names.get(r.member, r.member)) for r in here if r.present),
                absent=tuple(
                    (r.member, names.get(r.member, r.member), r.reason or "") for r in here if not r.present
                ),
                attachments=tuple(f for f in files if f.completion_id == completion.id),
                late=completion.held_on > task.due,
            )
        )
    return entries


def completion_tasks(session: Session, completion_id: int) -> list[tuple[Task, Organization]]:
    """The tasks a record counts toward, with their organizations (whose scope sees the record)."""
    rows = session.exec(
        select(Task, Organization)
        .join(CompletionTask, col(CompletionTask.task_id) == col(Task.id))
        .join(Organization, col(Organization.code) == col(Task.org))
        .where(col(CompletionTask.completion_id) == completion_id)
        .order_by(col(Task.id))
    ).all()
    return [(task, org) for task, org in rows]


@dataclass(frozen=True)
class LateRow:
    """A task done after its due date (逾期完成, by a make-up record)."""

    task_id: int
    name: str
    org_name: str
    due: dt.date
    done_on: dt.date


def done_late(
    session: Session, profiles: Mapping[str, Profile], mine: Mine, *, since: dt.date, limit: int = 20
) -> list[LateRow]:
    """One person's tasks done late (a make-up, 补办) on or after `since`, the latest first."""
    rows = session.exec(
        select(Task, Organization)
        .join(Organization, col(Organization.code) == col(Task.org))
        .where(
            mine.condition(),
            col(Task.status) == "done",
            col(Task.done_on) >= since,
            col(Task.done_on) > col(Task.due),
        )
        .order_by(col(Task.done_on).desc(), col(Task.id))
        .limit(limit)
    ).all()
    return [
        LateRow(task.id or 0, ledger.task_name(session, profiles, task), org.name, task.due, task.done_on)
        for task, org in rows
        if task.done_on is not None
    ]
