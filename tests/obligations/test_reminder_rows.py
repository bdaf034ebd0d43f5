"""The outbox rows planning writes, on SQLite and PostgreSQL: whatever a user template renders, every value fits
its column, so that one over-long subject never fails a sweep's whole transaction (sweep after sweep).

The mid-June demo of test_reminders_wecom (m01 without an email address, so that their long digest goes to
WeCom in numbered parts; everyone else by email and WeCom), with a user subject template of 400+ characters.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlmodel import col, select

from obligations.cli import cli
from obligations.db import session_scope
from obligations.models import Organization, OutboxMessage
from tests.notifiers.servers import FakeWeCom, SmtpServer
from tests.obligations.test_reminders_wecom import SECRET, _mid_june
from tests.obligations.test_reminders_wecom import smtp as smtp
from tests.obligations.test_reminders_wecom import wecom as wecom

WIDTH = 300  # OutboxMessage.subject: varchar(300), counted in characters
LONG = "关于认真做好党支部标准化规范化建设有关工作的提醒" * 20  # 480 characters


def test_a_user_subject_longer_than_its_column_is_cut_before_the_part_number_and_the_sweep_goes_on(
    tmp_path: Path,
    database_url: str,
    wecom: FakeWeCom,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    base, app = _mid_june(tmp_path, database_url, wecom, smtp)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "reminder.subject.j2").write_text("{{ recipient.name }}同志：" + LONG, encoding="utf-8")
    config = app.config_path.read_text(encoding="utf-8")
    app.config_path.write_text(
        config.replace("[reminders]\n", f"[reminders]\ntemplates = {str(folder)!r}\n".replace("'", '"'), 1),
        encoding="utf-8",
    )

    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-06-15 09:00"])

    assert result.exit_code == 0, result.output
    with session_scope(app.engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        names = {row.recipient: row.recipient_name for row in rows}
        stored = [(row.recipient, row.channel, row.subject, row.state) for row in rows]
    assert stored and all(state == "sent" for *_, state in stored)
    parts = [subject for recipient, channel, subject, _ in stored if (recipient, channel) == ("m01", "wecom")]
    count = len(parts)
    assert count > 1  # the long digest went in parts: the suffix is kept, the subject cut before it
    for number, subject in enumerate(parts, start=1):
        suffix = f"（{number}/{count}）"
        whole = f"{names['m01']}同志：{LONG}"
        assert subject == whole[: WIDTH - len(suffix) - 1] + "…" + suffix and len(subject) == WIDTH
    for recipient, channel, subject, _ in stored:
        assert len(subject) <= WIDTH
        if channel == "email":  # one message: cut at the column's width, marked
            assert subject == f"{names[recipient]}同志：{LONG}"[: WIDTH - 1] + "…"
    # What the mail server received is what was stored.
    mailed = {
        message_from_bytes(mail.content, policy=policy.default)["Subject"] for mail in smtp.mailbox.received
    }
    assert mailed == {subject for _, channel, subject, _ in stored if channel == "email"}


def test_a_dry_run_numbers_the_parts_of_a_long_robot_summary_as_it_does_a_digests(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer
) -> None:
    base, app = _mid_june(tmp_path, database_url, wecom, smtp)
    config = app.config_path.read_text(encoding="utf-8")
    app.config_path.write_text(config.replace('"wecom"]', '"wecom", "wecom_robot"]', 1), encoding="utf-8")
    with app.session() as session:
        session.execute(
            update(Organization).where(col(Organization.code) == "jg.b1").values(wecom_robot_env="ROBOT_B1")
        )

    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-06-15 09:00", "--dry-run"])

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    parts = [line[4] for line in rows if line[1:3] == ["wecom_robot", "robot:jg.b1"]]  # 分段
    count = len(parts)
    assert count > 1 and parts == [f"{number}/{count}" for number in range(1, count + 1)]
