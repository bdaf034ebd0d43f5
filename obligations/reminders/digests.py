"""Phase 2 of planning: one digest per person per channel, from their pending reminders."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, insert, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from calendars.expand import period_label
from calendars.model import Rule, step_label
from notifiers.base import ChannelKind
from notifiers.render import DigestPart, TemplateFailure, render_digest
from notifiers.table import KINDS, NO_ADDRESS
from obligations.db import chunks
from obligations.links import Linker
from obligations.models import (
    OutboxItem,
    OutboxMessage,
    Reminder,
    Task,
)
from obligations.reminders import bulk
from obligations.reminders.registry import Person, Registry, addresses, task_columns
from obligations.reminders.settings import PlannedMessage, Settings, SweepResult

log = logging.getLogger("obligations.reminders")

UNLIMITED = ChannelKind(NO_ADDRESS, "", None)  # the pseudo-channel of a person with no address: kept whole


@dataclass
class DigestWriter:
    """Phase 2: one digest per person per channel for a chunk of recipients, from their pending reminders.

    A digest lists at most `settings.digest_items` routine items — the person's own duties first, then what
    they supervise, most pressing first — and counts the rest (a city secretary's escalations can run to
    thousands); terms and vacancies (换届, 空缺补齐: standing obligations, and the forward-looking 换届
    notices of 换届提醒督促制度) are always listed, whatever the cap. Every reminder, listed or counted, is
    linked to the digest."""

    session: Session
    registry: Registry
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
            self.reported.extend(failure["message_id"] for failure in told)
            reached = addresses(person, self.settings.channels)
            context = self._context(person, listed.get(member_id, []), totals.get(member_id), told, people)
            context["reachable"] = {channel: True for channel, _ in reached if channel != NO_ADDRESS}
            rendered, failure = self._render(member_id, context)
            count = sum(totals.get(member_id, {}).values())
            for channel, address in reached:
                # A digest longer than the channel carries goes as numbered parts, each its own message:
                # claimed, retried and recorded on its own, so that a failed part 2 never resends part 1.
                for part in rendered.parts(KINDS.get(channel, UNLIMITED)):
                    messages.append(self._row(person, channel, address, part, failure))
                    first_parts.append(part.number == 1)
                    if self.preview:
                        self.result.planned.append(
                            PlannedMessage(
                                member_id, person.name, channel, address, part.subject, part.text, count,
                                part.number, part.count,
                            )
                        )  # fmt: skip
        if not messages:
            return
        ids = bulk.insert_returning_ids(self.session, OutboxMessage, messages)
        self.result.messages += len(ids)
        # Every pending reminder of each recipient goes into each of their digests (into its first part), in
        # SQL: a digest's items never pass through Python, however many there are.
        message = OutboxMessage.__table__.alias("message")  # type: ignore[attr-defined]
        reminder = Reminder.__table__  # type: ignore[attr-defined]
        digests = [message_id for message_id, first in zip(ids, first_parts, strict=True) if first]
        for part in chunks(digests, 1000):
            self.session.execute(
                insert(OutboxItem).from_select(
                    ["message_id", "reminder_id"],
                    select(message.c.id, reminder.c.id)
                    .select_from(message)
                    .join(reminder, reminder.c.recipient == message.c.recipient)
                    .where(message.c.id.in_(part), pending()),
                )
            )

    def _render(self, member_id: str, context: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The digest, and why the user templates could not render it (None when they could).

        A user template that fails on one person's data fails that digest only: it goes to the outbox as
        failed, with the reason (reported to the secretary like any failed message), holding the digest in
        the shipped templates — what `outbox --retry` sends — and the sweep goes on."""
        try:
            return render_digest(context, user_folder=self.settings.templates), None
        except TemplateFailure as failure:
            log.warning("digest for %s not rendered: %s: %s", member_id, failure.template, failure.reason)
            return render_digest(context), str(failure)[:500]

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
            title = rule.title if rule else row.rule
            if row.subject_kind != "org":  # 党员政治生日·张三: a duty about one member names the member
                subject = people.get(row.subject)
                title = f"{title}·{subject.name if subject else row.subject}"
            items.append(
                {
                    "org_name": self.registry.org_name(row.org),
                    "org_code": row.org,
                    "title": title,
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

    def _row(
        self, person: Person, channel: str, address: str, rendered: DigestPart, failure: str | None
    ) -> dict[str, Any]:
        if channel == NO_ADDRESS:
            failure = "无可用的联系方式（邮箱或企业微信），无法送达"
        return {
            "recipient": person.id,
            "recipient_name": person.name,
            "channel": channel,
            "address": address,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "markdown": rendered.markdown,
            "card": json.dumps(rendered.card.to_json(), ensure_ascii=False)
            if channel == "wecom" and rendered.card
            else None,
            "state": "failed" if failure else "pending",
            "attempts": 0,
            "last_error": failure,
            "failure_reported": False,
            "next_attempt_at": self.now,
            "created_at": self.now,
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
