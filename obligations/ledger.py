"""The ledger (台账): recording what was done, correcting it, and approved extensions and exemptions.

A completion records one activity — date, place, form, host, attendees and absentees, topic, minutes —
and counts toward one or more tasks (a 主题党日 that is also the quarter's 党课). Hours given with named
attendees also count toward each attendee's study-hours task of that year. A task is done when what its
active completions add up to reaches its required count.

Every check runs before anything is written and all failures are reported together; nothing is written
unless all pass. Corrections never delete: `undo` marks a completion and the tasks are recounted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from calendars import instants, ladder, recurrence
from calendars.expand import duty_name, period_label
from calendars.instants import FOUNDING
from calendars.model import Evidence, Profile, Quorum, RecordSpec, Role, Rule, RuleKind, Unit
from calendars.periods import parse_key
from calendars.text import control_problem, length_problem, shown
from obligations import attachments, audit, history, planner, roster
from obligations.errors import LedgerError, NotFound, UserError, not_found
from obligations.models import (
    Attachment,
    Attendance,
    Completion,
    CompletionTask,
    Member,
    Organization,
    Position,
    Task,
    Waiver,
)
from obligations.queries import organization
from obligations.tables import column_width

STUDY_HOURS = "study-hours"
MAX_POSTPONEMENT_YEARS = 1  # 《中国共产党基层组织选举工作条例》第三条：延长期限一般不超过1年

# What a person could mean by a number in a record; anything else is a typo (or `inf`, `nan`, `1e308`).
# The most 学时 any duty asks of a person in a year (班子成员 56); a record, even of a several-day 集中培训
# entered once, cannot credit more than a whole year's requirement.
MAX_HOURS = 56.0
MAX_ATTENDEES = 10_000  # more than any grassroots 党委's 党员大会; a larger count is a slip of the keyboard
MAX_EXTENSION_YEARS = 5  # an extension longer than a term of office is not a postponement


@dataclass(frozen=True)
class Activity:
    """What the secretary reports: 时间、地点、方式、主持人、参加人员、内容."""

    held_on: dt.date
    place: str | None = None
    form: str | None = None
    host: str | None = None
    topic: str | None = None
    note: str | None = None
    hours: float | None = None
    attendee_count: int | None = None
    attendees: tuple[str, ...] = ()
    absent: tuple[tuple[str, str], ...] = ()  # (member id, reason)
    minutes: tuple[Path, ...] = ()
    lecturer: str | None = None  # member id of who gave the lesson (主讲人)

    def shows(self, evidence: Evidence) -> bool:
        """Whether the record carries `evidence` (a head count stands for the list of attendees)."""
        if evidence is Evidence.ATTENDEES:
            return bool(self.attendees) or self.attendee_count is not None
        value = {
            Evidence.PLACE: self.place,
            Evidence.FORM: self.form,
            Evidence.HOST: self.host,
            Evidence.TOPIC: self.topic,
            Evidence.MINUTES: self.minutes,
            Evidence.HOURS: self.hours,
            Evidence.LECTURER: self.lecturer,
        }[evidence]
        return bool(value.strip()) if isinstance(value, str) else bool(value)


class Problem(str):
    """A failed check's message and the record field it concerns (`on`, `place`, `attendee`, `absent`,
    `minutes` … named like the CLI's options), so that the web shows it beside that field; the CLI prints
    the message as it is."""

    field: str | None

    def __new__(cls, message: str, field: str | None = None) -> Problem:
        problem = super().__new__(cls, message)
        problem.field = field
        return problem


def _at(field: str, message: str | None) -> Problem | None:
    return None if message is None else Problem(message, field)


# The record field that shows each kind of evidence (the form's and the CLI's name for it).
EVIDENCE_FIELDS = {evidence: evidence.value for evidence in Evidence} | {Evidence.ATTENDEES: "attendee"}


def parse_hours(text: str) -> float:
    """学时 as written (`--hours`, the form's 学时): a number in plain digits (`1_0` is not ten); `record`
    bounds its value."""
    text = text.strip()
    try:
        if "_" in text:
            raise ValueError
        return float(text)
    except ValueError:
        raise UserError(f"学时（--hours）{text!r} 不是数字，应写作 4 或 1.5。") from None


def parse_absence(text: str) -> tuple[str, str]:
    """An absentee as written (`--absent`, the form's `absent`): 党员编号:原因."""
    member, separator, reason = text.partition(":")
    if not separator or not member.strip() or not reason.strip():
        raise UserError(f"应写作 党员编号:原因，例如 m07:出差，而不是 {text!r}")
    return member.strip(), reason.strip()


def activity_from_text(fields: Mapping[str, Sequence[str]], minutes: Sequence[Path] = ()) -> Activity:
    """An activity from fields as typed, named like the CLI's options (`on`, `place`, `form`, `host`,
    `lecturer`, `attendee`, `absent` as 党员编号:原因, one a line, `topic`, `hours`, `note`): the web's form.
    Blank fields are absent; what cannot be read is refused, every problem at once, beside its field."""

    def one(name: str) -> str | None:
        values = [value.strip() for value in fields.get(name, ()) if value.strip()]
        return values[0] if values else None

    def many(name: str) -> list[str]:
        return [line.strip() for value in fields.get(name, ()) for line in value.splitlines() if line.strip()]

    problems: list[str] = []
    held_on = dt.date.min
    on = one("on")
    if on is None:
        problems.append(Problem("须填写开展日期。", "on"))
    else:
        try:
            held_on = instants.parse_day(on)
        except instants.InstantError as error:
            problems.append(Problem(str(error), "on"))
    hours = None
    if one("hours") is not None:
        try:
            hours = parse_hours(one("hours") or "")
        except UserError as error:
            problems.append(Problem(str(error), "hours"))
    absent: list[tuple[str, str]] = []
    for line in many("absent"):
        try:
            absent.append(parse_absence(line))
        except UserError as error:
            problems.append(Problem(f"缺席人员{error}。", "absent"))
    if problems:
        raise LedgerError(problems)
    return Activity(
        held_on=held_on,
        place=one("place"),
        form=one("form"),
        host=one("host"),
        topic=one("topic"),
        # A browser sends a textarea's line breaks as CRLF; the 台账 keeps them as LF.
        note="\n".join(v.replace("\r\n", "\n").strip() for v in fields.get("note", ()) if v.strip()) or None,
        hours=hours,
        attendees=tuple(dict.fromkeys(many("attendee"))),
        absent=tuple(absent),
        minutes=tuple(minutes),
        lecturer=one("lecturer"),
    )


@dataclass
class Recorded:
    completion: Completion
    tasks: list[Task]
    duplicate: bool = False
    credited_hours: dict[str, float] = field(default_factory=dict)  # member id -> hours credited


def task_by_id(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"没有编号为 {task_id} 的任务。可用 obligations due 查看任务编号。")
    return task


def task_for(
    session: Session, profiles: Mapping[str, Profile], org_code: str, rule_id: str, day: dt.date
) -> Task:
    """The organization's own task of `rule_id` whose period contains `day` (for `record`)."""
    org = organization(session, org_code)
    profile = profiles[org.effective_profile]
    calendars = history.calendars_of(session, profiles, org_code, org.effective_profile)
    # A day before a change of profile looks for the rule of the profile then in force (history is not
    # rewritten): a 2025 duty of `national` is recorded after the branch moved to `wujin-2016`.
    known = calendars.rule(rule_id, day) if calendars else None
    if calendars is None or known is None:
        raise not_found(f"职责日历 {profile.id} 中的规则", rule_id, profile.rules)
    candidates = session.exec(
        select(Task).where(
            col(Task.org) == org_code, col(Task.rule) == rule_id, col(Task.subject) == org_code
        )
    ).all()
    # Each task under the profile it was owed under. Two periods of one rule hold a day only across a change
    # of profile (wujin-2016's first half and national's year): the activity counts where the profile in force
    # on its day owes it, then toward an open task, the earliest due first, so that the choice never depends
    # on the order rows come back in.
    in_force = calendars.at(day).id
    owed = [
        (task, history.owed_profile(calendars, task.rule, task.period_start, task.original_due or task.due))
        for task in candidates
    ]
    matching = [
        (profile is None or profile.id != in_force, task.status != "open", task.due, task.id or 0, task)
        for task, profile in owed
        if _period_contains(task, profile.rules[rule_id] if profile else None, day)
    ]
    if matching:
        return min(matching, key=lambda found: found[:4])[4]
    planned = planner.materialize(session, profiles, org_code, rule_id, day)
    if planned is not None:
        return planned
    raise UserError(
        f"{org.name}（{org_code}）没有包含 {day} 的“{known.title}”任务"
        f"（该组织可能不适用此规则，或该日期不在计划范围内）。"
    )


def rule_of(session: Session, profiles: Mapping[str, Profile], task: Task) -> Rule | None:
    """The rule `task` was owed under (the profile in force on its date, not necessarily today's)."""
    org = session.get(Organization, task.org)
    calendars = history.calendars_of(session, profiles, org.code, org.effective_profile) if org else None
    return history.task_rule(calendars, task) if calendars else None


def _period_span(task: Task, rule: Rule | None) -> tuple[dt.date, dt.date | None]:
    """The dates a completion of `task` may bear: its period, or from its trigger on for an event task."""
    if rule is None or rule.kind is RuleKind.EVENT:
        return task.period_start, None
    period = parse_key(task.period)
    return period.start, period.end


def _period_contains(task: Task, rule: Rule | None, day: dt.date) -> bool:
    start, end = _period_span(task, rule)
    return start <= day and (end is None or day <= end)


def record(
    session: Session,
    profiles: Mapping[str, Profile],
    tasks: Sequence[Task],
    activity: Activity,
    *,
    as_of: dt.date,
    now: dt.datetime,
    attachments_dir: Path,
    held_by: str | None = None,
    actor: audit.Actor | None = None,
) -> Recorded:
    """Check `activity` against each task and, when every check passes, record it once for all of them.

    `held_by` names the organization whose meeting it was when that is not the tasks' own (the 支部大会 that
    decides on a probationary member of one of its 党小组); attendance and quorum are judged against it.
    `actor` (who records, through which channel, from where) is stored on the record and written to the audit
    log in the same transaction; a date after the task's period is a make-up (补办) and counts as done late."""
    problems = problems_of(session, profiles, tasks, activity, as_of=as_of, held_by=held_by)
    if problems:
        raise LedgerError(problems)
    org = session.get(Organization, held_by or tasks[0].org)
    assert org is not None

    # Where minutes would go is known before anything is written (a code unfit for a path refuses the record).
    first = tasks[0]
    folder = attachments.folder_of(first.org, first.rule, first.period) if activity.minutes else None
    fingerprint = _fingerprint(tasks, activity)
    existing = _recorded(session, fingerprint)
    if existing is not None:
        _log_record(session, actor, existing, tasks, now, duplicate=True)
        return Recorded(existing, list(tasks), duplicate=True)

    completion = Completion(
        org=org.code,
        held_on=activity.held_on,
        place=activity.place,
        form=activity.form,
        host=activity.host,
        topic=activity.topic,
        note=activity.note,
        hours=activity.hours,
        attendee_count=activity.attendee_count,
        lecturer=activity.lecturer,
        fingerprint=fingerprint,
        recorded_at=now,
        recorded_by=actor.who if actor else None,
        recorded_via=actor.channel if actor else None,
        recorded_from=actor.address if actor else None,
    )
    session.add(completion)
    try:
        session.flush()
    except IntegrityError:
        # The same activity recorded at the same moment by another process, which committed first (the
        # partial unique index on active fingerprints): this one writes nothing and says so, as a
        # sequential duplicate does.
        session.rollback()
        existing = _recorded(session, fingerprint)
        if existing is None:
            raise
        _log_record(session, actor, existing, tasks, now, duplicate=True)
        return Recorded(existing, list(tasks), duplicate=True)
    assert completion.id is not None
    for task in tasks:
        amount = activity.hours if task.unit == "hours" and activity.hours else 1.0
        assert task.id is not None
        session.add(CompletionTask(completion_id=completion.id, task_id=task.id, amount=amount))
    for member_id in activity.attendees:
        session.add(Attendance(completion_id=completion.id, member=member_id, present=True))
    for member_id, reason in activity.absent:
        session.add(Attendance(completion_id=completion.id, member=member_id, present=False, reason=reason))
    credited = _credit_hours(session, completion.id, activity, {task.id for task in tasks})
    if folder is not None:
        _copy_attachments(session, completion.id, activity.minutes, attachments_dir, folder)
    session.flush()
    for task_id in {task.id for task in tasks} | set(credited.values()):
        assert task_id is not None
        recount(session, task_id)
    _log_record(session, actor, completion, tasks, now, duplicate=False)
    hours = activity.hours or 0.0
    return Recorded(completion, list(tasks), credited_hours={member: hours for member in credited})


def problems_of(
    session: Session,
    profiles: Mapping[str, Profile],
    tasks: Sequence[Task],
    activity: Activity,
    *,
    as_of: dt.date,
    held_by: str | None = None,
) -> list[str]:
    """Every check `record` makes, without writing: what keeps `activity` from being recorded (none: it can be).
    The desk asks this when an upload was refused, so that the person sees every problem at once."""
    if not tasks:
        return ["没有指定要记录的任务。"]
    orgs = {task.org for task in tasks}
    if len(orgs) > 1 and held_by is None:
        return [f"一条台账记录只能属于一个组织，而这些任务属于：{'、'.join(sorted(orgs))}。"]
    org = session.get(Organization, held_by or tasks[0].org)
    assert org is not None
    owed = [(task, rule_of(session, profiles, task)) for task in tasks]
    members = roster.voting_member_rows(session, org.code)
    return _check(session, owed, org, activity, members, as_of)


def _log_record(
    session: Session,
    actor: audit.Actor | None,
    completion: Completion,
    tasks: Sequence[Task],
    now: dt.datetime,
    *,
    duplicate: bool,
) -> None:
    if actor is None:
        return
    audit.log(
        session,
        actor,
        "record",
        at=now,
        target=f"completion {completion.id}",
        outcome="duplicate" if duplicate else "ok",
        detail="tasks " + ",".join(str(task.id) for task in tasks),
    )


def _recorded(session: Session, fingerprint: str) -> Completion | None:
    """The active completion of the same activity, if it was recorded already."""
    return session.exec(
        select(Completion).where(
            col(Completion.fingerprint) == fingerprint, col(Completion.undone_at).is_(None)
        )
    ).first()


def _check(
    session: Session,
    owed: Sequence[tuple[Task, Rule | None]],
    org: Organization,
    activity: Activity,
    members: Mapping[str, Member],
    as_of: dt.date,
) -> list[str]:
    problems = _activity_text_problems(activity)
    day = activity.held_on
    if day > as_of:
        problems.append(Problem(f"日期 {day} 在未来（今天是 {as_of}）：只能记录已经开展的活动。", "on"))
    if day < FOUNDING:
        problems.append(Problem(f"日期 {day} 早于建党（{FOUNDING}），请检查年份。", "on"))
    for task, rule in owed:
        title = _title(rule, task)
        if task.status == "waived":
            problems.append(f"任务 {task.id}（{title}）已免办，不能再记录完成。")
        start, end = _period_span(task, rule)
        if not _period_contains(task, rule, day) and not (end is not None and end < day <= as_of):
            # A date after the period, once past, is a make-up (补办): it counts, and the task is done late.
            span = f"{start} 至 {end}" if end else f"{start} 以后"
            problems.append(
                Problem(
                    f"日期 {day} 不在任务 {task.id}（{title}，{period_label(task.period)}）的周期内（{span}）。",
                    "on",
                )
            )
    for field_name, named in (("attendee", activity.attendees), ("absent", [m for m, _ in activity.absent])):
        for member_id in named:
            if member_id not in members and control_problem(member_id) is None:  # else reported as text
                problems.append(
                    Problem(
                        f"{member_id} 不是{org.name}（{org.code}）的党员，不能记为参加人员或请假人员。",
                        field_name,
                    )
                )
    both = set(activity.attendees) & {member for member, _ in activity.absent}
    if both:
        problems.append(Problem(f"{'、'.join(sorted(both))} 同时记为出席和缺席。", "absent"))
    if activity.attendees and activity.attendee_count is not None:
        problems.append(
            Problem("参加人数和参加人员名单只能填一种（--attendees 或 --attendee）。", "attendee")
        )
    problems.extend(
        Problem(problem, "minutes") for problem in map(attachments.file_problem, activity.minutes) if problem
    )
    if activity.hours is not None and not _meant_hours(activity.hours):
        problems.append(
            Problem(
                f"学时（--hours）应为 0.1 至 {MAX_HOURS:g} 之间、最多一位小数的数（一年应修学时的上限），"
                f"而不是 {activity.hours:g}。",
                "hours",
            )
        )
    if activity.attendee_count is not None and not 0 < activity.attendee_count <= MAX_ATTENDEES:
        problems.append(
            Problem(
                f"参加人数（--attendees）应在 1 至 {MAX_ATTENDEES} 之间，而不是 {activity.attendee_count}。",
                "attendee",
            )
        )
    for _, rule in owed:
        if rule is not None:
            problems.extend(_evidence_problems(session, rule, org, activity, members))
    return list(dict.fromkeys(problems))  # two tasks of one rule report a missing field once


# How the CLI asks for each field, for the message that says what is missing.
EVIDENCE_OPTIONS = {
    Evidence.PLACE: "--place",
    Evidence.FORM: "--form",
    Evidence.HOST: "--host",
    Evidence.ATTENDEES: "--attendee 或 --attendees",
    Evidence.TOPIC: "--topic",
    Evidence.MINUTES: "--minutes",
    Evidence.HOURS: "--hours",
    Evidence.LECTURER: "--lecturer",
}


def _meant_hours(hours: float) -> bool:
    """学时 as a person counts them: finite, in tenths, from 0.1 up to a year's requirement."""
    return math.isfinite(hours) and 0.1 <= hours <= MAX_HOURS and abs(hours * 10 - round(hours * 10)) < 1e-6


def _evidence_problems(
    session: Session, rule: Rule, org: Organization, activity: Activity, members: Mapping[str, Member]
) -> list[str]:
    """What the rule's evidence declaration (RecordSpec) asks of the record and the record does not show."""
    spec: RecordSpec = rule.record
    missing = [evidence for evidence in spec.fields if not activity.shows(evidence)]
    problems: list[str] = [
        Problem(
            f"“{rule.title}”的台账须写明{evidence.label}（{EVIDENCE_OPTIONS[evidence]}）。",
            EVIDENCE_FIELDS[evidence],
        )
        for evidence in missing
    ]
    if spec.quorum is not None and Evidence.ATTENDEES not in missing:
        problem = _quorum_problem(session, spec.quorum, rule.title, org, activity, members)
        if problem:
            problems.append(Problem(problem, "attendee"))
    if spec.lecturer is not None and activity.lecturer:
        problem = lecturer_problem(
            session, spec.lecturer, rule.title, org, activity.held_on, activity.lecturer
        )
        if problem:
            problems.append(Problem(problem, "lecturer"))
    return problems


def text_problem(label: str, column: Any, value: str | None, *, multiline: bool = False) -> str | None:
    """Why a typed field cannot be stored: a control character, or more characters than its column holds.

    The width is the column's own (models.py), so SQLite refuses what PostgreSQL would."""
    if value is None:
        return None
    problem = control_problem(value, multiline=multiline)
    length = column_width(column)
    if problem is None and length is not None:
        problem = length_problem(value, length)
    return f"{label}{problem}。" if problem else None


def _activity_text_problems(activity: Activity) -> list[str]:
    checks = [
        _at("place", text_problem("地点（--place）", Completion.place, activity.place)),
        _at("form", text_problem("方式（--form）", Completion.form, activity.form)),
        _at("host", text_problem("主持人（--host）", Completion.host, activity.host)),
        _at("lecturer", text_problem("主讲人（--lecturer）", Completion.lecturer, activity.lecturer)),
        _at("topic", text_problem("主题和内容（--topic）", Completion.topic, activity.topic)),
        _at("note", text_problem("备注（--note）", Completion.note, activity.note, multiline=True)),
        *(
            _at("attendee", text_problem("参加人员（--attendee）", Attendance.member, member))
            for member in activity.attendees
        ),
        *(
            _at("absent", text_problem("缺席人员（--absent）", Attendance.member, member))
            for member, _ in activity.absent
        ),
        *(
            _at("absent", text_problem("缺席原因（--absent）", Attendance.reason, reason))
            for _, reason in activity.absent
        ),
        *(
            _at(
                "minutes", text_problem(f"会议记录文件名 {path.name!r} ", Attachment.original_name, path.name)
            )
            for path in activity.minutes
        ),
    ]
    return [problem for problem in checks if problem]


def _quorum_problem(
    session: Session,
    quorum: Quorum,
    title: str,
    org: Organization,
    activity: Activity,
    members: Mapping[str, Member],
) -> str | None:
    if quorum is Quorum.MAJORITY_OF_COMMITTEE:
        committee = committee_of(session, org)
        if not committee:
            return None
        if activity.attendee_count is not None:
            # A head count is judged as a named list is: those beyond the committee's seats are guests (列席).
            present = min(activity.attendee_count, len(committee))
        else:
            present = len(committee & set(activity.attendees))
        if present * 2 <= len(committee):
            return f"{title}到会委员 {present} 人，未超过委员 {len(committee)} 人的半数（须至少 {len(committee) // 2 + 1} 人）。"
        return None
    full = sum(1 for member in members.values() if member.status == "full")
    if activity.attendee_count is not None:
        present = activity.attendee_count
    else:
        present = sum(
            1
            for member_id in activity.attendees
            if members.get(member_id, None) and members[member_id].status == "full"
        )
    if quorum is Quorum.FOUR_FIFTHS_OF_VOTING:
        needed = full * 4 // 5 + 1
        if present < needed:
            return f"{title}到会有选举权的党员 {present} 人，未超过应到会 {full} 人的五分之四（须至少 {needed} 人）。"
        return None
    needed = full // 2 + 1
    if present < needed:
        return f"{title}到会正式党员 {present} 人，未超过应到会正式党员 {full} 人的半数（须至少 {needed} 人），会议无效。"
    return None


# A role's stand-in when its seat is vacant: the deputy secretary stands in for the secretary.
STAND_INS = {Role.SECRETARY: Role.DEPUTY_SECRETARY}
COMMITTEE_ROLES = tuple(role.value for role in Role if role is not Role.GROUP_LEADER)


def committee_of(session: Session, org: Organization) -> set[str]:
    """The members holding a committee seat of `org` (the filled seats: 书记、副书记、委员; one person once)."""
    holders = session.exec(
        select(col(Position.member)).where(
            col(Position.org) == org.code,
            col(Position.role).in_(COMMITTEE_ROLES),
            col(Position.member).is_not(None),
        )
    ).all()
    return {member for member in holders if member is not None}


def lecturer_problem(
    session: Session, role: Role, title: str, org: Organization, day: dt.date, lecturer: str
) -> str | None:
    """Why `lecturer` cannot have given `title` on `day`: the lecturer holds `role` in `org` on that day, or its
    stand-in does while the seat is vacant (书记讲党课: 000 四(一), 003 二(三)1). The registry keeps each seat's
    holder since a date, not its history: a day before a seat's present state cannot be checked, so is refused."""
    seats: dict[str, list[Position]] = {}
    for position in session.exec(select(Position).where(col(Position.org) == org.code)).all():
        seats.setdefault(position.role, []).append(position)
    seat = next(iter(seats.get(role.value, [])), None)
    who = f"{org.name}（{org.code}）{role.label}"
    if seat is not None and seat.member is not None:
        if seat.member != lecturer:
            return f"{title}的主讲人 {lecturer} 不是{who}（现任 {seat.member}），须由{role.label}主讲。"
        if seat.since is not None and seat.since > day:
            return f"{title}的主讲人 {lecturer} 自 {seat.since} 起任{who}，{day} 时尚未任职。"
        return None
    vacant_since = seat.vacant_since if seat is not None else None
    if vacant_since is not None and vacant_since > day:
        return f"{who}自 {vacant_since} 起空缺，名册中没有 {day} 时的任职人，无法核实主讲人 {lecturer}。"
    stand_in = STAND_INS.get(role)
    deputies = [p for p in seats.get(stand_in.value, []) if p.member] if stand_in is not None else []
    if stand_in is None or not deputies:
        return f"{who}空缺且无人代行，{title}不能由 {lecturer} 记为主讲。"
    deputy = next((p for p in deputies if p.member == lecturer), None)
    if deputy is None:
        names = "、".join(str(p.member) for p in deputies)
        return f"{who}空缺，{title}须由{stand_in.label} {names} 代为主讲，而不是 {lecturer}。"
    if deputy.since is not None and deputy.since > day:
        return f"{title}的主讲人 {lecturer} 自 {deputy.since} 起任{stand_in.label}，{day} 时尚未任职。"
    return None


def _title(rule: Rule | None, task: Task) -> str:
    return rule.title if rule else task.rule


def task_name(session: Session, profiles: Mapping[str, Profile], task: Task) -> str:
    """A task as a person names it in a confirmation: 支部党员大会（2026年第四季度）, 党员政治生日·张三（2026年）."""
    subject = ""
    if task.subject_kind != "org":
        member = session.get(Member, task.subject)
        subject = member.name if member else task.subject
    return duty_name(_title(rule_of(session, profiles, task), task), task.period, shown(subject))


def _fingerprint(tasks: Iterable[Task], activity: Activity) -> str:
    parts = [
        ",".join(str(task.id) for task in sorted(tasks, key=lambda t: t.id or 0)),
        activity.held_on.isoformat(),
        activity.place or "",
        activity.topic or "",
        ",".join(sorted(activity.attendees)),
        str(activity.attendee_count or ""),
        str(activity.hours or ""),
        *([activity.lecturer] if activity.lecturer else []),  # records made before 0007 keep their print
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _credit_hours(
    session: Session, completion_id: int, activity: Activity, already: set[int | None]
) -> dict[str, int]:
    """Hours of an activity count toward each named attendee's study-hours task of that year."""
    if not activity.hours or not activity.attendees:
        return {}
    year = str(activity.held_on.year)
    rows = session.exec(
        select(Task).where(
            col(Task.rule) == STUDY_HOURS, col(Task.period) == year, col(Task.subject).in_(activity.attendees)
        )
    ).all()
    credited: dict[str, int] = {}
    for task in rows:
        if task.id in already or task.id is None:
            continue
        session.add(CompletionTask(completion_id=completion_id, task_id=task.id, amount=activity.hours))
        credited[task.subject] = task.id
    return credited


def _copy_attachments(
    session: Session, completion_id: int, files: Sequence[Path], folder: Path, relative: Path
) -> None:
    for stored in attachments.store(folder, relative, completion_id, files):
        session.add(
            Attachment(
                completion_id=completion_id,
                path=stored.path,
                original_name=stored.original_name,
                sha256=stored.sha256,
                size=stored.size,
            )
        )


def recount(session: Session, task_id: int) -> Task:
    """Set a task's done count and status from its active completions."""
    task = session.get(Task, task_id)
    assert task is not None
    rows = session.exec(
        select(col(CompletionTask.amount), col(Completion.held_on))
        .join(Completion, col(Completion.id) == col(CompletionTask.completion_id))
        .where(col(CompletionTask.task_id) == task_id, col(Completion.undone_at).is_(None))
        .order_by(col(Completion.held_on))
    ).all()
    total = 0.0
    reached: dt.date | None = None
    days: set[dt.date] = set()
    for amount, held_on in rows:
        if task.unit == Unit.DAYS.value:
            # A quota of days (每月集中学习不少于2天) counts distinct dates, not sessions.
            days.add(held_on)
            total = float(len(days))
        else:
            total += amount
        if reached is None and total >= task.required_count:
            reached = held_on
    task.done_count = total
    if task.status != "waived":
        task.status = "done" if reached is not None else "open"
        task.done_on = reached
    if task.status != "done":
        task.filed_on = None  # a filing of a withdrawn record files nothing
    session.add(task)
    return task


def task_needs_filing(session: Session, profiles: Mapping[str, Profile], task: Task) -> bool:
    """Whether the rule `task` was owed under asks for its record to be filed with the parent."""
    rule = rule_of(session, profiles, task)
    return rule is not None and rule.record.file_with_parent


def file_with_parent(
    session: Session, profiles: Mapping[str, Profile], task: Task, *, on: dt.date, as_of: dt.date
) -> Task:
    """Record that the task's record was filed with the parent organization (报上级党组织备案) on `on`."""
    title = _title(rule_of(session, profiles, task), task)
    problems = []
    if not task_needs_filing(session, profiles, task):
        problems.append(f"任务 {task.id}（{title}）的规则不要求报上级党组织备案。")
    elif task.status != "done":
        problems.append(f"任务 {task.id}（{title}）尚未完成：先登记完成（obligations done），再登记报备。")
    if on > as_of:
        problems.append(f"报备日期 {on} 在未来（今天是 {as_of}）。")
    if task.done_on is not None and on < task.done_on:
        problems.append(f"报备日期 {on} 早于完成日期 {task.done_on}：会后才能报备。")
    if task.filed_on is not None and task.filed_on != on:
        problems.append(f"任务 {task.id}（{title}）已于 {task.filed_on} 报备。")
    if problems:
        raise LedgerError(problems)
    task.filed_on = on
    session.add(task)
    session.flush()
    return task


def undo(
    session: Session,
    completion_id: int,
    reason: str,
    *,
    now: dt.datetime,
    actor: audit.Actor | None = None,
) -> list[Task]:
    """Mark a completion as withdrawn (it stays in the ledger, struck out) and recount its tasks; `actor` is
    stored as who withdrew it and written to the audit log in the same transaction."""
    completion = session.get(Completion, completion_id)
    if completion is None:
        raise NotFound(f"没有编号为 {completion_id} 的台账记录。")
    if completion.undone_at is not None:
        raise UserError(
            f"台账记录 {completion_id} 已于 {completion.undone_at:%Y-%m-%d} 撤销：{completion.undo_reason}"
        )
    if not reason.strip():
        raise UserError("撤销台账记录必须说明理由（--reason）。")
    problem = text_problem("撤销理由（--reason）", Completion.undo_reason, reason)
    if problem:
        raise LedgerError([problem])
    completion.undone_at = now
    completion.undo_reason = reason.strip()
    if actor is not None:
        completion.undone_by, completion.undone_via, completion.undone_from = (
            actor.who,
            actor.channel,
            actor.address,
        )
        audit.log(session, actor, "undo", at=now, target=f"completion {completion_id}", detail=reason.strip())
    session.add(completion)
    session.flush()
    task_ids = session.exec(
        select(col(CompletionTask.task_id)).where(col(CompletionTask.completion_id) == completion_id)
    ).all()
    return [recount(session, task_id) for task_id in task_ids]


def waiver_problems(
    session: Session,
    profiles: Mapping[str, Profile],
    task: Task,
    *,
    until: dt.date | None,
    reason: str,
    exempt: bool,
) -> list[str]:
    """What stands against an extension to `until` (or an exemption) of `task`, the approval aside: asked
    for by a branch and checked again when the parent approves."""
    reason_problem = text_problem("理由（--reason）", Waiver.reason, reason)
    problems = [reason_problem] if reason_problem else []
    if not reason.strip():
        problems.append("须说明理由（--reason）。")
    if task.status == "done":
        problems.append(f"任务 {task.id} 已完成，无需缓办或免办。")
    if task.status == "waived":
        problems.append(f"任务 {task.id} 已免办。")
    if exempt:
        return problems
    original = task.original_due or task.due
    if until is None:
        problems.append("延期须给出新的期限（--until）。")
    elif until <= task.due:
        problems.append(f"新的期限 {until} 应晚于现在的期限 {task.due}。")
    if until is not None and until > recurrence.shift(original, years=MAX_EXTENSION_YEARS):
        problems.append(f"新的期限 {until} 比原期限 {original} 晚 {MAX_EXTENSION_YEARS} 年以上，请检查年份。")
    elif until is not None and task.rule == "term-election":
        limit = recurrence.shift(original, years=MAX_POSTPONEMENT_YEARS)
        if until > limit:
            title = _title(rule_of(session, profiles, task), task)
            problems.append(
                f"{title}最多延期1年（《中国共产党基层组织选举工作条例》第三条：延长期限一般不超过1年），"
                f"原期限 {original}，最晚 {limit}，不能延至 {until}。"
            )
    return problems


def waive(
    session: Session,
    profiles: Mapping[str, Profile],
    task: Task,
    *,
    until: dt.date | None,
    reason: str,
    approved_by: str | None,
    exempt: bool,
    now: dt.datetime,
    actor: audit.Actor | None = None,
    request_id: int | None = None,
) -> Waiver:
    """An extension approved by the parent organization (the due date moves), or an exemption. `actor` is
    who entered it (channel and address are kept); `request_id` the branch's request it grants, if any."""
    problems = waiver_problems(session, profiles, task, until=until, reason=reason, exempt=exempt)
    approver_problem = text_problem("批准单位（--approved-by）", Waiver.approved_by, approved_by)
    if approver_problem:
        problems.append(approver_problem)
    if not exempt and (not approved_by or not approved_by.strip()):
        problems.append("延期须经上级党组织批准，请填写批准单位（--approved-by）。")
    if problems:
        raise LedgerError(problems)
    waiver = Waiver(
        task_id=task.id or 0,
        kind="exemption" if exempt else "extension",
        until=until,
        reason=reason.strip(),
        approved_by=approved_by.strip() if approved_by else None,
        previous_due=task.due,
        granted_at=now,
        granted_via=actor.channel if actor else None,
        granted_from=actor.address if actor else None,
        request_id=request_id,
    )
    session.add(waiver)
    if exempt:
        task.status = "waived"
    else:
        assert until is not None
        task.original_due = task.original_due or task.due
        task.due = until
        rule = rule_of(session, profiles, task)
        if rule is not None:
            task.remind_on = ladder.first_remind_on(rule, until)  # the ladder starts again
    session.add(task)
    session.flush()
    return waiver
