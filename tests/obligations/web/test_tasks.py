"""The task page and the record flow (issue 11 "Pages", "Make-up records", "Records know who made them",
"Uploads"): the form built from the rule's evidence declaration, the ledger's own checks beside each field,
provenance and audit of records and undos, 补办, uploads checked by content and size, files served in scope,
and every route × every role of the fixture."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import Response
from sqlalchemy import text
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from obligations.models import Attachment, Completion, Task
from obligations.web import create_app
from tests.obligations.web.conftest import (
    BASE_URL,
    PROFILES,
    ROLES,
    DeskFixture,
    audit_events,
    csrf_of,
    desk_config,
    login_token,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'
OLE2_DOC = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "WordDocument".encode("utf-16-le") + b"\x00" * 64
)
# jg.b1's 支委会 (《中国共产党支部工作条例（试行）》第十五条): its filled seats are the secretary b1m1 and the
# 组织委员 b1m2, so both must attend for a majority of the committee.
COMMITTEE = {"attendee": ["b1m1", "b1m2"], "place": "三楼会议室", "topic": "学习全会精神"}
# Who may record a task of jg.b1: its secretary and 组织委员, and the 机关党委's secretary over the subtree.
RECORDS_B1 = {"a1", "b1m1", "b1m2"}


def _task_id(desk: DeskFixture, org: str, rule: str, period: str, subject: str | None = None) -> int:
    with Session(desk.engine) as session:
        task = session.exec(
            select(Task).where(
                col(Task.org) == org,
                col(Task.rule) == rule,
                col(Task.period) == period,
                col(Task.subject) == (subject or org),
            )
        ).one()
        assert task.id is not None
        return task.id


def _completions(desk: DeskFixture) -> list[Completion]:
    with Session(desk.engine) as session:
        return list(session.exec(select(Completion).order_by(col(Completion.id))))


def _stored_files(desk: DeskFixture) -> list[Path]:
    root = desk.attachments / "attachments"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _record(
    client: TestClient,
    task_id: int,
    fields: dict[str, object],
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    *,
    token: str | None = None,
) -> Response:
    if token is None:
        token = csrf_of(client.get("/").text)
    data = {"csrf_token": token, **fields}
    return client.post(f"/tasks/{task_id}/record", data=data, files=files or None, follow_redirects=False)


def _field_problem(html: str, field: str) -> str:
    """The problems shown right after the input named `field`."""
    closing = "</fieldset>" if field == "attendee" else "</label>"  # checkboxes sit in a fieldset
    after = html[html.index(f'name="{field}"') :]
    rest = after[after.find(closing) :]
    found = re.match(closing + r'\s*((?:<p class="field-problem">[^<]*</p>\s*)*)', rest)
    assert found is not None
    return found.group(1)


# ---------------------------------------------------------------------------------------------------
# The page


def test_the_task_page_shows_what_the_duty_requires_and_a_form_built_from_its_declaration(
    desk: DeskFixture,
) -> None:
    # The 书记讲党课 (000 四(一)): attendees and a lecturer who holds the secretary's seat.
    task_id = _task_id(desk, "jg.b1", "secretary-lesson", "2026")
    page = desk.signed_in("b1m1").get(f"/tasks/{task_id}")
    assert page.status_code == 200
    rule = PROFILES["national"].rules["secretary-lesson"]
    assert rule.describe_record() in page.text  # the 台账要求 `rules show` prints, once defined
    assert rule.citation.split("；")[0] in page.text
    assert "剩 40 天" in page.text and "2026-12-31" in page.text
    assert 'name="lecturer"' in page.text and 'name="attendee" value="g1m1"' in page.text  # groups included
    assert 'name="absent"' in page.text and 'name="minutes"' in page.text and 'name="on"' in page.text
    assert 'name="hours"' not in page.text  # counted in meetings, not hours
    # A committee meeting asks no lecturer; a member's 学时 asks hours and no roster.
    committee = desk.signed_in("b1m1").get(
        f"/tasks/{_task_id(desk, 'jg.b1', 'committee-meeting', '2026-11')}"
    )
    assert 'name="lecturer"' not in committee.text
    hours = desk.signed_in("b1m5").get(f"/tasks/{_task_id(desk, 'jg.b1', 'study-hours', '2026', 'b1m5')}")
    assert hours.status_code == 200
    assert 'name="hours"' in hours.text and 'name="attendee"' not in hours.text


@pytest.mark.parametrize("member", ROLES)
def test_the_task_page_of_a_branch_meeting_by_role(desk: DeskFixture, member: str) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    page = desk.signed_in(member).get(f"/tasks/{task_id}")
    if member in RECORDS_B1:
        assert page.status_code == 200
        assert f'action="/tasks/{task_id}/record"' in page.text
    else:
        assert page.status_code == 403 and "无权" in page.text
        assert f"GET /tasks/{task_id}" in [event.target for event in audit_events(desk, "refused")]


@pytest.mark.parametrize("member", ROLES)
def test_the_task_page_of_a_group_meeting_by_role(desk: DeskFixture, member: str) -> None:
    task_id = _task_id(desk, "jg.b1.g1", "group-meeting", "2026-11")
    page = desk.signed_in(member).get(f"/tasks/{task_id}")
    allowed = RECORDS_B1 | {"g1m1"}  # the 党小组长 records for the group (《支部工作条例》第十条)
    assert page.status_code == (200 if member in allowed else 403)


@pytest.mark.parametrize("member", ROLES)
def test_recording_a_branch_meeting_by_role(desk: DeskFixture, member: str) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in(member)
    response = _record(client, task_id, {"on": "2026-11-20", **COMMITTEE})
    if member in RECORDS_B1:
        assert response.status_code == 303
        assert len(_completions(desk)) == 1
    else:
        assert response.status_code == 403
        assert _completions(desk) == []
        assert f"POST /tasks/{task_id}/record" in [event.target for event in audit_events(desk, "refused")]


@pytest.mark.parametrize("member", ROLES)
def test_undoing_and_downloading_a_branch_record_by_role(desk: DeskFixture, member: str) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    secretary = desk.signed_in("b1m1")
    _record(
        secretary,
        task_id,
        {"on": "2026-11-20", **COMMITTEE},
        [("minutes", ("纪要.pdf", PDF, "application/pdf"))],
    )
    (completion,) = _completions(desk)
    with Session(desk.engine) as session:
        attachment = session.exec(select(Attachment)).one()
    client = desk.signed_in(member)
    download = client.get(f"/files/{attachment.id}")
    undo = client.post(
        f"/completions/{completion.id}/undo",
        data={"csrf_token": csrf_of(client.get("/").text), "reason": "日期登记错误"},
        follow_redirects=False,
    )
    if member in RECORDS_B1:
        assert download.status_code == 200 and download.content == PDF
        assert (
            undo.status_code == 303 and undo.headers["location"] == f"/tasks/{task_id}?undone={completion.id}"
        )
        assert _completions(desk)[0].undone_at is not None
    else:
        assert download.status_code == 403 and undo.status_code == 403
        assert _completions(desk)[0].undone_at is None
        targets = [event.target for event in audit_events(desk, "refused")]
        assert f"GET /files/{attachment.id}" in targets
        assert f"POST /completions/{completion.id}/undo" in targets


def test_a_member_records_their_own_study_hours_and_nobody_elses(desk: DeskFixture) -> None:
    own = _task_id(desk, "jg.b1", "study-hours", "2026", "b1m5")
    other = _task_id(desk, "jg.b1", "study-hours", "2026", "b1m3")
    client = desk.signed_in("b1m5")
    typo = _record(client, own, {"on": "2026-11-10", "hours": "1_0"})
    assert typo.status_code == 422 and "学时&#39;1_0&#39; 不是数字" in _field_problem(typo.text, "hours")
    too_many = _record(client, own, {"on": "2026-11-10", "hours": "99"})
    assert "应为 0.1 至 56 之间" in _field_problem(too_many.text, "hours")
    assert _record(client, own, {"on": "2026-11-10", "hours": "4"}).status_code == 303
    assert _record(client, other, {"on": "2026-11-10", "hours": "4"}).status_code == 403
    with Session(desk.engine) as session:
        assert session.get(Task, own).done_count == 4  # type: ignore[union-attr]
        assert session.get(Task, other).done_count == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["0", "-1", str(2**31), "abc", "1e3", "٣"])
def test_a_bad_id_is_not_found_on_every_route(desk: DeskFixture, bad: str) -> None:
    client = desk.signed_in("a1")
    token = csrf_of(client.get("/").text)
    assert client.get(f"/tasks/{bad}").status_code == 404
    assert (
        client.post(f"/tasks/{bad}/record", data={"csrf_token": token, "on": "2026-11-20"}).status_code == 404
    )
    assert (
        client.post(f"/completions/{bad}/undo", data={"csrf_token": token, "reason": "x"}).status_code == 404
    )
    assert client.get(f"/files/{bad}").status_code == 404


def test_ids_that_could_exist_but_do_not_are_not_found(desk: DeskFixture) -> None:
    client = desk.signed_in("a1")
    assert client.get(f"/tasks/{2**31 - 1}").status_code == 404
    assert client.get("/files/999").status_code == 404


def test_a_post_without_the_csrf_token_is_refused_and_saves_nothing(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m1")
    response = client.post(f"/tasks/{task_id}/record", data={"on": "2026-11-20", **COMMITTEE})
    assert response.status_code == 403 and "表单已过期" in response.text
    wrong = _record(client, task_id, {"on": "2026-11-20", **COMMITTEE}, token="forged")
    assert wrong.status_code == 403
    assert _completions(desk) == []
    assert [event.detail for event in audit_events(desk, "refused")] == ["csrf", "csrf"]


def test_a_page_without_a_session_leads_to_the_sign_in(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    response = desk.client().get(f"/tasks/{task_id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next=/tasks/{task_id}"


# ---------------------------------------------------------------------------------------------------
# Recording


def test_a_web_record_is_saved_with_who_when_and_where_and_shown_on_the_task(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m2")
    response = _record(
        client,
        task_id,
        {
            "on": "2026-11-20",
            "form": "集中学习",
            "host": "党员b1m1",
            "absent": "b1m3:出差\r\nb1m4:病假",  # one a line, as a browser sends a textarea
            "note": "会议决定：\r\n一、……",
            **COMMITTEE,
        },
    )
    assert response.status_code == 303
    (completion,) = _completions(desk)
    assert response.headers["location"] == f"/tasks/{task_id}?saved={completion.id}"
    assert (completion.recorded_by, completion.recorded_via, completion.recorded_from) == (
        "b1m2",
        "web",
        "testclient",
    )
    assert completion.recorded_at.replace(tzinfo=dt.UTC) == desk.clock.now
    assert completion.note == "会议决定：\n一、……"
    (event,) = audit_events(desk, "record")
    assert (event.actor, event.channel, event.target) == ("b1m2", "web", f"completion {completion.id}")
    page = client.get(response.headers["location"]).text
    assert f"已登记台账记录 {completion.id}" in page and "已完成" in page
    assert "三楼会议室" in page and "党员b1m3（出差）、党员b1m4（病假）" in page
    assert "党员b1m2（b1m2） · 2026-11-21 10:00 · 网页" in page
    assert "撤销" in page and f'action="/completions/{completion.id}/undo"' in page


def test_each_ledger_problem_is_shown_beside_its_field_and_nothing_is_saved(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m1")
    response = _record(
        client,
        task_id,
        {
            "on": "2026-11-25",
            "attendee": ["b1m1"],
            "absent": ["b2m1:出差", "b1m3"],
            "topic": "学\x07习",
            "hours": "1_0",
        },
    )
    assert response.status_code == 422
    html = response.text
    # Parsing problems come first (the ledger checks a whole activity): the absentee line, and 学时, which
    # this form does not ask (a problem of a field not on the form is shown above it).
    assert re.search(r'<h2>登记完成情况</h2>\s*<p class="field-problem">学时[^<]*不是数字', html)
    assert "党员编号:原因" in _field_problem(html, "absent")
    assert "--" not in re.sub(r"<!--.*?-->", "", html.split("<main>")[1])  # the CLI's options stay in the CLI
    assert 'value="2026-11-25"' in html and 'value="b1m1" checked' in html and "b2m1:出差" in html
    assert _completions(desk) == []
    # With what can be read, the ledger's checks: a future date, a stranger, a control character, the quorum.
    response = _record(
        client,
        task_id,
        {"on": "2026-11-25", "attendee": ["b1m1"], "absent": ["b2m1:出差"], "topic": "学\x07习"},
    )
    html = response.text
    assert response.status_code == 422
    assert "在未来" in _field_problem(html, "on")
    assert "b2m1 不是第一党支部（jg.b1）的党员" in _field_problem(html, "absent")
    assert "控制字符 U+0007" in _field_problem(html, "topic")
    assert _completions(desk) == []
    response = _record(client, task_id, {"on": "2026-11-20", "attendee": ["b1m1"]})
    assert "到会委员 1 人，未超过委员 2 人的半数" in _field_problem(response.text, "attendee")
    assert _completions(desk) == []


def test_a_missing_field_the_rule_asks_for_is_shown_beside_it(desk: DeskFixture) -> None:
    """003 二(四)3 asks each record to show who took part; the national 支委会 declares attendees."""
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    response = _record(desk.signed_in("b1m1"), task_id, {"on": "2026-11-20", "place": "三楼会议室"})
    assert response.status_code == 422
    problems = re.findall(
        r'<legend>参加人员.*?</fieldset>\s*((?:<p class="field-problem">[^<]*</p>\s*)*)', response.text, re.S
    )
    assert problems and "须写明参加人员" in problems[0]
    assert 'value="三楼会议室"' in response.text


def test_a_double_submit_gives_one_record(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    first = _record(desk.signed_in("b1m1"), task_id, {"on": "2026-11-20", **COMMITTEE})
    other = desk.signed_in("b1m2")
    second = _record(other, task_id, {"on": "2026-11-20", **COMMITTEE})
    assert first.status_code == second.status_code == 303
    (completion,) = _completions(desk)
    assert second.headers["location"] == f"/tasks/{task_id}?duplicate={completion.id}"
    page = other.get(second.headers["location"]).text
    assert "已登记过" in page and "未重复计数" in page
    assert [event.outcome for event in audit_events(desk, "record")] == ["ok", "duplicate"]
    with Session(desk.engine) as session:
        assert session.get(Task, task_id).done_count == 1  # type: ignore[union-attr]


def test_undo_needs_a_reason_and_leaves_the_record_struck_out_with_who_and_why(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m1")
    _record(client, task_id, {"on": "2026-11-20", **COMMITTEE})
    (completion,) = _completions(desk)
    token = csrf_of(client.get("/").text)
    blank = client.post(f"/completions/{completion.id}/undo", data={"csrf_token": token, "reason": "  "})
    assert blank.status_code == 422 and "必须说明理由" in blank.text
    assert _completions(desk)[0].undone_at is None
    done = client.post(
        f"/completions/{completion.id}/undo", data={"csrf_token": token, "reason": "日期登记错误"}
    )
    assert done.status_code == 200 and f"已撤销台账记录 {completion.id}" in done.text
    assert "已撤销" in done.text and "日期登记错误" in done.text and "<s>" in done.text
    (withdrawn,) = _completions(desk)
    assert (withdrawn.undone_by, withdrawn.undone_via, withdrawn.undone_from) == ("b1m1", "web", "testclient")
    assert [event.detail for event in audit_events(desk, "undo")] == ["日期登记错误"]
    with Session(desk.engine) as session:
        assert session.get(Task, task_id).status == "open"  # type: ignore[union-attr]
    again = client.post(f"/completions/{completion.id}/undo", data={"csrf_token": token, "reason": "再撤"})
    assert again.status_code == 422 and "已于" in again.text


def test_an_overdue_meeting_held_late_is_recorded_as_a_make_up_and_done_late(desk: DeskFixture) -> None:
    """A make-up (补办) of November's 支委会 held on 3 December: recorded with its real date, counted, late."""
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    desk.clock.now = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
    client = desk.signed_in("b1m1")
    page = client.get(f"/tasks/{task_id}").text
    assert "逾期 5 天" in page and "补办" in page
    todo = client.get("/").text
    assert "逾期 5 天</strong> · 可补办登记" in todo
    response = _record(client, task_id, {"on": "2026-12-03", **COMMITTEE})
    assert response.status_code == 303
    with Session(desk.engine) as session:
        task = session.get(Task, task_id)
        assert task is not None and (task.status, task.done_on) == ("done", dt.date(2026, 12, 3))
    page = client.get(f"/tasks/{task_id}").text
    assert "逾期完成（补办，完成于 2026-12-03）" in page and "2026-12-03 · 补办" in page
    todo = client.get("/").text
    assert "近期逾期完成（补办，1）" in todo and "期限 2026-11-30 · 补办完成于 2026-12-03" in todo
    assert f'href="/tasks/{task_id}"' in todo.split("近期逾期完成")[1]
    # A date before the period is still no record of it.
    other = _task_id(desk, "jg.b1", "committee-meeting", "2026-12")
    early = _record(client, other, {"on": "2026-11-20", **COMMITTEE})
    assert "不在任务" in _field_problem(early.text, "on")


# ---------------------------------------------------------------------------------------------------
# Uploads


def _docx(parts: tuple[str, ...] = ("word/document.xml",)) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        for part in parts:
            package.writestr(part, "<w:document/>")
    return buffer.getvalue()


def test_minutes_are_stored_under_generated_names_and_served_as_attachments(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m1")
    files = [
        ("minutes", ("../../etc/会议纪要.pdf", PDF, "application/pdf")),
        ("minutes", ("记录.docx", _docx(), "application/octet-stream")),
        ("minutes", ("旧表.doc", OLE2_DOC, "application/msword")),
    ]
    response = _record(client, task_id, {"on": "2026-11-20", **COMMITTEE}, files)
    assert response.status_code == 303, response.text
    with Session(desk.engine) as session:
        stored = list(session.exec(select(Attachment).order_by(col(Attachment.id))))
    assert [a.original_name for a in stored] == ["会议纪要.pdf", "记录.docx", "旧表.doc"]
    assert all(
        re.fullmatch(r"jg\.b1/committee-meeting-2026-11/\d+-\d\.(pdf|docx|doc)", a.path) for a in stored
    )
    assert len(_stored_files(desk)) == 3
    download = client.get(f"/files/{stored[0].id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81.pdf" in disposition
    assert client.get(f"/files/{stored[2].id}").headers["content-type"] == "application/msword"
    page = client.get(f"/tasks/{task_id}").text
    assert f'href="/files/{stored[0].id}">会议纪要.pdf' in page


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("纪要.pdf", HTML),
        ("纪要.pdf", SVG),
        ("photo.png", b"GIF89a" + b"\x00" * 32),  # a type outside the list
        ("记录.docx", _docx(("ppt/slide1.xml",))),  # a zip that is not a Word document
        ("旧表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600),  # OLE2 of no known application
    ],
)
def test_an_upload_whose_content_is_not_an_allowed_type_is_refused(
    desk: DeskFixture, name: str, content: bytes
) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    response = _record(
        desk.signed_in("b1m1"),
        task_id,
        {"on": "2026-11-20", **COMMITTEE},
        [("minutes", (name, content, "application/pdf"))],
    )
    assert response.status_code == 422
    assert "不是允许的类型" in _field_problem(response.text, "minutes")
    assert _completions(desk) == [] and _stored_files(desk) == []
    # With a refused file, the ledger's checks still run: every problem is shown at once.
    response = _record(
        desk.signed_in("b1m1"),
        task_id,
        {"on": "2026-11-25"},
        [("minutes", (name, content, "application/pdf"))],
    )
    assert "不是允许的类型" in _field_problem(response.text, "minutes")
    assert "在未来" in _field_problem(response.text, "on")
    assert _completions(desk) == [] and _stored_files(desk) == []


def _small_desk(desk: DeskFixture, tmp_path: Path) -> TestClient:
    config = desk_config(tmp_path, upload_max_mb=1)
    app = create_app(config, desk.engine, PROFILES, clock=desk.clock)
    client = TestClient(app, base_url=BASE_URL, headers={"origin": BASE_URL})
    response = client.post(
        "/login",
        data={"member": "b1m1", "password": "pass1234", "csrf_token": login_token(client), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def test_an_oversized_upload_is_refused_in_chinese_and_nothing_is_saved(
    desk: DeskFixture, tmp_path: Path
) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = _small_desk(desk, tmp_path)
    big = PDF + b"0" * (1024 * 1024)
    response = _record(
        client, task_id, {"on": "2026-11-20", **COMMITTEE}, [("minutes", ("大.pdf", big, "application/pdf"))]
    )
    assert response.status_code == 422
    assert "超过 1 MB 的上限，未保存" in _field_problem(response.text, "minutes")
    assert _completions(desk) == [] and not list((tmp_path / "attachments").rglob("*.pdf"))
    # A body larger than any form of ours is refused as it arrives.
    huge = [("minutes", (f"{i}.pdf", big, "application/pdf")) for i in range(11)]
    response = _record(client, task_id, {"on": "2026-11-20", **COMMITTEE}, huge)
    assert response.status_code == 413
    assert "上传的内容过大：每个文件不超过 1 MB，本次提交未保存任何内容" in response.text
    assert _completions(desk) == []
    assert "upload too large" in [event.detail for event in audit_events(desk, "refused")]


def test_two_people_submitting_the_same_record_at_once_get_one_record(desk: DeskFixture) -> None:
    """Both submissions pass their duplicate check before either inserts (a gate holds the write lock or the
    completion table); the database's unique index on active fingerprints lets one in, the other is told."""
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    clients = [desk.signed_in("b1m1"), desk.signed_in("b1m2")]
    tokens = [csrf_of(client.get("/").text) for client in clients]
    responses: list[Response] = []

    def submit(index: int) -> None:
        responses.append(
            _record(clients[index], task_id, {"on": "2026-11-20", **COMMITTEE}, token=tokens[index])
        )

    dialect = desk.engine.dialect.name
    with desk.engine.connect() as gate:
        if dialect == "sqlite":
            gate.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            gate.execute(text("LOCK TABLE completion IN EXCLUSIVE MODE"))
        threads = [threading.Thread(target=submit, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        if dialect == "postgresql":
            query = text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'completion'::regclass"
            )
            while gate.execute(query).scalar_one() < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert gate.execute(query).scalar_one() == 2
        else:
            time.sleep(5)  # both past their check, waiting on the write lock (busy timeout 30 s)
        gate.rollback()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(response.status_code for response in responses) == [303, 303]
    locations = sorted(response.headers["location"].split("?")[1].split("=")[0] for response in responses)
    assert locations == ["duplicate", "saved"]
    assert len(_completions(desk)) == 1


def test_a_body_without_a_declared_length_is_cut_off_at_the_limit(desk: DeskFixture, tmp_path: Path) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = _small_desk(desk, tmp_path)
    token = csrf_of(client.get("/").text)
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        head = f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        yield head.encode()
        yield b'--x\r\nContent-Disposition: form-data; name="minutes"; filename="a.pdf"\r\n\r\n'
        for _ in range(64):  # 64 MB, far beyond (1 MB × 10 files + 1 MB)
            sent += 1
            yield b"0" * (1024 * 1024)
        yield b"\r\n--x--\r\n"

    response = client.post(
        f"/tasks/{task_id}/record",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413 and "本次提交未保存任何内容" in response.text
    assert _completions(desk) == []


def test_a_done_task_shows_its_record_and_no_second_form(desk: DeskFixture) -> None:
    """Once the month's 支委会 is recorded, its page shows the record with 撤销 and no empty form inviting a
    second record of a duty already met."""
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m1")
    assert f'action="/tasks/{task_id}/record"' in client.get(f"/tasks/{task_id}").text
    assert _record(client, task_id, {"on": "2026-11-20", **COMMITTEE}).status_code == 303
    page = client.get(f"/tasks/{task_id}").text
    assert "撤销" in page and f'action="/tasks/{task_id}/record"' not in page


def test_the_record_form_takes_a_date_or_the_beijing_date_of_a_date_time(desk: DeskFixture) -> None:
    task_id = _task_id(desk, "jg.b1", "committee-meeting", "2026-11")
    client = desk.signed_in("b1m1")
    week_date = _record(client, task_id, {"on": "2026-W47-5", **COMMITTEE})  # dt.date.fromisoformat takes it
    assert week_date.status_code == 422
    assert "无法识别的日期 &#39;2026-W47-5&#39;" in _field_problem(week_date.text, "on")
    assert _record(client, task_id, {"on": "2026-11-19T16:30:00Z", **COMMITTEE}).status_code == 303
    [completion] = _completions(desk)
    assert completion.held_on == dt.date(2026, 11, 20)  # 00:30 on the 20th in Beijing
