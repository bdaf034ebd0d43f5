"""Phase 2 of planning: one digest per person per channel, from their pending reminders."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import case, func, insert, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from calendars.expand import period_label
from calendars.model import Rule, step_label
from notifiers.render import MessagePart, TemplateFailure, render_digest
from notifiers.table import NO_ADDRESS_KIND
from obligations import tables
from obligations.db import chunks
from obligations.links import Linker
from obligations.models import (
    OutboxItem,
    OutboxMessage,
    Reminder,
    Task,
)
from obligations.reminders import bulk
from obligations.reminders.registry import Person, PlanningRegistry, addresses, task_columns, task_title
from obligations.reminders.settings import PlannedMessage, Settings, SweepResult

log = logging.getLogger("obligations.reminders")

# Why a digest to a person with no address (the pseudo-channel NO_ADDRESS) is kept as failed.
UNREACHABLE = "无可用的联系方式（邮箱或企业微信），无法送达"


@dataclass
class DigestWriter:
    """Phase 2: one digest per person per channel for a chunk of recipients, from their pending reminders.

    A digest lists at most `settings.digest_items` routine items — the person's own duties first, then what
    they supervise, most pressing first — and counts the rest (a city secretary's escalations can run to
    thousands); terms and vacancies (换届, 空缺补齐: standing obligations, and the forward-looking 换届
    notices of 换届提醒督促制度) are always listed, whatever the cap. Every reminder, listed or counted, is
    linked to the digest."""

    session: Session
    registry: PlanningRegistry
    today: dt.date
    now: dt.datetime
    settings: Settings
    command: Callable[[int], str]
    preview: bool
    result: SweepResult
    linker: Linker | None  # None: the desk has no public address, items carry the command instead
    reported: list[int] = field(default_factory=list)  # failed messages told of in this sweep (or untellable)

    def write(self, recipients: Sequence[str], failures: dict[str, list[dict[str, Any]]]) -> None:
        listed = self._listed(recipients)
        totals = self._totals(recipients)
        people = self.registry.people(
            self.session,
            [
                *recipients,
                *(row.assignee for rows in listed.values() for row in rows),
                *(row.subject for rows in listed.values() for row in rows if row.subject_kind != "org"),
            ],
        )
        messages: list[dict[str, Any]] = []
        first_parts: list[bool] = []
        for member_id in recipients:
            person = people.get(member_id)
            if person is None:
                continue
            told = failures.pop(member_id, [])
            self.reported.extend(message_id for failure in told for message_id in failure["message_ids"])
            reached = addresses(person, self.settings.channels)
            context = self._context(person, listed.get(member_id, []), totals.get(member_id), told, people)
            context["reachable"] = {kind.name: True for kind, _ in reached if kind is not NO_ADDRESS_KIND}
            rendered, failure = render_or_shipped(
                render_digest, context, self.settings.templates, "digest", member_id
            )
            count = sum(totals.get(member_id, {}).values())
            for kind, address in reached:
                failed = UNREACHABLE if kind is NO_ADDRESS_KIND else failure
                # A digest longer than the channel carries goes as numbered parts, each its own message:
                # claimed, retried and recorded on its own, so that a failed part 2 never resends part 1.
                for part in rendered.parts(kind):
                    messages.append(
                        message_row(person.id, person.name, None, kind.name, address, part, failed, self.now)
                    )
                    first_parts.append(part.number == 1)
                    if self.preview:
                        self.result.planned.append(
                            PlannedMessage(
                                member_id, person.name, kind.name, address, part.subject, part.text, count,
                                part.number, part.count,
                            )
                        )  # fmt: skip
        if not messages:
            return
        ids = bulk.insert_returning_ids(self.session, tables.outbox_message, messages)
        self.result.messages += len(ids)
        # Every pending reminder of each recipient goes into each of their digests (into its first part), in
        # SQL: a digest's items never pass through Python, however many there are.
        message = tables.outbox_message.alias("message")
        reminder = tables.reminder
        digests = [message_id for message_id, first in zip(ids, first_parts, strict=True) if first]
        for batch in chunks(digests, 1000):
            self.session.execute(
                insert(OutboxItem).from_select(
                    ["message_id", "reminder_id"],
                    select(message.c.id, reminder.c.id)
                    .select_from(message)
                    .join(reminder, reminder.c.recipient == message.c.recipient)
                    .where(message.c.id.in_(batch), pending()),
                )
            )

    def _listed(self, recipients: Sequence[str]) -> dict[str, list[Any]]:
        """The reminders each recipient's digest lists: own duties first, then by due date, capped; terms and
        vacancies always."""
        own = own_flag()
        standing = standing_flag()
        rank = (
            func.row_number()
            .over(
                partition_by=col(Reminder.recipient),
                order_by=(own.desc(), col(Task.due), col(Task.id), col(Reminder.id)),
            )
            .label("rank")
        )
        ranked = (
            sa_select(
                col(Reminder.recipient).label("recipient"),
                col(Reminder.step).label("step"),
                col(Reminder.note).label("note"),
                *task_columns(),
                own.label("own"),
                standing.label("standing"),
                rank,
            )
            .join(Task, col(Task.id) == col(Reminder.task_id))
            .where(pending(), col(Reminder.recipient).in_(recipients))
            .subquery()
        )
        listed: dict[str, list[Any]] = defaultdict(list)
        cap = or_(ranked.c.rank <= self.settings.digest_items, ranked.c.standing == 1)
        for row in self.session.execute(sa_select(ranked).where(cap)):
            listed[row.recipient].append(row)
        return listed

    def _totals(self, recipients: Sequence[str]) -> dict[str, dict[tuple[bool, bool], int]]:
        """How many pending reminders each recipient has, by (own duty, overdue)."""
        own = own_flag()
        overdue = case((col(Task.due) < self.today, 1), else_=0)
        counts: dict[str, dict[tuple[bool, bool], int]] = defaultdict(dict)
        for recipient, is_own, is_overdue, count in self.session.execute(
            select(col(Reminder.recipient), own, overdue, func.count())
            .join(Task, col(Task.id) == col(Reminder.task_id))
            .where(pending(), col(Reminder.recipient).in_(recipients))
            .group_by(col(Reminder.recipient), own, overdue)
        ):
            counts[recipient][(bool(is_own), bool(is_overdue))] = int(count)
        return counts

    def _context(
        self,
        person: Person,
        rows: Sequence[Any],
        totals: Mapping[tuple[bool, bool], int] | None,
        failures: Sequence[Mapping[str, Any]],
        people: Mapping[str, Person],
    ) -> dict[str, Any]:
        items = []
        for row in rows:
            rule = self.registry.rule(row.org, row.rule, row.period_start, row.owed_on)
            assignee = people.get(row.assignee or "")
            items.append(
                {
                    "org_name": self.registry.org_name(row.org),
                    "org_code": row.org,
                    "title": task_title(rule, row, people),
                    "rule": row.rule,
                    "period": period_label(row.period),
                    "due": row.due,
                    "days_left": (row.due - self.today).days,
                    "step": row.step,
                    "step_label": _step_label(rule, row.step),
                    "standing": bool(row.standing),
                    "clause": rule.citation if rule else "",
                    "command": self.command(row.task_id),
                    "link": self.linker.url(row.task_id, person.id) if self.linker else "",
                    "assignee_name": assignee.name if assignee else "",
                    "fallback_note": row.note or "",
                    # The person who owes the duty acts; everyone else on the ladder supervises (督促).
                    "role": "responsible" if row.own else "supervisor",
                }
            )
        context: dict[str, Any] = {
            "recipient": {"name": person.name},
            "as_of": self.today,
            "items": items,
            "failures": list(failures),
        }
        if self.linker is not None:
            context["desk_url"] = self.linker.home
        totals = totals or {}
        listed = {
            (own, overdue): sum(
                1 for row in rows if bool(row.own) == own and (row.due < self.today) == overdue
            )
            for own in (True, False)
            for overdue in (True, False)
        }
        if sum(totals.values()) > len(rows):
            top = self.registry.top_seat(person.id)
            context["omitted"] = {
                "own": sum(totals.get((True, o), 0) - listed[(True, o)] for o in (True, False)),
                "own_overdue": totals.get((True, True), 0) - listed[(True, True)],
                "supervised": sum(totals.get((False, o), 0) - listed[(False, o)] for o in (True, False)),
                "supervised_overdue": totals.get((False, True), 0) - listed[(False, True)],
                "command": f"obligations due --org {top}" if top else "obligations due",
            }
        return context


Rendered = TypeVar("Rendered", covariant=True)


class Renderer(Protocol[Rendered]):
    def __call__(self, context: Mapping[str, Any], *, user_folder: Path | None = None) -> Rendered: ...


def render_or_shipped(
    render: Renderer[Rendered], context: Mapping[str, Any], templates: Path | None, what: str, whose: str
) -> tuple[Rendered, str | None]:
    """A digest or a summary (`what`, for `whose`) in the user templates, and why they could not render it
    (None when they could).

    A user template that fails on one message's data fails that message only: it goes to the outbox as
    failed, with the reason (reported to the secretary like any failed message), holding the message in the
    shipped templates — what `outbox --retry` sends — and the sweep goes on."""
    try:
        return render(context, user_folder=templates), None
    except TemplateFailure as failure:
        log.warning("%s for %s not rendered: %s: %s", what, whose, failure.template, failure.reason)
        return render(context), str(failure)


def _width(column: Any) -> int:
    """The declared width of a varchar column (models.py), in characters."""
    length = column.type.length
    assert isinstance(length, int), column
    return length


SUBJECT_CHARS = _width(col(OutboxMessage.subject))
ERROR_CHARS = _width(col(OutboxMessage.last_error))


def message_row(
    recipient: str | None,
    recipient_name: str,
    org: str | None,
    channel: str,
    address: str,
    part: MessagePart,
    failure: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The outbox row of one message (a digest's or a summary's, or one part of it), kept as failed with
    `failure` when there is one. The subject and the reason are cut to their columns' widths: a user template
    may write a subject of any length, and on PostgreSQL one value too long for its column would fail the whole
    planning transaction, sweep after sweep."""
    return {
        "recipient": recipient,
        "recipient_name": recipient_name,
        "org": org,
        "channel": channel,
        "address": address,
        "subject": part.subject_within(SUBJECT_CHARS),
        "text": part.text,
        "html": part.html,
        "markdown": part.markdown,
        # Only a WeCom application message is sent with its card.
        "card": json.dumps(part.card.to_json(), ensure_ascii=False)
        if channel == "wecom" and part.card is not None
        else None,
        "state": "failed" if failure else "pending",
        "attempts": 0,
        "last_error": failure[:ERROR_CHARS] if failure else None,
        "failure_reported": False,
        "next_attempt_at": now,
        "created_at": now,
    }


def _step_label(rule: Rule | None, step: str) -> str:
    """The step's Chinese name, as its ladder defines it (the same name `rules show` prints)."""
    if rule is not None:
        for ladder_step in rule.ladder.steps:
            if ladder_step.name == step:
                return ladder_step.label
    return step_label(step)


def standing_flag() -> Any:
    """1 for a term or a vacancy (a 换届 or 空缺补齐 task): listed in every digest, never left to the count.
    Known by the period key's shape (`2023-11-20/P3Y`, `vacancy:…`), whatever the rule's id."""
    return case(
        (or_(col(Task.period).like("%/P%Y"), col(Task.period).like("vacancy:%")), 1),
        else_=0,
    )


def pending() -> Any:
    """Written `pending = 1` on SQLite, as the partial index says, or SQLite would not use the index."""
    return col(Reminder.pending) == true()


def own_flag() -> Any:
    """1 when the reminder's recipient owes the task (its assignee, or the member it is about)."""
    return case(
        (
            or_(
                col(Reminder.recipient) == col(Task.assignee),
                col(Reminder.recipient) == col(Task.subject),
            ),
            1,
        ),
        else_=0,
    )
