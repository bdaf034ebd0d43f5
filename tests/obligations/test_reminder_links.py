"""Every item of every reminder carries its desk link (issue 11, 从提醒到表单): per recipient and per task, in
the email's text and HTML, in the WeCom markdown (application message and group robot) and as the WeCom
application message's card. Without `[web] public_url` reminders keep the command. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlmodel import col, select

from calendars.instants import PARTY_TIME
from notifiers.base import CARD_DESCRIPTION_LIMIT, CARD_TITLE_LIMIT, TextCard
from notifiers.wecom import AppChannel
from obligations import links, reminders
from obligations.cli import cli
from obligations.cli.app import App
from obligations.cli.remind import settings as reminder_settings
from obligations.db import session_scope
from obligations.models import OutboxItem, OutboxMessage, Reminder
from tests.notifiers.servers import FakeTime, FakeWeCom
from tests.notifiers.test_wecom import CORP_ID, CORP_SECRET, SEND, with_server

SWEEP_AT = dt.datetime(2026, 6, 15, 9, 0, tzinfo=PARTY_TIME)
DESK = "https://dj.example.cn/desk"
LINK = re.compile(re.escape(DESK) + r"/l/([A-Za-z0-9_.-]+)")


def _demo(tmp_path: Path, database_url: str, public_url: str) -> App:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[reminders]\nchannels = ["email", "wecom"]\ndigest_items = 1000\n[web]\npublic_url = "{public_url}"\n'
        '[notifiers.wecom]\ncorp_id = "ww-demo"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", database_url, "init", "--demo", "--as-of", "2026-01-02"]
    )
    assert result.exit_code == 0, result.output
    app = App(config_path=config, db_url=database_url)
    with app.session() as session:
        app.keep_planned(session, SWEEP_AT.date())
        reminders.plan_messages(session, app.profiles, SWEEP_AT, reminder_settings(app))
    return app


def test_every_item_of_every_digest_links_its_task_for_its_recipient(
    tmp_path: Path, database_url: str
) -> None:
    app = _demo(tmp_path, database_url, DESK)
    with session_scope(app.engine) as session:
        key = links.signing_key(session, SWEEP_AT)
        messages = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        tasks_of = {
            message.id: sorted(
                session.exec(
                    select(Reminder.task_id)
                    .join(OutboxItem, col(OutboxItem.reminder_id) == col(Reminder.id))
                    .where(OutboxItem.message_id == message.id)
                ).all()
            )
            for message in messages
        }
    channels = {message.channel for message in messages}
    assert channels == {"email", "wecom"}
    cards = 0
    # A digest too long for WeCom is several messages, its numbered parts: the first carries the reminders.
    digests: dict[tuple[str | None, str], list[OutboxMessage]] = {}
    for message in messages:
        digests.setdefault((message.recipient, message.channel), []).append(message)
    for parts in digests.values():
        message = parts[0]
        expected = tasks_of[message.id]
        assert all(not tasks_of[part.id] for part in parts[1:])
        assert all("obligations done" not in part.text for part in parts)  # the link replaces the command
        for body in ("text", "html", "markdown"):
            whole = "".join(getattr(part, body) or "" for part in parts if body != "html" or part is message)
            found = [links.verify(key, token, now=SWEEP_AT) for token in LINK.findall(whole)]
            assert sorted(link.task_id for link in found) == expected, message.recipient
            assert {link.member for link in found} == {message.recipient}
        assert f'href="{DESK}/l/' in (message.html or "")
        assert f"[去登记]({DESK}/l/" in (message.markdown or "")
        assert all(part.card is None for part in parts[1:])
        if message.channel == "wecom":
            card = TextCard.from_json(json.loads(message.card or "null"))
            assert card is not None
            cards += 1
            assert len(card.title.encode()) <= CARD_TITLE_LIMIT
            assert len(card.description.encode()) <= CARD_DESCRIPTION_LIMIT
            if len(expected) == 1 and not card.more:
                assert (
                    links.verify(key, LINK.fullmatch(card.url).group(1), now=SWEEP_AT).task_id == expected[0]
                )  # type: ignore[union-attr]
                assert card.button == "去登记"
            else:
                assert (card.url, card.button, card.more) == (f"{DESK}/", "我的待办", True)
        else:
            assert message.card is None
    assert cards > 3


def test_without_a_public_address_reminders_keep_the_command_and_no_card(
    tmp_path: Path, database_url: str
) -> None:
    app = _demo(tmp_path, database_url, "")
    with session_scope(app.engine) as session:
        messages = session.exec(select(OutboxMessage)).all()
    assert messages
    for message in messages:
        assert "/l/" not in message.text + (message.html or "") + (message.markdown or "")
        assert "obligations done" in message.text
        assert message.card is None


def test_the_sweep_delivers_each_wecom_digest_as_its_card_to_the_wecom_peer(
    tmp_path: Path, database_url: str
) -> None:
    app = _demo(tmp_path, database_url, DESK)
    with session_scope(app.engine) as session:
        wecom = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "wecom")).all()
        expected = {
            message.address: TextCard.from_json(json.loads(message.card or "null"))
            for message in wecom
            if message.card  # part 1 of a digest sent in parts; the others carry no card
        }
        parts = {
            message.address: sum(other.address == message.address for other in wecom) for message in wecom
        }

    async def run(server: FakeWeCom, fake: FakeTime) -> list[Any]:
        channel = AppChannel(server.base_url, CORP_ID, CORP_SECRET, 1000002, clock=fake.clock)
        try:
            await reminders.deliver(
                app.engine,
                {"wecom": channel},
                SWEEP_AT,
                reminder_settings(app),
                worker="test",
                rng=random.Random(1),
            )
        finally:
            await channel.aclose()
        return [request.body for request in server.calls(SEND)]

    bodies = with_server(run)
    cards = {body["touser"]: body["textcard"] for body in bodies if body["msgtype"] == "textcard"}
    assert cards.keys() == expected.keys()
    for userid, card in expected.items():
        assert card is not None
        assert cards[userid]["url"] == card.url and cards[userid]["btntxt"] == card.button
        digests = [body for body in bodies if body["touser"] == userid and body["msgtype"] == "markdown"]
        assert len(digests) == (parts[userid] if card.more else 0)  # the digest, or its parts, follow
