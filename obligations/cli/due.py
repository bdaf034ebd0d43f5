"""`obligations due`: what is due, and what is overdue."""

from __future__ import annotations

import datetime as dt

import click

from calendars.expand import period_label
from obligations import render
from obligations.cli.app import App, as_of_date, as_of_option, cli, format_option, pass_app
from obligations.duelist import DUE_FIELDS, FILING_LABELS, TASK_STATUS_LABELS, DueRow, iter_due_rows
from obligations.errors import not_found
from obligations.render import FreeText


@cli.command()
@click.option("--org", "org_code", help="只看该组织及其全部下级组织。")
@click.option(
    "--within", type=click.IntRange(min=0), default=30, show_default=True, help="包括多少天内到期的任务。"
)
@click.option("--overdue", "overdue_only", is_flag=True, help="只看已逾期的任务。")
@click.option("--all", "include_all", is_flag=True, help="全部任务，不论期限和状态（含已完成、免办）。")
@click.option("--rule", "rule_id", help="只看某条规则的任务，如 term-election。")
@as_of_option
@format_option()
@pass_app
def due(
    app: App,
    org_code: str | None,
    within: int,
    overdue_only: bool,
    include_all: bool,
    rule_id: str | None,
    as_of: dt.datetime | None,
    output_format: str,
) -> None:
    """列出已逾期和即将到期的任务（默认：全部组织，逾期或 30 天内到期，按期限排序）。

    表格中逾期显示为红色，7 天内到期显示为黄色。

    \b
    示例：
      obligations due
      obligations due --org jg.b1 --within 60
      obligations due --overdue --format json
      obligations due --as-of 2026-12-01 --format csv > 待办.csv
    """
    day = as_of_date(as_of)
    with app.reading_tables(day) as reader:
        if rule_id is not None and not any(rule_id in profile.rules for profile in app.profiles.values()):
            known = {rule for profile in app.profiles.values() for rule in profile.rules}
            raise not_found("规则", rule_id, known)
        rows = iter_due_rows(
            reader,
            app.profiles,
            as_of=day,
            org=org_code,
            within=within,
            overdue_only=overdue_only,
            include_all=include_all,
            rule=rule_id,
        )
        if output_format == "json":
            render.stream_json(row.record() for row in rows)
        elif output_format == "csv":
            render.stream_csv(DUE_FIELDS, (row.record() for row in rows))
        else:
            _table(list(rows), day)


def _table(rows: list[DueRow], day: dt.date) -> None:
    if not rows:
        click.echo(f"截至 {day}，没有逾期或即将到期的任务。")
        return
    overdue = sum(1 for row in rows if row.status == "overdue")
    click.echo(f"截至 {day}：共 {len(rows)} 项，其中逾期 {overdue} 项。")
    lines = render.table(
        (
            "状态",
            "期限",
            FreeText("组织"),
            FreeText("职责"),
            FreeText("对象"),
            FreeText("周期"),
            "进度",
            FreeText("责任人"),
            "编号",
        ),
        [
            [
                _when(row),
                row.due.isoformat(),
                row.org_name,
                row.title,
                row.subject_name if row.subject != row.org else "",
                period_label(row.period),
                _progress(row),
                row.assignee or "（空缺）",
                str(row.task_id),
            ]
            for row in rows
        ],
    ).splitlines()
    click.echo("\n".join(lines[:2]))
    for row, line in zip(rows, lines[2:], strict=True):
        click.echo(_colour(row, line))


def _when(row: DueRow) -> str:
    if row.filing is not None:
        return f"{TASK_STATUS_LABELS[row.status]}、{FILING_LABELS[row.filing]}"
    if row.status != "overdue" and row.status != "open":
        return TASK_STATUS_LABELS[row.status]
    if row.days_left < 0:
        return f"逾期 {-row.days_left} 天"
    if row.days_left == 0:
        return "今天到期"
    return f"还剩 {row.days_left} 天"


def _progress(row: DueRow) -> str:
    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else f"{value:g}"

    if row.required_count == 1 and row.unit == "times":
        return "已完成" if row.done_count >= 1 else ""
    return f"{number(row.done_count)}/{number(row.required_count)}"


def _colour(row: DueRow, line: str) -> str:
    if row.status == "overdue":
        return click.style(line, fg="red")
    if row.status == "open" and row.days_left <= 7:
        return click.style(line, fg="yellow")
    return line
