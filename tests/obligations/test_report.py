"""`obligations report` through the command line, on SQLite and PostgreSQL.

The figures are counted by hand from a small scenario recorded through the ledger commands; the HTML page is
parsed, then rendered by a real headless Chromium (screenshot, DOM and PDF).
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import textwrap
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from obligations.report import OVERDUE_FIELDS, ROLLUP_FIELDS, ROW_FIELDS
from tests.chromium import chromium_path, headless, page_width
from tests.obligations.conftest import run

AS_OF = ("--as-of", "2026-12-31")
Workspace = tuple[Path, str]


def _ok(workspace: Workspace, *args: str) -> Result:
    result = run(workspace, *args)
    assert result.exit_code == 0, result.stderr
    return result


def _task_id(workspace: Workspace, org: str, rule: str, period: str) -> str:
    records = json.loads(
        _ok(workspace, "due", *AS_OF, "--all", "--format", "json", "--org", org, "--rule", rule).stdout
    )
    return str(next(r["task_id"] for r in records if r["org"] == org and r["period"] == period))


@pytest.fixture
def scenario(imported: Workspace) -> Workspace:
    """The registry of conftest (jg; jg.b1 with its 党小组 jg.b1.g1; jg.b2 on wujin-2016), planned on
    2026-11-21, so its 2026 tasks start with October's monthly ones. Replayed as of 2026-12-31:

    - jg.b1 holds its 支委会 on 10-20 and 12-20 (on time) and misses November's;
    - jg.b1 holds October's 主题党日 and collects October's dues (on time); November's 主题党日 is exempted;
    - jg.b1's vacant deputy secretary seat (vacant since 06-01, due 12-01) is filled on 12-10: done late;
    - nothing else is recorded.
    """
    workspace = imported
    _ok(workspace, "record", "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-10-20",
        "--attendee", "jgb1m1", *AS_OF)  # fmt: skip
    _ok(workspace, "record", "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-12-20",
        "--attendee", "jgb1m1", *AS_OF)  # fmt: skip
    _ok(workspace, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-10-25",
        "--attendees", "8", *AS_OF)  # fmt: skip
    _ok(workspace, "record", "--org", "jg.b1", "--rule", "dues-collection", "--on", "2026-10-28", *AS_OF)
    vacancy = _task_id(workspace, "jg.b1", "vacancy-fill", "vacancy:deputy_secretary:2026-06-01")
    _ok(workspace, "done", vacancy, "--on", "2026-12-10", "--topic", "补选副书记", *AS_OF)
    november = _task_id(workspace, "jg.b1", "theme-party-day", "2026-11")
    _ok(workspace, "waive", november, "--exempt", "--reason", "参加机关党委统一组织的主题党日")
    return workspace


def _report(workspace: Workspace, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_ok(workspace, "report", "--format", "json", *args).stdout)
    return data


def _figures(record: dict[str, Any]) -> tuple[object, ...]:
    return tuple(record[key] for key in ROLLUP_FIELDS[2:])


def _row(report: dict[str, Any], org: str, rule: str | None) -> tuple[object, ...]:
    (row,) = [r for r in report["rows"] if r["org"] == org and r["rule"] == rule]
    return _figures(row)


def _rollup(report: dict[str, Any], org: str) -> tuple[object, ...]:
    (line,) = [r for r in report["rollup"] if r["org"] == org]
    return _figures(line)


# (tasks, done_on_time, done_late, overdue, pending, waived, on_time_rate)


def test_each_duty_of_each_organization_is_counted_as_done_on_time_late_overdue_pending_or_waived(
    scenario: Workspace,
) -> None:
    report = _report(scenario, "--org", "jg", *AS_OF)
    # 支委会 Oct, Nov, Dec: two held, November missed. 2 / (3 − 0 − 0).
    assert _row(report, "jg.b1", "committee-meeting") == (3, 2, 0, 1, 0, 0, 0.6667)
    # 主题党日 Oct held, Nov exempted, Dec due today (not yet due). 1 / (3 − 1 − 1).
    assert _row(report, "jg.b1", "theme-party-day") == (3, 1, 0, 0, 1, 1, 1.0)
    # The vacancy was filled 9 days after its deadline: done, but late. 0 / 1.
    assert _row(report, "jg.b1", "vacancy-fill") == (1, 0, 1, 0, 0, 0, 0.0)
    # 党费收缴 Oct collected, Nov not, Dec not yet due. 1 / 2.
    assert _row(report, "jg.b1", "dues-collection") == (3, 1, 0, 1, 1, 0, 0.5)
    # jg.b2 recorded nothing: Oct and Nov overdue, Dec not yet due.
    assert _row(report, "jg.b2", "theme-party-day") == (3, 0, 0, 2, 1, 0, 0.0)
    # Nothing of 民主生活会 has come due yet: no rate at all rather than 0%.
    assert _row(report, "jg", "democratic-life-meeting") == (1, 0, 0, 0, 1, 0, None)
    titles = {(r["org"], r["rule"]): r["title"] for r in report["rows"]}
    assert titles["jg.b1", "committee-meeting"] == "支部委员会会议（支委会）"
    assert titles["jg.b1", None] == "合计"


def test_the_rollup_sums_a_committee_and_every_organization_below_it(scenario: Workspace) -> None:
    report = _report(scenario, "--org", "jg", *AS_OF)
    # Only organizations with children in scope get a roll-up line.
    assert [line["org"] for line in report["rollup"]] == ["jg", "jg.b1"]
    # The 2026 plan (planned on 2026-11-21 from each rule's previous period):
    # (The national baseline holds no political birthday, quarterly 党课, lesson plan or dues-base review:
    # those are city rules, issue 10 §5; jg.b2's Wujin calendar has the last three.)
    #   jg        3: 民主生活会, 书记讲党课, study hours 12-31
    #   jg.b1    24: Q3 大会 09-30; Oct and Nov 支委会, 主题党日, 党费 (6); 换届 11-20; vacancy 12-01;
    #                14 more due 12-31 (Dec 支委会 among them)
    #   jg.b1.g1  5: 党小组会 Oct, Nov, Dec; 2 study hours 12-31
    #   jg.b2    29: wujin-2016 duties, none recorded
    # On time: 支委会 Oct and Dec, 主题党日 Oct, 党费 Oct = 4. Late: the vacancy = 1. Waived: 1.
    # Pending (due 12-31, open): jg 3 + jg.b1 14 + jg.b1.g1 3 + jg.b2 17 = 37.
    # Overdue: everything else = 61 − 4 − 1 − 1 − 37 = 18. Rate 4 / (61 − 1 − 37) = 4 / 23.
    assert _rollup(report, "jg") == (61, 4, 1, 18, 37, 1, 0.1739)
    # jg.b1 with its 党小组: 24 + 5 tasks; overdue 4 + 2; pending 14 + 3. Rate 4 / (29 − 1 − 17).
    assert _rollup(report, "jg.b1") == (29, 4, 1, 6, 17, 1, 0.3636)
    everything = json.loads(_ok(scenario, "due", "--all", "--format", "json", *AS_OF).stdout)
    assert sum(1 for r in everything if r["due"].startswith("2026")) == 61


def test_a_range_counts_only_the_tasks_due_inside_it(scenario: Workspace) -> None:
    report = _report(scenario, "--org", "jg", "--from", "2026-10-01", "--to", "2026-11-30", *AS_OF)
    assert (report["from"], report["to"]) == ("2026-10-01", "2026-11-30")
    # October: jg.b1 支委会, 主题党日, 党费 on time; jg.b1.g1 党小组会, jg.b2 党费, 主题党日, 群众服务 overdue.
    # November: jg.b1 主题党日 waived; jg.b1 支委会, 党费, 换届; jg.b1.g1 党小组会; jg.b2 three: overdue.
    assert _rollup(report, "jg") == (15, 3, 0, 11, 0, 1, 0.2143)
    assert not [r for r in report["rows"] if r["rule"] == "vacancy-fill"]  # due 12-01: outside the range


def test_a_task_due_on_the_as_of_day_is_pending_and_overdue_the_day_after(scenario: Workspace) -> None:
    on_the_day = _report(scenario, "--org", "jg.b1", "--year", "2026", "--as-of", "2026-12-31")
    day_after = _report(scenario, "--org", "jg.b1", "--year", "2026", "--as-of", "2027-01-01")
    assert _row(on_the_day, "jg.b1", "theme-party-day") == (3, 1, 0, 0, 1, 1, 1.0)
    assert _row(day_after, "jg.b1", "theme-party-day") == (3, 1, 0, 1, 0, 1, 0.5)
    # December's 支委会 was held on 12-20, so it stays on time.
    assert _row(day_after, "jg.b1", "committee-meeting") == (3, 2, 0, 1, 0, 0, 0.6667)


def test_the_year_defaults_to_the_year_of_as_of(scenario: Workspace) -> None:
    report = _report(scenario, "--org", "jg.b2", "--as-of", "2026-12-31")
    assert (report["as_of"], report["from"], report["to"], report["org"]) == (
        "2026-12-31", "2026-01-01", "2026-12-31", "jg.b2",
    )  # fmt: skip
    later = _report(scenario, "--org", "jg.b2", "--year", "2027", "--as-of", "2026-12-31")
    assert (later["from"], later["to"]) == ("2027-01-01", "2027-12-31")
    assert {row["pending"] == row["tasks"] for row in later["rows"]} == {True}


def test_the_table_has_chinese_headers_and_rates_as_percentages(scenario: Workspace) -> None:
    out = _ok(scenario, "report", "--org", "jg", *AS_OF).stdout
    assert out.startswith("机关党委（jg） 2026年度职责完成情况（截至 2026-12-31）")
    header = next(line for line in out.splitlines() if line.startswith("组织") and "职责" in line)
    assert header.split() == [
        "组织",
        "职责",
        "任务数",
        "按时完成",
        "逾期完成",
        "已逾期",
        "未到期",
        "免办",
        "按时率",
    ]
    line = next(line for line in out.splitlines() if "支部委员会会议" in line)
    assert line.split()[2:] == ["3", "2", "0", "1", "0", "0", "66.7%"]
    assert "汇总（含全部下级组织）" in out and "已逾期未完成 18 项" in out
    democratic = next(line for line in out.splitlines() if "民主生活会" in line)
    assert democratic.split()[-1] == "—"


def test_json_has_exactly_the_documented_keys(scenario: Workspace) -> None:
    report = _report(scenario, *AS_OF)
    assert list(report) == [
        "as_of",
        "from",
        "to",
        "org",
        "rows",
        "rollup",
        "overdue",
        "advisories",
        "tracked",
    ]
    assert report["org"] is None
    assert {tuple(row) for row in report["rows"]} == {ROW_FIELDS}
    assert {tuple(line) for line in report["rollup"]} == {ROLLUP_FIELDS}
    assert {tuple(task) for task in report["overdue"]} == {OVERDUE_FIELDS}
    election = next(task for task in report["overdue"] if task["rule"] == "term-election")
    assert {key: election[key] for key in ("org", "title", "due", "days_overdue", "assignee")} == {
        "org": "jg.b1",
        "title": "按期换届",
        "due": "2026-11-20",
        "days_overdue": 41,
        "assignee": "党员jgb1m1",
    }
    assert [task["due"] for task in report["overdue"]] == sorted(task["due"] for task in report["overdue"])


def test_csv_has_the_rows_of_the_json(scenario: Workspace) -> None:
    out = _ok(scenario, "report", "--org", "jg", "--format", "csv", *AS_OF).stdout
    records = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == ",".join(ROW_FIELDS)
    assert len(records) == len(_report(scenario, "--org", "jg", *AS_OF)["rows"])
    committee = next(r for r in records if (r["org"], r["rule"]) == ("jg.b1", "committee-meeting"))
    assert [committee[key] for key in ROW_FIELDS[4:]] == ["3", "2", "0", "1", "0", "0", "0.6667"]
    total = next(r for r in records if r["org"] == "jg.b1.g1" and r["rule"] == "")
    assert (total["title"], total["tasks"], total["on_time_rate"]) == ("合计", "5", "0.0")


def test_an_unknown_organization_is_refused_with_suggestions(imported: Workspace) -> None:
    result = run(imported, "report", "--org", "jg.b3", *AS_OF)
    assert result.exit_code == 8
    assert "没有组织 'jg.b3'" in result.stderr and "jg.b1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-01-01"), "给出了 --from 却没有 --to"),
        (("--to", "2026-06-30"), "给出了 --to 却没有 --from"),
        (
            ("--year", "2026", "--from", "2026-01-01", "--to", "2026-06-30"),
            "--year 与 --from/--to 只能选一种",
        ),
        (("--from", "2026-07-01", "--to", "2026-06-30"), "起始日 2026-07-01 晚于截止日 2026-06-30"),
    ],
)
def test_incomplete_or_contradictory_ranges_are_refused(
    imported: Workspace, args: tuple[str, ...], message: str
) -> None:
    result = run(imported, "report", *args, *AS_OF)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [("--year", "9999"), ("--year", "1900"), ("--from", "9999-01-01", "--to", "9999-12-31")],
)
def test_a_year_outside_the_as_of_range_is_refused_in_chinese(
    imported: Workspace, args: tuple[str, ...]
) -> None:
    result = run(imported, "report", *args, *AS_OF)
    assert result.exit_code == 1
    assert "超出范围：年份应在 1921–2200 之间" in result.stderr
    assert result.stdout == ""


def test_an_output_file_that_cannot_be_written_is_refused_in_chinese(
    imported: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "没有这个目录" / "report.html"
    result = run(imported, "report", "--format", "html", "--output", str(target), *AS_OF)
    assert result.exit_code == 1
    assert f"无法写入 {target}" in result.stderr and "Traceback" not in result.stderr


def test_a_range_without_tasks_says_so(imported: Workspace) -> None:
    out = _ok(imported, "report", "--org", "jg.b2", "--year", "2031", *AS_OF).stdout
    assert "统计期内没有到期的任务" in out
    assert _report(imported, "--org", "jg.b2", "--year", "2031", *AS_OF)["rows"] == []


class _Page(HTMLParser):
    """What the tests look at in a page: every tag, the heat-map cells, the overdue rows and the text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.heat: dict[tuple[str, str], set[str]] = {}
        self.heat_rows: list[str] = []
        self.overdue: list[list[str]] = []
        self.text: list[str] = []
        self._org: str | None = None
        self._overdue_row: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append((tag, values))
        classes = set((values.get("class") or "").split())
        if tag == "tr" and "heat-row" in classes:
            self._org = values["data-org"]
            assert self._org is not None
            self.heat_rows.append(self._org)
        if tag == "td" and "cell" in classes and self._org and values.get("data-month"):
            self.heat[self._org, str(values["data-month"])] = classes - {"cell"}
        if tag == "tr" and values.get("data-task"):
            self._overdue_row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._org = None
            if self._overdue_row is not None:
                self.overdue.append(self._overdue_row)
                self._overdue_row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._overdue_row is not None and data.strip():
            self._overdue_row.append(data.strip())


def _html(workspace: Workspace, target: Path, *args: str) -> str:
    result = _ok(workspace, "report", "--org", "jg", "--format", "html", "--output", str(target), *args)
    assert f"已生成报表：{target}" in result.stdout
    return target.read_text(encoding="utf-8")


def test_the_html_page_is_self_contained_with_a_heat_map_a_chart_and_the_overdue_list(
    scenario: Workspace, tmp_path: Path
) -> None:
    html = _html(scenario, tmp_path / "报告.html", *AS_OF)
    page = _Page(html)
    # Nothing to fetch: no scripts, stylesheets, images or frames, no links out, no CSS imports or urls.
    fetching = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source", "use"}
    assert not [tag for tag, _ in page.tags if tag in fetching]
    for _, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "srcset", "action", "data", "poster"):
            assert attrs.get(name) is None, (name, attrs)
    assert "://" not in html and "url(" not in html and "@import" not in html
    assert sum(1 for tag, _ in page.tags if tag == "svg") >= 2  # the composition bar and the rate chart
    assert "<title>机关党委 2026年度职责完成情况报告</title>" in html

    assert page.heat_rows == ["jg", "jg.b1", "jg.b1.g1", "jg.b2"]
    assert len([key for key in page.heat if key[0] == "jg.b1"]) == 12
    assert page.heat["jg.b1", "2026-10"] == {"done"}  # 支委会, 主题党日 and 党费 all on time
    assert page.heat["jg.b1", "2026-11"] == {"missed"}  # 支委会, 党费 and 换届 overdue
    assert page.heat["jg.b1", "2026-12"] == {"late"}  # the vacancy filled late, the rest not yet due
    assert page.heat["jg.b2", "2026-12"] == {"pending"}
    assert page.heat["jg.b1", "2026-02"] == {"empty"}
    text = "".join(page.text)
    for label in ("全部按时完成", "有逾期完成", "有逾期未完成", "尚未到期", "当月无任务"):
        assert label in text  # the legend

    assert len(page.overdue) == 18
    election = _task_id(scenario, "jg.b1", "term-election", "2023-11-20/P3Y")
    assert ["第一党支部", "按期换届", "2026年11月20日", "41 天", "党员jgb1m1", election] in page.overdue
    assert "各项职责按时率" in text and "支部委员会会议（支委会）" in text and "66.7%" in text


def test_names_from_the_registry_are_escaped_in_the_html_page(imported: Workspace, tmp_path: Path) -> None:
    registry = tmp_path / "extra.toml"
    registry.write_text(
        textwrap.dedent(
            """
            [[org]]
            code = "jg.b3"
            name = "<script>alert('第三')</script>&党支部"
            kind = "branch"
            parent = "jg"
            elected_on = 2025-01-10
            """
        ),
        encoding="utf-8",
    )
    _ok(imported, "import", str(registry), *AS_OF)
    html = _html(imported, tmp_path / "report.html", *AS_OF)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;第三&#39;)&lt;/script&gt;&amp;党支部" in html
    assert "jg.b3" in _Page(html).heat_rows


def _chromium() -> str:
    return chromium_path("render the HTML report")


def _png_pixels(data: bytes, wanted: set[bytes]) -> tuple[int, int, set[bytes]]:
    """Decode an 8-bit RGB(A) PNG row by row (stdlib only) until every colour in `wanted` has been seen.

    Returns the size and the colours seen. Rows are unfiltered as the PNG specification says; filter 2 (Up),
    the commonest in screenshots, adds two rows bytewise at once with integer arithmetic.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    chunks: list[bytes] = []
    position = 8
    header = b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IHDR":
            header = data[position + 8 : position + 8 + length]
        elif kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unexpected PNG format"
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(chunks))
    high = int.from_bytes(b"\x80" * stride, "big")
    low = int.from_bytes(b"\x7f" * stride, "big")
    previous = bytes(stride)
    seen: set[bytes] = set()
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            a, b = int.from_bytes(line, "big"), int.from_bytes(previous, "big")
            line = bytearray((((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big"))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up, corner = previous[i], (previous[i - bpp] if i >= bpp else 0)
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = bytes(line)
        seen.update(previous[x : x + 3] for x in range(0, stride, bpp * 7))  # a sample of each row
        seen.update(colour for colour in wanted - seen if _has_pixel(previous, colour, bpp))
        if wanted <= seen:
            break
    return width, height, seen


def _has_pixel(row: bytes, colour: bytes, bpp: int) -> bool:
    index = row.find(colour)
    while index != -1:
        if index % bpp == 0:
            return True
        index = row.find(colour, index + 1)
    return False


# Rendering does not depend on the database: one backend is enough for the browser.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_chromium_renders_the_page_as_a_screenshot_a_dom_and_a_pdf(
    scenario: Workspace, tmp_path: Path
) -> None:
    chromium = _chromium()
    page = tmp_path / "机关党委2026年度报告.html"
    html = _html(scenario, page, *AS_OF)
    profile = tmp_path / "chromium-profile"
    url = page.resolve().as_uri()

    screenshot = tmp_path / "report.png"
    shot = headless(chromium, profile, f"--screenshot={screenshot}", "--window-size=1400,2000", url)
    assert screenshot.is_file(), shot.stderr[-2000:]
    data = screenshot.read_bytes()
    assert len(data) > 20_000
    # The heat map's four cell colours (as the page's CSS declares them) are really on the screen.
    declared = dict(re.findall(r"--(done|late|missed|pending)-bg: #([0-9a-f]{6})", html))
    assert set(declared) == {"done", "late", "missed", "pending"}
    wanted = {bytes.fromhex(value) for value in declared.values()}
    width, height, seen = _png_pixels(data, wanted)
    assert (width, height) == (1400, 2000)
    assert wanted <= seen, f"heat-map colours missing from the screenshot: {wanted - seen}"
    assert len(seen) > 10, "the screenshot is (nearly) a single colour"

    dom = headless(chromium, profile, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = _Page(dom.stdout)
    assert rendered.heat_rows == ["jg", "jg.b1", "jg.b1.g1", "jg.b2"]
    assert rendered.heat["jg.b1", "2026-11"] == {"missed"}
    assert len(rendered.overdue) == 18

    pdf = tmp_path / "report.pdf"
    printed = headless(chromium, profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url)
    assert pdf.is_file(), printed.stderr[-2000:]
    document = pdf.read_bytes()
    assert document.startswith(b"%PDF-") and len(document) > 20_000
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", document))
    assert pages >= 4, f"expected a page per section, got {pages} pages"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("window", [390, 1280])
def test_the_page_fits_a_phone_and_a_desktop_without_scrolling_sideways(
    scenario: Workspace, tmp_path: Path, window: int
) -> None:
    """Wide tables scroll inside their section; the page itself never does (a 390 px phone in 企业微信)."""
    html = _html(scenario, tmp_path / "report.html", *AS_OF)
    width, viewport = page_width(_chromium(), html, tmp_path, window)
    assert width <= viewport, f"the page is {page_width} px wide in a {viewport} px window"
