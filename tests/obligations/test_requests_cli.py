"""Extension requests on the command line, and the actor of `obligations waive` (issue 11 "Records know who made
them": every extension request and approval stores who did it, when, through which channel and from where)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlmodel import Session, col, select

from calendars.profiles import load_profiles
from obligations import audit, db, requests
from obligations.models import AuditEvent, Task, Waiver, WaiverRequest
from obligations.scope import scope_of
from tests.obligations.conftest import run
from tests.obligations.terminal import on_terminal, piped, tables, width

NOW = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)


def _session(workspace: tuple[Path, str]) -> Session:
    return Session(db.make_engine(db.resolve_url(workspace[1], workspace[0].parent)))


def _task_id(workspace: tuple[Path, str], org: str, rule: str) -> int:
    result = run(workspace, "due", "--as-of", "2026-11-21", "--all", "--format", "json", "--org", org)
    return int(next(r["task_id"] for r in json.loads(result.stdout) if r["org"] == org and r["rule"] == rule))


def _ask(workspace: tuple[Path, str], task_id: int, until: dt.date | None, reason: str = "机构调整") -> int:
    """The branch secretary asks on the desk (the core the desk calls): a new due date, or with no date an
    exemption."""
    with _session(workspace) as session:
        scope = scope_of(session, "jgb1m1")
        assert scope is not None
        asked = requests.ask(
            session,
            load_profiles(),
            task_id,
            scope=scope,
            kind="extension" if until is not None else "exemption",
            until=until,
            reason=reason,
            actor=audit.Actor("jgb1m1", "web", "10.0.0.5"),
            now=NOW,
        )
        session.commit()
        return asked.id or 0


def test_waive_on_the_command_line_records_its_channel_and_the_audit_log(imported: tuple[Path, str]) -> None:
    task_id = _task_id(imported, "jg.b1", "term-election")
    result = run(imported, "waive", str(task_id), "--until", "2027-06-30", "--reason", "机构改革",
                 "--approved-by", "机关党委")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with _session(imported) as session:
        [waiver] = session.exec(select(Waiver)).all()
        [event] = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "waive")).all()
    assert waiver.granted_via == "cli" and waiver.granted_from and waiver.request_id is None
    assert event.channel == "cli" and event.target == f"task:{task_id}" and event.detail == "机构改革"


def test_a_request_is_listed_approved_and_rejected_on_the_command_line(imported: tuple[Path, str]) -> None:
    election = _task_id(imported, "jg.b1", "term-election")
    request_id = _ask(imported, election, dt.date(2027, 5, 20))
    listed = run(imported, "request", "list")
    assert listed.exit_code == 0 and "机构调整" in listed.stdout and "延期 至 2027-05-20" in listed.stdout
    missing = run(imported, "request", "approve", str(request_id))
    assert missing.exit_code == 2 and "--approved-by" in missing.stderr
    approved = run(imported, "request", "approve", str(request_id), "--approved-by", "机关党委")
    assert approved.exit_code == 0, approved.stderr
    assert "延至 2027-05-20" in approved.stdout
    with _session(imported) as session:
        decided = session.get(WaiverRequest, request_id)
        [waiver] = session.exec(select(Waiver)).all()
        task = session.get(Task, election)
    assert decided is not None and decided.state == "approved" and decided.decided_via == "cli"
    assert decided.requested_via == "web" and decided.requested_from == "10.0.0.5"  # both steps kept
    assert (
        waiver.request_id == request_id and waiver.approved_by == "机关党委" and waiver.granted_via == "cli"
    )
    assert task is not None and task.due == dt.date(2027, 5, 20)
    again = run(imported, "request", "reject", str(request_id), "--note", "晚了")
    assert again.exit_code == 6 and "已批准" in again.stderr

    dues = _task_id(imported, "jg.b1", "dues-collection")
    second = _ask(imported, dues, dt.date(2026, 12, 31))
    rejected = run(imported, "request", "reject", str(second), "--note", "请按期收缴")
    assert rejected.exit_code == 0, rejected.stderr
    assert "没有符合条件的申请" in run(imported, "request", "list").stdout
    assert "未批准" in run(imported, "request", "list", "--state", "rejected").stdout
    with _session(imported) as session:
        stored = session.get(WaiverRequest, second)
        assert stored is not None and (stored.state, stored.decision_note) == ("rejected", "请按期收缴")
    assert run(imported, "request", "approve", "99999", "--approved-by", "x").exit_code == 8


LONG_REASONS = {
    "term-election": "机构改革后支部班子尚未调整到位，拟与机关党委统一安排换届选举，请予延期",
    "dues-collection": "本月财务人员轮岗交接，党费收缴与下月合并进行，请予延期至月底",
}
REQUEST_HEADERS = ["申请", "任务", "事项", "申请内容", "理由", "申请人", "申请时间", "状态"]
REQUEST_FREE = {"事项", "理由"}  # FreeText in obligations/cli/requests.py: the only cells cut


def test_request_list_fits_an_80_column_terminal_keeping_ids_dates_and_states_whole(
    imported: tuple[Path, str],
) -> None:
    tasks = {rule: _task_id(imported, "jg.b1", rule) for rule in LONG_REASONS}
    until = {"term-election": dt.date(2027, 5, 20), "dues-collection": None}  # an extension, an exemption
    asked = {_ask(imported, tasks[rule], until[rule], reason): rule for rule, reason in LONG_REASONS.items()}
    contents = {"term-election": "延期 至 2027-05-20", "dues-collection": "免办"}

    narrow = on_terminal(imported, "request", "list", columns=80)
    wide = on_terminal(imported, "request", "list", columns=400)
    through_pipe = piped(imported, "request", "list")

    assert narrow.status == 0 and wide.status == 0 and through_pipe.returncode == 0, narrow.text
    assert max(width(line) for line in narrow.lines) <= 80, narrow.text
    assert max(width(line) for line in wide.lines) > 80
    (short,) = tables(narrow.text)
    (whole,) = tables(wide.text)
    assert whole[0] == REQUEST_HEADERS and len(short[0]) == len(REQUEST_HEADERS)
    assert tables(through_pipe.stdout.decode()) == [whole]  # a pipe gets whole rows
    rows = {int(row[0]): row for row in whole[1:]}
    assert rows.keys() == asked.keys()
    for request_id, rule in asked.items():
        row = dict(zip(REQUEST_HEADERS, rows[request_id], strict=True))
        assert row["任务"] == str(tasks[rule]) and row["理由"] == LONG_REASONS[rule]
        assert (row["申请内容"], row["申请人"]) == (contents[rule], "jgb1m1")
        assert (row["申请时间"], row["状态"]) == ("2026-11-21 10:00", "待审批")
        assert row["事项"].startswith("【第一党支部】")
    kept = [index for index, header in enumerate(REQUEST_HEADERS) if header not in REQUEST_FREE]
    for short_row, whole_row in zip(short[1:], whole[1:], strict=True):
        assert [short_row[i] for i in kept] == [whole_row[i] for i in kept]
    assert any(cell.endswith("…") for row in short[1:] for cell in row)  # the reasons were cut to fit

    election = next(request_id for request_id, rule in asked.items() if rule == "term-election")
    assert run(imported, "request", "approve", str(election), "--approved-by", "机关党委").exit_code == 0
    approved = on_terminal(imported, "request", "list", "--state", "approved", columns=80)
    (decided,) = tables(approved.text)
    assert [row[0] for row in decided[1:]] == [str(election)] and decided[1][-1] == "已批准"
    assert max(width(line) for line in approved.lines) <= 80
