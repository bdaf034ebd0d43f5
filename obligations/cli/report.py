"""`obligations report`: compliance reports (table, JSON, CSV, HTML)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from calendars.instants import LATEST_YEAR
from calendars.text import shown
from obligations import render, report_html
from obligations.cli.app import (
    EARLIEST_YEAR,
    App,
    Day,
    as_of_date,
    as_of_option,
    cli,
    format_option,
    pass_app,
)
from obligations.errors import UserError
from obligations.render import FreeText
from obligations.report import (
    ROW_FIELDS,
    Outcome,
    Report,
    Tally,
    build,
    load_scope,
    percent,
    range_label,
    scope_label,
    year_range,
)

COUNT_HEADERS = ("任务数", *(outcome.label for outcome in Outcome), "按时率")


@cli.command()
@click.option("--org", "org_code", help="只统计该组织及其全部下级组织（默认全部组织）。")
@click.option("--year", type=int, help="统计年度，默认为 --as-of 所在年度。")
@click.option("--from", "start", type=Day(), help="统计期限起始日（YYYY-MM-DD），须与 --to 同时使用。")
@click.option("--to", "end", type=Day(), help="统计期限截止日（YYYY-MM-DD），须与 --from 同时使用。")
@as_of_option
@format_option("table", "json", "csv", "html")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="写入文件（默认输出到屏幕）；html 格式通常与此项同用。",
)
@pass_app
def report(
    app: App,
    org_code: str | None,
    year: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    as_of: dt.datetime | None,
    output_format: str,
    output: Path | None,
) -> None:
    """职责完成情况报表：按组织、按职责统计期限在统计期内的任务的按时完成、逾期完成、已逾期、未到期、免办数和按时率。

    按时率 = 按时完成 ÷（任务数 − 免办 − 未到期）。有下级组织的组织另有汇总行（含全部下级组织）。

    选 html 格式时生成一个独立的网页文件（月度热力图、逾期清单、各职责按时率），可直接打印。

    \b
    示例：
      obligations report --year 2026
      obligations report --org jg --from 2026-07-01 --to 2026-12-31 \\
        --format csv > 下半年.csv
      obligations report --org jg --format html --output 机关党委2026年度报告.html
      obligations report --org jg.b1 --as-of 2026-12-31 --format json
    """
    day = as_of_date(as_of)
    first, last = _range(year, start, end, day)
    with app.reading(day) as session:
        scope = load_scope(session, org=org_code, start=first, end=last, profiles=app.profiles)
    result = build(scope, app.profiles, as_of=day, start=first, end=last)
    if output_format == "json":
        text = json.dumps(result.record(), ensure_ascii=False, indent=2) + "\n"
    elif output_format == "csv":
        text = render.as_csv(ROW_FIELDS, [row.record() for row in result.rows])
    elif output_format == "html":
        text = report_html.render(result)
    else:
        text = _table(result)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"无法写入 {output}：{error.strerror or error}。") from error
    click.echo(render.prose(f"已生成报表：{output}"))


def _range(
    year: int | None, start: dt.date | None, end: dt.date | None, as_of: dt.date
) -> tuple[dt.date, dt.date]:
    if year is not None and (start is not None or end is not None):
        raise UserError(
            "--year 与 --from/--to 只能选一种：按年度统计用 --year，按任意期间统计用 --from 和 --to。"
        )
    if (start is None) != (end is None):
        given, missing = ("--from", "--to") if start is not None else ("--to", "--from")
        raise UserError(f"给出了 {given} 却没有 {missing}：按期间统计须同时给出起止日期。")
    if start is not None and end is not None:
        if start > end:
            raise UserError(f"起始日 {start} 晚于截止日 {end}。")
        first, last = start, end
    else:
        first, last = year_range(year if year is not None else as_of.year)
    if first.year < EARLIEST_YEAR or last.year > LATEST_YEAR:  # the report counts months past its end
        raise UserError(f"统计期 {first}–{last} 超出范围：年份应在 {EARLIEST_YEAR}–{LATEST_YEAR} 之间。")
    return first, last


def _counts(counts: Tally) -> list[str]:
    return [
        str(counts.tasks),
        *(str(counts.of(outcome)) for outcome in Outcome),
        percent(counts.on_time_rate),
    ]


def _table(result: Report) -> str:
    heading = (
        f"{scope_label(result)} {range_label(result.start, result.end)}职责完成情况（截至 {result.as_of}）"
    )
    # An organization tracked from within the range owes nothing before: say so beside its figures.
    partial = [
        f"{shown(line.org_name)}（{line.org}）：{line.label()}"
        + ("，统计期内未跟踪" if line.start is None else "")
        for line in result.tracked
        if line.partial
    ]
    coverage = ["", "跟踪范围（此前各期不计）", *partial] if partial else []
    if not result.rows:
        return "\n".join([heading, "统计期内没有到期的任务。", *coverage]) + "\n"
    total = result.total
    out = [
        heading,
        f"共 {total.tasks} 项：按时完成 {total.done_on_time}，逾期完成 {total.done_late}，"
        f"已逾期 {total.overdue}，未到期 {total.pending}，免办 {total.waived}；"
        f"按时率 {percent(total.on_time_rate)}。",
        "",
        render.table(
            (FreeText("组织"), FreeText("职责"), *COUNT_HEADERS),
            [[row.org_name, row.title, *_counts(row.counts)] for row in result.rows],
        ),
    ]
    if result.rollup:
        out += [
            "",
            "汇总（含全部下级组织）",
            render.table(
                (FreeText("组织"), *COUNT_HEADERS),
                [["  " * line.depth + line.org_name, *_counts(line.counts)] for line in result.rollup],
            ),
        ]
    if result.overdue:
        out += [
            "",
            f"已逾期未完成 {len(result.overdue)} 项",
            render.table(
                (
                    FreeText("组织"),
                    FreeText("职责"),
                    FreeText("对象"),
                    "期限",
                    "逾期天数",
                    FreeText("责任人"),
                    "编号",
                ),
                [
                    [
                        task.org_name,
                        task.title,
                        task.subject_name if task.subject != task.org else "",
                        task.due.isoformat(),
                        str(task.days_overdue),
                        task.assignee or "（空缺）",
                        str(task.task_id),
                    ]
                    for task in result.overdue
                ],
            ),
        ]
    if result.advisories:
        out += ["", "组织设置提示（仅为提示）"]
        out += [f"  {advice.org_name}（{advice.org}）：{advice.text}" for advice in result.advisories]
    return "\n".join([*out, *coverage]) + "\n"
