"""A roster with mobile numbers, imported and used end to end: no mobile number ends up in a member id, a
calendar, a mail (real SMTP on 127.0.0.1), the outbox or the log. No channel addresses people by mobile, so the
number is stored and shown in the registry only."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from obligations import db
from obligations.models import Member, OutboxMessage
from tests.obligations.conftest import REGISTRY, email_config, run
from tests.obligations.test_reminders import MailSink
from tests.obligations.test_reminders import smtp as smtp

# Each written as offices write them; stored as the 11 digits, which must then appear nowhere else.
ROSTER = [
    ("赵六", "jg.b2", "正式党员", "2010-07-01", "", "zhaoliu@example.org", "zhaoliu", "13700001111"),
    ("钱七", "jg.b2", "预备党员", "2026-03-01", "2026-03-01", "qianqi@example.org", "", "+86 139-0000-2222"),
    ("孙八", "jg.b2", "正式党员", "2012-07-01", "", "sunba@example.org", "", "136 0000 3333"),
]
MOBILES = ("13700001111", "13900002222", "13600003333")


@pytest.fixture
def roster_imported(tmp_path: Path, database_url: str, smtp: tuple[MailSink, Controller]) -> tuple[Path, str]:
    """The test registry's organizations, a CSV roster of jg.b2 without ids (with mobiles), and one of its
    members, found by name, as jg.b2's secretary: reminders by email to the local SMTP server."""
    _, controller = smtp
    config = email_config(tmp_path / "config.toml", controller.port)
    workspace = (config, database_url)
    assert run(workspace, "init").exit_code == 0
    orgs = tmp_path / "registry.toml"
    orgs.write_text(REGISTRY, encoding="utf-8")
    as_of = ("--as-of", "2026-11-21")
    result = run(workspace, "import", str(orgs), *as_of, "--track-from", "2025-01-01")
    assert result.exit_code == 0, result.stderr
    roster = tmp_path / "党员名册.csv"
    with roster.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["姓名", "所在组织", "人员类别", "入党日期", "预备期开始日期", "邮箱", "企业微信", "手机"]
        )
        writer.writerows(ROSTER)
    result = run(workspace, "import", str(roster), *as_of)
    assert result.exit_code == 0, result.stderr
    (secretary,) = [member_id for member_id, name in _members(database_url) if name == "赵六"]
    positions = tmp_path / "positions.toml"
    positions.write_text(
        f'[[position]]\norg = "jg.b2"\nrole = "secretary"\nmember = "{secretary}"\nsince = 2024-04-01\n',
        encoding="utf-8",
    )
    result = run(workspace, "import", str(positions), *as_of)
    assert result.exit_code == 0, result.stderr
    return workspace


def _members(url: str) -> list[tuple[str, str]]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Member.id, Member.name)).all())
    finally:
        engine.dispose()


def _without_mobiles(text: str) -> bool:
    return not any(mobile in text for mobile in MOBILES)


def test_no_mobile_number_reaches_an_id_a_calendar_a_mail_the_outbox_or_the_log(
    roster_imported: tuple[Path, str], smtp: tuple[MailSink, Controller], caplog: pytest.LogCaptureFixture
) -> None:
    sink, _ = smtp
    workspace = roster_imported
    ids = {name: member_id for member_id, name in _members(workspace[1]) if name in ("赵六", "钱七", "孙八")}
    assert all(_without_mobiles(member_id) for member_id in ids.values())

    with caplog.at_level(logging.DEBUG):
        due = run(workspace, "due", "--all", "--org", "jg.b2", "--format", "json", "--as-of", "2026-11-21")
        calendar = run(workspace, "calendar", "--org", "jg.b2", "--as-of", "2026-11-21")
        probationer = run(workspace, "calendar", "--member", ids["钱七"], "--as-of", "2026-11-21")
        reminded = run(workspace, "remind", "--as-of", "2026-11-23 09:00")

    assert due.exit_code == calendar.exit_code == probationer.exit_code == reminded.exit_code == 0
    subjects = {row["subject"] for row in json.loads(due.stdout)}
    assert ids["钱七"] in subjects  # the probationer's own duties, whose calendar UIDs hold her id
    uids = [line for line in (calendar.stdout + probationer.stdout).splitlines() if line.startswith("UID:")]
    assert _without_mobiles("\n".join(uids)) and _without_mobiles(calendar.stdout + probationer.stdout)
    assert _without_mobiles(due.stdout)
    assert ids == {"赵六": "jg.b2/赵六", "钱七": "jg.b2/钱七", "孙八": "jg.b2/孙八"}

    assert sink.received, reminded.stdout
    assert {received.to for received in sink.received} <= {row[5] for row in ROSTER}
    for received in sink.received:
        headers = "\n".join(f"{name}: {value}" for name, value in received.message.items())
        assert _without_mobiles(headers) and _without_mobiles(received.message.as_string())

    engine = db.make_engine(workspace[1])
    try:
        with Session(engine) as session:
            outbox = session.exec(select(OutboxMessage.recipient, OutboxMessage.address)).all()
    finally:
        engine.dispose()
    assert outbox and all(_without_mobiles(f"{recipient} {address}") for recipient, address in outbox)
    assert caplog.records and _without_mobiles(caplog.text)
    assert all(_without_mobiles(str(record.args)) for record in caplog.records)
