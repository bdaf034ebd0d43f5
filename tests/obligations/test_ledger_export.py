"""`obligations ledger`: the 党组织生活台账 as CSV for Excel and as a printable HTML page."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.chromium import chromium_path, headless
from tests.obligations.conftest import run

AS_OF = ("--as-of", "2026-11-21")
HEADERS = [
    "编号", "日期", "组织", "活动类型", "计入职责", "地点", "方式", "主持人", "主讲人", "参加人数", "参加人员",
    "缺席人员及原因", "主题和内容", "学时", "附件", "备注", "状态", "撤销原因",
]  # fmt: skip
TOPIC = "学习<条例> & “两个确立”"


def _blocks(data: bytes) -> list[list[list[str]]]:
    """The CSV's tables: the activities, then each member table after a blank row (its title row first)."""
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks


def _activities(data: bytes) -> list[dict[str, str]]:
    header, *rows = _blocks(data)[0]
    return [dict(zip(header, row, strict=True)) for row in rows]


def _record(workspace: tuple[Path, str], *args: str) -> int:
    result = run(workspace, "record", *args, *AS_OF)
    assert result.exit_code == 0, result.stderr
    found = re.search(r"已登记台账记录 (\d+)", result.stdout)
    assert found is not None, result.stdout
    return int(found.group(1))


@pytest.fixture
def book(imported: tuple[Path, str], tmp_path: Path) -> dict[str, int]:
    """A year of jg.b1's activities (and one of its 党小组's), with one withdrawn, and records of other years
    and organizations that must stay out."""
    minutes = tmp_path / "党员大会记录.txt"
    minutes.write_text("会议记录", encoding="utf-8")
    ids = {}
    # jg.b1 has 9 full members (7 of its own, 2 in its 党小组): 5 attend the general meeting.
    present = [arg for m in ("jgb1m1", "jgb1m2", "jgb1m3", "jgb1m4", "jgb1g1m1") for arg in ("--attendee", m)]
    ids["general"] = _record(
        imported, "--org", "jg.b1", "--rule", "general-meeting", "--on", "2026-03-15", *present,
        "--absent", "jgb1m5:出差", "--place", "三楼会议室", "--form", "集中学习", "--host", "党员jgb1m1",
        "--topic", TOPIC, "--minutes", str(minutes), "--note", "会前征求意见",
    )  # fmt: skip
    ids["group"] = _record(
        imported, "--org", "jg.b1.g1", "--rule", "group-meeting", "--on", "2026-02-10",
        "--attendee", "jgb1g1m1", "--attendee", "jgb1g1m2", "--topic", "学习党章",
    )  # fmt: skip
    ids["combined"] = _record(
        imported, "--org", "jg.b1", "--rule", "theme-party-day", "--rule", "organizational-life-meeting", "--on", "2026-04-18",
        "--attendee", "jgb1m1", "--attendee", "jgb1m3", "--hours", "4", "--topic", "参观革命纪念馆",
    )  # fmt: skip
    ids["withdrawn"] = _record(
        imported, "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-05-20",
        "--attendees", "3", "--topic", "研究发展党员",
    )  # fmt: skip
    assert run(imported, "undo", str(ids["withdrawn"]), "--reason", "日期登记错误").exit_code == 0
    _record(imported, "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2025-12-10", "--attendees", "6")
    _record(imported, "--org", "jg.b2", "--rule", "theme-party-day", "--on", "2026-03-01", "--attendees", "4")
    return ids


def test_csv_has_chinese_headers_a_bom_and_every_record_in_date_order(
    imported: tuple[Path, str], book: dict[str, int]
) -> None:
    result = run(imported, "ledger", "--org", "jg.b1", "--year", "2026")
    assert result.exit_code == 0, result.stderr
    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    rows = _activities(data)
    assert list(rows[0]) == HEADERS
    assert [(row["编号"], row["日期"]) for row in rows] == [
        (str(book["group"]), "2026-02-10"),
        (str(book["general"]), "2026-03-15"),
        (str(book["combined"]), "2026-04-18"),
        (str(book["withdrawn"]), "2026-05-20"),
    ]
    group, general, combined, withdrawn = rows
    assert (group["组织"], group["活动类型"], group["计入职责"]) == (
        "第一党小组",
        "党小组会",
        "党小组会（2026年2月）",
    )
    assert general == {
        "编号": str(book["general"]),
        "日期": "2026-03-15",
        "组织": "第一党支部",
        "活动类型": "党员大会",
        "计入职责": "支部党员大会（2026年第一季度）",
        "地点": "三楼会议室",
        "方式": "集中学习",
        "主持人": "党员jgb1m1",
        "主讲人": "",
        "参加人数": "5",
        "参加人员": "党员jgb1g1m1、党员jgb1m1、党员jgb1m2、党员jgb1m3、党员jgb1m4",
        "缺席人员及原因": "党员jgb1m5（出差）",
        "主题和内容": TOPIC,
        "学时": "",
        "附件": f"jg.b1/general-meeting-2026-Q1/{book['general']}-1.txt",
        "备注": "会前征求意见",
        "状态": "有效",
        "撤销原因": "",
    }
    assert combined["活动类型"] == "主题党日、组织生活会"
    assert combined["计入职责"] == (
        "主题党日（2026年4月）；组织生活会（2026年）；党员集中学习培训学时（计入2名党员，各4学时）"
    )
    assert (combined["学时"], combined["参加人数"]) == ("4", "2")
    assert (withdrawn["状态"], withdrawn["撤销原因"], withdrawn["参加人数"]) == (
        "已撤销",
        "日期登记错误",
        "3",
    )
    assert withdrawn["活动类型"] == "支委会"


def test_csv_of_another_year_holds_only_that_year(imported: tuple[Path, str], book: dict[str, int]) -> None:
    result = run(imported, "ledger", "--org", "jg.b1", "--year", "2025", "--format", "csv")
    rows = _activities(result.stdout_bytes)
    assert [row["日期"] for row in rows] == ["2025-12-10"]
    assert book["general"] not in [int(row["编号"]) for row in rows]


def test_html_is_one_escaped_self_contained_printable_page(
    imported: tuple[Path, str], book: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "台账.html"
    result = run(
        imported, "ledger", "--org", "jg.b1", "--year", "2026", "--format", "html", "--output", str(target),
        *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"4 条（其中已撤销 1 条）到 {target}" in result.stderr
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<title>第一党支部2026年度党组织生活台账</title>" in page
    # Escaped: the topic's markup is text, not tags.
    assert "学习&lt;条例&gt; &amp; “两个确立”" in page and "<条例>" not in page
    # Self-contained: nothing is fetched from elsewhere, nothing runs.
    for outside in ("http://", "https://", "<script", "<link", "src=", "@import"):
        assert outside not in page
    assert "@page" in page and "landscape" in page
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == [
        "党员大会", "支委会", "党小组会", "党课", "主题党日", "组织生活会", "其他",
        "转正讨论（2026年）", "民主评议党员（2026年）", "党费交纳（2026年，截至 2026-11-21）",
    ]  # fmt: skip
    sections = dict(zip(headings, re.split(r"<h2>.*?</h2>", page)[1:], strict=True))
    assert "参观革命纪念馆" in sections["组织生活会"] and "参观革命纪念馆" in sections["主题党日"]
    assert "本年度无记录" in sections["党课"] and "本年度无记录" in sections["其他"]
    assert "党员jgb1m5（出差）" in sections["党员大会"]
    # The withdrawn record stays, struck through, with its reason legible.
    assert '<tr class="undone">' in sections["支委会"] and "已撤销：日期登记错误" in sections["支委会"]
    assert "tr.undone td { color: #666; text-decoration: line-through; }" in page
    assert "共 4 条记录，其中已撤销 1 条" in page


def test_an_unknown_organization_is_one_chinese_error(imported: tuple[Path, str]) -> None:
    result = run(imported, "ledger", "--org", "jg.b9", "--year", "2026")
    assert result.exit_code == 8 and "没有组织 'jg.b9'" in result.stderr and "Traceback" not in result.stderr


# Cells whose text runs over their border, counted by the browser: a script added to a copy of the page writes
# the count and the page's width into the title, which --dump-dom prints.
_MEASURE = (
    "<script>var over = Array.from(document.querySelectorAll('td'))"
    ".filter(function (cell) { return cell.scrollWidth > cell.clientWidth + 1; });"
    "document.title = 'over=' + over.length + ' width=' + document.documentElement.scrollWidth + '/'"
    " + window.innerWidth + ' first=' + (over.length ? over[0].textContent.slice(0, 40) : '');"
    "</script></body>"
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("window", [390, 1280])
def test_html_reads_on_a_phone_and_a_desktop_without_text_running_over_its_cell(
    imported: tuple[Path, str],
    book: dict[str, int],
    members_book: dict[str, int],
    tmp_path: Path,
    window: int,
) -> None:
    """On a phone the sheets scroll sideways inside the page; no date or name spills into the next column
    (the member tables of 转正, 民主评议 and 党费 included)."""
    chromium = chromium_path("render the 台账 sheets")
    target = tmp_path / "ledger.html"
    run(imported, "ledger", "--org", "jg.b1", "--year", "2026", "--format", "html", "--output", str(target))
    probe = tmp_path / "probe.html"
    probe.write_text(target.read_text(encoding="utf-8").replace("</body>", _MEASURE), encoding="utf-8")
    dom = headless(
        chromium, tmp_path / "profile", f"--window-size={window},900", "--dump-dom", probe.as_uri()
    )
    found = re.search(r"<title>over=(\d+) width=(\d+)/(\d+) first=([^<]*)</title>", dom.stdout)
    assert found, dom.stderr[-2000:]
    assert int(found[1]) == 0, f"{found[1]} cells overflow at {window} px, the first: {found[4]!r}"
    assert int(found[2]) <= int(found[3]), "the page itself scrolls sideways"


PROBATIONERS = """
[[member]]
id = "jgb1g1p1"
name = "预备<i>甲</i>"
org = "jg.b1.g1"
status = "probationary"
joined_on = 2025-11-01
probation_start = 2025-11-01

[[member]]
id = "jgb1p2"
name = "=预备乙"
org = "jg.b1"
status = "probationary"
joined_on = 2025-11-15
probation_start = 2025-11-15
"""
BRANCH_QUORUM = [
    arg for m in ("jgb1m1", "jgb1m2", "jgb1m3", "jgb1m4", "jgb1g1m1") for arg in ("--attendee", m)
]


@pytest.fixture
def members_book(imported: tuple[Path, str], tmp_path: Path) -> dict[str, int]:
    """jg.b1's year of member records: a 书记讲党课 with its lecturer, two 转正 decisions (one of a 党小组
    member, decided by the branch), grades for two members and a year of 党费 for two."""
    extra = tmp_path / "probationers.toml"
    extra.write_text(PROBATIONERS, encoding="utf-8")
    assert run(imported, "import", str(extra), *AS_OF).exit_code == 0
    ids = {}
    ids["lesson"] = _record(
        imported, "--org", "jg.b1", "--rule", "secretary-lesson", "--on", "2026-06-20", "--lecturer", "jgb1m1",
        "--host", "党员jgb1m2", "--attendees", "8", "--topic", "学习党章",
    )  # fmt: skip
    for member, on, outcome in (("jgb1g1p1", "2026-11-02", ("延长", "--until", "2027-06-01")),
                                ("jgb1p2", "2026-11-16", ("转正",))):  # fmt: skip
        result = run(
            imported, "probation", "decide", member, "--on", on, "--outcome", *outcome, *BRANCH_QUORUM, *AS_OF
        )
        assert result.exit_code == 0, result.stderr
        found = re.search(r"台账记录 (\d+)", result.stdout)
        assert found is not None, result.stdout
        ids[member] = int(found.group(1))
    graded = run(
        imported, "appraisal", "record", "--org", "jg.b1", "--year", "2026", "--on", "2026-11-20",
        "--grade", "jgb1m1:优秀", "--grade", "jgb1g1m1:不合格", *AS_OF,
    )  # fmt: skip
    assert graded.exit_code == 0, graded.stderr
    for month in range(1, 11):
        paid = ["--member", "jgb1m1"] + (["--member", "jgb1g1m1"] if month in (1, 2, 3, 5) else [])
        result = run(imported, "dues", "pay", "--org", "jg.b1", "--month", f"2026-{month:02d}", *paid, *AS_OF)
        assert result.exit_code == 0, result.stderr
    return ids


def test_csv_shows_the_lecturer_the_probation_decisions_the_grades_and_the_dues_of_the_year(
    imported: tuple[Path, str], members_book: dict[str, int]
) -> None:
    """Issue 10 §3 in the 台账: 书记讲党课 names its 主讲人 (000 四(一)); the 支部大会's 转正 decisions with their
    meeting (党章 第七条), a 党小组 member's decided by the branch; each member's 民主评议 grade (003 二(二)4);
    who paid 党费 for which month (003 二(四)3), the unpaid ones counted to the as-of's last ended month."""
    result = run(imported, "ledger", "--org", "jg.b1", "--year", "2026", *AS_OF)
    assert result.exit_code == 0, result.stderr
    activities, decisions, grades, dues = _blocks(result.stdout_bytes)
    lesson = next(
        row for row in _activities(result.stdout_bytes) if row["编号"] == str(members_book["lesson"])
    )
    assert (lesson["活动类型"], lesson["主持人"], lesson["主讲人"]) == ("党课", "党员jgb1m2", "党员jgb1m1")
    assert len(activities) == 1 + 3  # the lesson and the two 支部大会

    assert decisions == [
        ["转正讨论（2026年）"],
        ["党员编号", "姓名", "讨论日期", "预备期满", "讨论结果", "台账记录编号"],
        ["jgb1g1p1", "预备<i>甲</i>", "2026-11-02", "2026-11-01", "延长预备期至 2027-06-01",
         str(members_book["jgb1g1p1"])],
        ["jgb1p2", "'=预备乙", "2026-11-16", "2026-11-15", "转正", str(members_book["jgb1p2"])],
    ]  # fmt: skip
    title, header, *graded = grades
    assert (title, header) == (["民主评议党员（2026年）"], ["党员编号", "姓名", "等次", "评定日期"])
    by_member = {row[0]: row for row in graded}
    # Every member of the branch, its 党小组's included; the decided 转正 member too, the extended one still
    # probationary: all of them on the branch's roll.
    assert len(by_member) == 7 + 2 + 2
    assert by_member["jgb1m1"] == ["jgb1m1", "党员jgb1m1", "优秀", "2026-11-20"]
    assert by_member["jgb1g1m1"] == ["jgb1g1m1", "党员jgb1g1m1", "不合格", "2026-11-20"]
    assert by_member["jgb1m2"][2:] == ["未评定", ""]
    title, header, *paid = dues
    assert title == ["党费交纳（2026年，截至 2026-11-21）"]
    assert header == ["党员编号", "姓名", "已交月份", "未交月份", "已交月数", "未交月数"]
    by_member = {row[0]: row for row in paid}
    assert by_member["jgb1m1"][2:] == ["1–10月", "", "10", "0"]
    assert by_member["jgb1g1m1"][2:] == ["1–3、5月", "4、6–10月", "4", "6"]
    assert by_member["jgb1m2"][2:] == ["", "1–10月", "0", "10"]
    assert "jgm1" not in by_member and "jgb2m1" not in by_member  # another organization's members


def test_html_shows_the_member_records_escaped(
    imported: tuple[Path, str], members_book: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "台账.html"
    result = run(
        imported, "ledger", "--org", "jg.b1", "--year", "2026", "--format", "html", "--output", str(target),
        *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    page = target.read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    sections = dict(zip(headings, re.split(r"<h2>.*?</h2>", page)[1:], strict=True))
    assert "主讲人：党员jgb1m1" in sections["党课"]
    decisions = sections["转正讨论（2026年）"]
    assert "预备&lt;i&gt;甲&lt;/i&gt;" in decisions and "<i>" not in page
    assert "延长预备期至 2027-06-01" in decisions and "<td>转正</td>" in decisions
    assert "<td>党员jgb1g1m1</td><td>不合格</td>" in sections["民主评议党员（2026年）"]
    assert "<td>4、6–10月</td>" in sections["党费交纳（2026年，截至 2026-11-21）"]


def test_a_cancelled_probation_stays_in_the_book_with_the_member_who_left(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    """取消预备党员资格 (党章 第七条) takes the member off the roll, not out of the 台账: the decision is listed with
    the member's name, and the member stays in the year's member tables."""
    extra = tmp_path / "probationer.toml"
    extra.write_text(PROBATIONERS.split("[[member]]")[1].join(("[[member]]", "")), encoding="utf-8")
    assert run(imported, "import", str(extra), *AS_OF).exit_code == 0
    decided = run(
        imported, "probation", "decide", "jgb1g1p1", "--on", "2026-11-02", "--outcome", "取消", *BRANCH_QUORUM,
        *AS_OF,
    )  # fmt: skip
    assert decided.exit_code == 0, decided.stderr

    result = run(imported, "ledger", "--org", "jg.b1", "--year", "2026", *AS_OF)

    _, decisions, grades, dues = _blocks(result.stdout_bytes)
    assert decisions[2][:5] == ["jgb1g1p1", "预备<i>甲</i>", "2026-11-02", "2026-11-01", "取消预备党员资格"]
    assert ["jgb1g1p1", "预备<i>甲</i>", "未评定", ""] in grades
    assert "jgb1g1p1" in [row[0] for row in dues]
