"""User templates in a real sweep: one that fails on one person's data fails that digest only.

The demo registry, reminders by email to a real SMTP server on 127.0.0.1 (the fixtures of test_reminders),
and a folder of user templates that pass the start-up check (they render the example digest) but fail — by
raising, or by exceeding a bound — on the digest of one person, m05. Each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from obligations.cli.app import App
from obligations.db import session_scope
from obligations.demo import NAMES
from obligations.models import OutboxMessage
from tests.obligations.test_reminders import D, MailSink, _body, _sweep, at
from tests.obligations.test_reminders import demo as demo
from tests.obligations.test_reminders import smtp as smtp

VICTIM = NAMES[4]  # m05, who owes the January 党费收缴 on 2026-01-26

FAILING_ON_M05 = {
    "a loop of 10^10 turns": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "a gigabyte of output": "{{ 'x' * 10**9 }}",
    "a macro calling itself": "{% macro again(n) %}{{ again(n + 1) }}{% endmacro %}{{ again(0) }}",
    "an error on this data": "{{ items[0].title // 2 }}",
}


@pytest.mark.parametrize("failing", FAILING_ON_M05.values(), ids=FAILING_ON_M05.keys())
def test_a_user_template_failing_on_one_digest_fails_it_and_the_sweep_delivers_the_rest(
    demo: App,
    smtp: tuple[MailSink, Controller],
    failing: str,
) -> None:
    sink, _ = smtp
    folder = demo.config_path.parent / "templates"
    folder.mkdir()
    (folder / "reminder.text.j2").write_text(
        f'{{% if recipient.name == "{VICTIM}" %}}{failing}{{% endif %}}'
        "{{ recipient.name }}同志：\n{% for item in items %}{{ item.title }} {{ item.days_text }}\n{% endfor %}"
        '{% if failures %}{% include "failure.text.j2" %}{% endif %}',
        encoding="utf-8",
    )
    _configure_templates(demo.config_path, folder)

    first = _sweep(demo, at(D(2026, 1, 26)))

    with session_scope(demo.engine) as session:
        messages = session.exec(select(OutboxMessage)).all()
    failed = [m for m in messages if m.state == "failed"]
    assert [m.recipient for m in failed] == ["m05"]
    assert (failed[0].last_error or "").startswith("消息模板 reminder.text.j2:1 无法生成提醒：")
    assert "党费" in failed[0].text  # the digest in the shipped templates: what `outbox --retry` would send
    # Everyone else got their digest, rendered by the user template.
    assert first.sent == len(messages) - 1 > 0
    assert sink.to("m05@example.org") == []
    delivered = [_body(received) for received in sink.received]
    assert len(delivered) == first.sent and all("同志：\n" in body for body in delivered)

    # The next sweep tells the branch secretary (m04) of the digest that could not be made, and why.
    sink.today = D(2026, 1, 27)
    _sweep(demo, at(D(2026, 1, 27)))
    [report] = sink.to("m04@example.org", D(2026, 1, 27))
    assert "reminder.text.j2" in _body(report) and VICTIM in _body(report)


def _configure_templates(config: Path, folder: Path) -> None:
    text = config.read_text(encoding="utf-8").replace(
        "[reminders]\n", f"[reminders]\ntemplates = {str(folder)!r}\n".replace("'", '"'), 1
    )
    config.write_text(text, encoding="utf-8")
