"""`obligations score`, `ledger` and `calendar`: checklists, the 台账 and calendar feeds."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from calendars.checklists import Checklist, load_checklists
from obligations import ical, ledger_export, render, scoring
from obligations.cli.app import App, Day, as_of_date, as_of_option, cli, format_option, now_utc, pass_app
from obligations.errors import UserError
from obligations.queries import organization


def _checklists(app: App) -> dict[str, Checklist]:
    """The shipped checklists, and those in a `checklists` folder of the local profiles directory."""
    return load_checklists(app.profiles, [folder / "checklists" for folder in app.config.profiles.dirs])


@cli.command()
@click.option("--org", "org_code", required=True, help="党支部编码。")
@click.option("--year", type=click.IntRange(2000, 2100), help="考核年度，默认为 --as-of 所在年份。")
@click.option(
    "--checklist",
    "checklist_id",
    help="考核细则编号，如 wujin-2016、suzhou-2020；默认取该组织职责日历对应的细则。",
)
@as_of_option
@format_option("table", "json")
@pass_app
def score(
    app: App,
    org_code: str,
    year: int | None,
    checklist_id: str | None,
    as_of: dt.datetime | None,
    output_format: str,
) -> None:
    """按考核细则评分：能由台账证明的项目（“三会一课”、组织生活会）按本年度已开展的周期计分，列出作为证据的台账记录和缺少的周期；其余项目列为需人工评定，并核查名册能回答的一票否决情形。

    得分 = 分值 × 已开展周期数 ÷ 应开展周期数。是否合格须连同人工评定的分数一起判断：输出写明“可计算部分得分 X/Y；另有 Z 分需人工评定”。

    \b
    示例：
      obligations score --org jg.b2 --year 2026
      obligations score --org jg.b2 --year 2026 --as-of 2026-12-31 --format json
      obligations score --org sz.b1 --checklist suzhou-2020
    """
    day = as_of_date(as_of)
    with app.reading(day) as session:
        org = organization(session, org_code)
        checklist = scoring.choose_checklist(
            _checklists(app), app.profiles[org.effective_profile], checklist_id, f"{org.name}（{org.code}）"
        )
        card = scoring.score(session, app.profiles, checklist, org.code, year or day.year, day)
    if output_format == "json":
        click.echo(json.dumps(scoring.record(card), ensure_ascii=False, indent=2))
    else:
        click.echo(scoring.describe(card))


@cli.command("ledger")
@click.option("--org", "org_code", required=True, help="组织编码（其党小组的记录一并导出）。")
@click.option("--year", type=click.IntRange(2000, 2100), help="年度，默认为 --as-of 所在年份。")
@as_of_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "html", "xlsx", "docx"]),
    default="csv",
    show_default=True,
    help="csv：Excel 可直接打开（UTF-8 带 BOM）；html：可打印的台账页面（A4，带页码和书记签字栏）；"
    "xlsx：Excel 工作簿（职责汇总表，每类活动一张表）；docx：Word 记录本（每次活动一节，带页码和书记签字栏）。",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="写入文件，默认输出到屏幕（xlsx、docx 须写入文件或重定向）。",
)
@pass_app
def ledger_command(
    app: App,
    org_code: str,
    year: int | None,
    as_of: dt.datetime | None,
    output_format: str,
    output: Path | None,
) -> None:
    """导出党组织生活台账：本年度每一次活动的时间、地点、方式、主持人、主讲人、参加人员、缺席人员及原因、主题和内容、学时、附件和计入的职责，按日期排序；已撤销的记录保留并标明“已撤销”及理由。其后是本组织党员（含党小组）的转正讨论结果、民主评议等次和党费交纳月份（未交月份算至 --as-of 的上月）。

    \b
    示例：
      obligations ledger --org jg.b1 --year 2026 --output 第一党支部台账2026.csv
      obligations ledger --org jg.b1 --year 2026 --format html --output 台账.html
      obligations ledger --org jg.b1 --year 2026 --format xlsx --output 台账.xlsx
      obligations ledger --org jg.b1 --year 2026 --format docx --output 台账.docx
    """
    binary = output_format in ("xlsx", "docx")
    if binary and output is None and sys.stdout.isatty():
        raise UserError(
            f"{output_format} 是二进制文件，不能显示在终端上：请用 --output 指定文件，或重定向到文件。"
        )
    day = as_of_date(as_of)
    wanted = year or day.year
    with app.session() as session:
        book = ledger_export.ledger(session, app.profiles, org_code, wanted, day)
    if binary:
        from obligations import ledger_office  # openpyxl and python-docx are loaded only for these formats

        data = ledger_office.to_xlsx(book) if output_format == "xlsx" else ledger_office.to_docx(book)
    elif output_format == "html":
        data = ledger_export.to_html(book).encode("utf-8")
    else:
        data = ledger_export.to_csv(book).encode("utf-8-sig")  # the BOM tells Excel it is UTF-8
    if output is None:
        click.echo(data, nl=False)
        return
    output.write_bytes(data)
    withdrawn = sum(1 for entry in book.entries if entry.undone)
    click.echo(
        render.prose(
            f"已导出{book.org_name}{wanted}年度台账 {len(book.entries)} 条（其中已撤销 {withdrawn} 条）到 {output}。",
            stream=sys.stderr,
        ),
        err=True,
    )


@cli.command("calendar")
@click.option("--org", "org_code", help="该组织及其全部下级组织的任务。")
@click.option("--member", "member_id", help="该党员负责的任务和以其为对象的任务（如学习学时）。")
@click.option(
    "--from",
    "start",
    type=Day(),
    help="起始日期（按期限），默认当月1日；不指定时另含此前到期仍未完成的逾期任务。",
)
@click.option("--to", "end", type=Day(), help="截止日期（按期限），默认明年年底。")
@click.option(
    "--todo", is_flag=True, help="写成待办（VTODO），供任务类应用使用；默认写成期限当天的全天日程。"
)
@as_of_option
@pass_app
def calendar_command(
    app: App,
    org_code: str | None,
    member_id: str | None,
    start: dt.date | None,
    end: dt.date | None,
    todo: bool,
    as_of: dt.datetime | None,
) -> None:
    """导出 iCalendar 日历（RFC 5545）：每项任务是期限当天的一个全天日程（VEVENT），含依据、登记命令和按提醒阶梯设置的提醒，可导入或订阅于手机日历、Outlook、Google 日历、khal 等；加 --todo 则写成待办（VTODO）。逾期未完成的任务标为【逾期】。每项任务的 UID 由规则、对象和周期生成，重复导入不会重复。

    \b
    示例：
      obligations calendar --org jg.b1 > 第一党支部.ics
      obligations calendar --member m001 --from 2026-01-01 --to 2026-12-31 \\
        > 我的职责.ics
      obligations calendar --org jg.b1 --todo > 第一党支部待办.ics
    """
    if org_code is not None and member_id is not None:
        raise UserError("--org 与 --member 只能选一个。")
    day = as_of_date(as_of)
    first = start or day.replace(day=1)
    last = end or dt.date(day.year + 1, 12, 31)
    if last < first:
        raise UserError(f"截止日期 {last} 早于起始日期 {first}。")
    form = ical.Form.of(app.config, todo=todo)
    with app.reading(day) as session:
        calendar = ical.build(
            session,
            app.profiles,
            org=org_code,
            member=member_id,
            start=first,
            end=last,
            today=day,
            stamp=now_utc(),
            form=form,
            with_overdue=start is None,
        )
    horizon = app.horizon(day)
    if last > horizon:
        app.warn(f"注意：任务只计划到 {horizon}，之后的任务不在日历中。")
    click.echo(calendar.to_ical(), nl=False)
