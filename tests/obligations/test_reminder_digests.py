"""The planning half of a sweep in chunks: the same digests whatever the chunk sizes, every reminder in a
digest, long digests capped with the rest counted. On SQLite and PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, text
from sqlmodel import col, select

from calendars.instants import PARTY_TIME
from obligations import reminders
from obligations.cli import cli
from obligations.cli.app import App
from obligations.cli.remind import settings as reminder_settings
from obligations.db import session_scope
from obligations.models import OutboxItem, OutboxMessage, Reminder, Task

# Mid-June with nothing recorded since January: the demo committee's secretary (m01) supervises 78 items.
SWEEP_AT = dt.datetime(2026, 6, 15, 9, 0, tzinfo=PARTY_TIME)


def _demo(tmp_path: Path, database_url: str, digest_items: int) -> App:
    config = tmp_path / "config.toml"
    config.write_text(f'[reminders]\nchannels = ["email"]\ndigest_items = {digest_items}\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", database_url, "init", "--demo", "--as-of", "2026-01-02"]
    )
    assert result.exit_code == 0, result.output
    app = App(config_path=config, db_url=database_url)
    with app.session() as session:
        app.keep_planned(session, SWEEP_AT.date())
    return app


def _preview(app: App) -> reminders.SweepResult:
    with app.session() as session:
        result = reminders.plan_messages(
            session, app.profiles, SWEEP_AT, reminder_settings(app), preview=True
        )
        session.rollback()
    return result


def test_tiny_chunks_plan_exactly_the_digests_of_one_chunk(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _demo(tmp_path, database_url, digest_items=1000)
    whole = _preview(app)
    assert whole.reminders > 100 and whole.messages > 3  # enough that tiny chunks make many rounds
    monkeypatch.setattr(reminders.plan, "TASKS_PER_CHUNK", 7)
    monkeypatch.setattr(reminders.plan, "RECIPIENTS_PER_CHUNK", 2)
    chunked = _preview(app)
    assert (chunked.reminders, chunked.messages) == (whole.reminders, whole.messages)
    assert chunked.planned == whole.planned


def test_a_bulk_sweep_stores_exactly_the_digests_it_planned_and_restores_the_planner(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk paths of a large sweep (PostgreSQL: outbox rows by COPY, the reminder table analyzed and the
    digest queries planned as index lookups) store the digests the ordinary path plans, row for row."""
    app = _demo(tmp_path, database_url, digest_items=5)
    expected = _preview(app)
    monkeypatch.setattr(reminders.bulk, "BULK_REMINDERS", 1)
    monkeypatch.setattr(reminders.plan, "RECIPIENTS_PER_CHUNK", 3)
    with session_scope(app.engine) as session:
        result = reminders.plan_messages(session, app.profiles, SWEEP_AT, reminder_settings(app))
        if session.connection().dialect.name == "postgresql":  # the planner as it was, for the rest
            assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"
            assert session.execute(text("SHOW enable_hashjoin")).scalar_one() == "on"
    with session_scope(app.engine) as session:
        stored = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert (result.reminders, result.messages) == (expected.reminders, expected.messages)
    assert [(m.recipient, m.recipient_name, m.channel, m.address, m.subject, m.text) for m in stored] == [
        (p.recipient, p.recipient_name, p.channel, p.address, p.subject, p.text) for p in expected.planned
    ]
    assert {(m.state, m.attempts, m.failure_reported, m.created_at) for m in stored} == {
        ("pending", 0, False, SWEEP_AT)
    }
    assert all(m.html and m.markdown for m in stored)


def test_every_reminder_is_in_its_recipients_digest_and_none_stays_pending(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _demo(tmp_path, database_url, digest_items=5)
    monkeypatch.setattr(reminders.plan, "TASKS_PER_CHUNK", 7)
    monkeypatch.setattr(reminders.plan, "RECIPIENTS_PER_CHUNK", 2)
    with session_scope(app.engine) as session:
        result = reminders.plan_messages(session, app.profiles, SWEEP_AT, reminder_settings(app))
    with session_scope(app.engine) as session:
        per_recipient = Counter(session.exec(select(col(Reminder.recipient))).all())
        carried = Counter(
            dict(
                session.exec(
                    select(col(OutboxMessage.recipient), func.count())
                    .join(OutboxItem, col(OutboxItem.message_id) == col(OutboxMessage.id))
                    .group_by(col(OutboxMessage.recipient))
                ).all()
            )
        )
        pending = session.exec(select(func.count()).where(col(Reminder.pending).is_(True))).one()
        messages = session.exec(select(OutboxMessage)).all()
        later = session.exec(
            select(func.count()).where(col(Task.status) == "open", col(Task.remind_on) <= SWEEP_AT.date())
        ).one()
    assert sum(per_recipient.values()) == result.reminders
    assert carried == per_recipient  # one email digest each: every reminder, listed or counted, is carried
    assert pending == 0
    assert later == 0  # every due task's next step moved past the sweep's day
    assert len(messages) == result.messages == len(per_recipient)
    assert len({m.recipient for m in messages}) == len(messages)  # one digest per person per channel


def test_a_long_digest_lists_the_cap_and_counts_the_rest(tmp_path: Path, database_url: str) -> None:
    app = _demo(tmp_path, database_url, digest_items=5)
    with session_scope(app.engine) as session:
        reminders.plan_messages(session, app.profiles, SWEEP_AT, reminder_settings(app))
    with session_scope(app.engine) as session:
        dues = list(
            session.exec(
                select(col(Task.due))
                .join(Reminder, col(Reminder.task_id) == col(Task.id))
                .where(col(Reminder.recipient) == "m01")
            )
        )
        texts = dict(session.exec(select(col(OutboxMessage.recipient), col(OutboxMessage.text))).all())
    total, overdue = len(dues), sum(day < SWEEP_AT.date() for day in dues)
    assert total > 5 and 0 < overdue < total  # the committee's secretary (机关党委) supervises a long list
    text = texts["m01"]
    entries = re.findall(r"^\d+\. 【.+\n   截止日期：.+，(逾期|还剩|今天)", text, flags=re.MULTILINE)
    standing = len(
        re.findall(r"^\d+\. 【.+】(按期换届|书记、副书记、委员空缺补齐)", text, flags=re.MULTILINE)
    )
    assert 5 <= len(entries) <= 5 + standing  # the cap, and terms and vacancies beyond it
    listed_overdue = entries.count("逾期")
    match = re.search(r"另有 (\d+) 项（其中 (\d+) 项已逾期）未逐项列出，完整清单请运行：(.+)$", text, re.M)
    assert match, text
    assert (int(match.group(1)), int(match.group(2))) == (total - len(entries), overdue - listed_overdue)
    assert match.group(3) == "obligations due --org jg"
    assert f"有 {total} 项需要您督促（其中 {overdue} 项已逾期）" in text
    # A short digest lists everything and says nothing of omissions.
    short = [text for text in texts.values() if "未逐项列出" not in text]
    assert short and all(len(re.findall(r"^\d+\. 【", text, flags=re.MULTILINE)) <= 5 for text in short)


def test_the_cap_never_leaves_out_a_term_or_a_vacancy(tmp_path: Path, database_url: str) -> None:
    """Issue 10 §6: the demo's branch term has expired and its deputy-secretary seat is vacant; the committee's
    secretary (m01) is told of both even in a digest capped at one item, and both are listed first."""
    app = _demo(tmp_path, database_url, digest_items=1)
    with session_scope(app.engine) as session:
        reminders.plan_messages(session, app.profiles, SWEEP_AT, reminder_settings(app))
    with session_scope(app.engine) as session:
        text = session.exec(
            select(col(OutboxMessage.text)).where(col(OutboxMessage.recipient) == "m01")
        ).one()
    entries = re.findall(r"^\d+\. 【.+?】(.+)$", text, flags=re.MULTILINE)
    standing = [entry for entry in entries if entry.startswith(("按期换届", "书记、副书记、委员空缺补齐"))]
    assert len(entries) == len(standing) + 1, (
        text
    )  # the one routine item the cap allows, and every standing one
    # The expired term and the vacancy, overdue, come first; the 换届 notice six months ahead of another
    # branch's term end (换届提醒督促制度) is listed too.
    assert [entry.split("（")[0] for entry in entries[:2]] == ["按期换届", "书记、副书记、委员空缺补齐"]
    assert "副书记空缺（" in entries[1]
    assert any(entry.startswith("按期换届") for entry in entries[3:]), entries
    match = re.search(r"另有 (\d+) 项", text)
    assert match and int(match.group(1)) > 0
