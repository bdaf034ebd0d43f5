"""`obligations probation`, `appraisal` and `dues`: the duties that concern each member (转正, 民主评议, 党费)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from obligations import appraisal, audit, dues, probation, render
from obligations.cli.app import App, Day, as_of_date, as_of_option, cli, cli_actor, now_utc, pass_app, today
from obligations.cli.ledger import _activity, activity_options
from obligations.members import read_table
from obligations.render import FreeText, table


@cli.group("probation")
def probation_group() -> None:
    """预备党员转正讨论（《中国共产党章程》第七条）。

    \b
    示例：
      obligations probation decide m09 --on 2026-09-02 --outcome 转正 \\
        --attendees 12
    """


@probation_group.command("decide")
@click.argument("member_id")
@click.option(
    "--outcome", required=True, help="讨论结果：转正、延长（延长预备期）或 取消（取消预备党员资格）。"
)
@click.option("--until", type=Day(), help="延长预备期后的期满日期（期满后6至12个月）。")
@activity_options
@pass_app
def decide(app: App, /, member_id: str, outcome: str, until: dt.date | None, **values: Any) -> None:
    """登记支部党员大会对预备党员的讨论结果：转正、延长预备期或取消预备党员资格。

    会议记为该党员所在党支部（含党小组所属支部）的支部党员大会，到会正式党员须超过半数；讨论不得早于预备期满前一个月。

    \b
    示例：
      obligations probation decide m09 --on 2026-09-02 --outcome 转正 \\
        --attendee m01 --attendee m02 --attendee m03
      obligations probation decide m09 --on 2026-09-02 --outcome 延长 \\
        --until 2027-03-01 --attendees 12
    """
    activity = _activity(values)
    day = as_of_date(values["as_of"])
    with app.session() as session:
        app.keep_planned(session, today())
        result = probation.decide(
            session,
            app.profiles,
            member_id,
            outcome,
            activity,
            until=until,
            as_of=day,
            now=now_utc(),
            attachments_dir=app.attachments_dir,
            actor=cli_actor(),
        )
        member, decision = result.member, result.decision
        app.keep_planned(session, today())
        message = (
            f"已登记支部党员大会（台账记录 {result.recorded.completion.id}）：{member.name}（{member.id}）"
        )
        if decision.outcome == "full":
            message += f"转为正式党员，转正日期 {member.full_on}。"
        elif decision.outcome == "extended":
            message += f"延长预备期至 {decision.extended_until}，届时再次讨论转正。"
        else:
            message += "被取消预备党员资格，已移出党员名册（历史记录保留）。"
    click.echo(render.prose(message))


@cli.group("appraisal")
def appraisal_group() -> None:
    """民主评议党员：登记每名党员的年度等次（武组发〔2016〕113号 二(二)4）。

    \b
    示例：
      obligations appraisal record --org jg.b1 --year 2026 \\
        --grade m01:优秀 --grade m02:合格
      obligations appraisal show --org jg.b1 --year 2026
    """


def _grade(value: str) -> tuple[str, str]:
    member, separator, grade = value.partition(":")
    if not separator or not member.strip() or not grade.strip():
        raise click.BadParameter(f"应写作 党员编号:等次，例如 m07:合格，而不是 {value!r}")
    return member.strip(), grade.strip()


@appraisal_group.command("record")
@click.option("--org", "org_code", required=True, help="党支部编码。")
@click.option("--year", type=int, required=True, help="评议年度。")
@click.option(
    "--grade", "grades", multiple=True, help="党员编号:等次（优秀、合格、基本合格、不合格），可重复。"
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="从 CSV 读取等次：表头含 党员编号 和 等次。",
)
@click.option("--on", "decided_on", type=Day(), help="评定日期，默认今天。")
@as_of_option
@pass_app
def appraisal_record(
    app: App,
    org_code: str,
    year: int,
    grades: tuple[str, ...],
    csv_path: Path | None,
    decided_on: dt.date | None,
    as_of: dt.datetime | None,
) -> None:
    """登记民主评议党员的结果；连续两年评定不合格的党员提醒支部书记和上级组织委员，报上级审批处理（洛阳 (十三)29）。

    \b
    示例：
      obligations appraisal record --org jg.b1 --year 2026 --on 2026-12-20 \\
        --grade m01:优秀 --grade m02:合格
      obligations appraisal record --org jg.b1 --year 2026 --on 2026-12-20 \\
        --csv 2026年民主评议.csv
    """
    day = as_of_date(as_of)
    pairs = [_grade(item) for item in grades]
    if csv_path is not None:
        table = read_table(csv_path, appraisal.COLUMNS, ("member", "grade"), "党员编号 和 等次")
        pairs.extend((cells["member"], cells["grade"]) for _, cells in table)
    with app.session() as session:
        app.keep_planned(session, today())
        result = appraisal.record(
            session,
            org_code,
            year,
            pairs,
            decided_on=decided_on or day,
            as_of=day,
            now=now_utc(),
        )
        detail = f"新增 {result.recorded}，更正 {result.corrected}"
        audit.log(
            session, cli_actor(), "appraisal", at=now_utc(), target=f"org:{org_code}:{year}", detail=detail
        )
        app.keep_planned(session, today())
    click.echo(
        render.prose(
            f"已登记 {result.year} 年度民主评议等次：新增 {result.recorded}，更正 {result.corrected}，未变 {result.unchanged}。"
        )
    )
    if result.flagged:
        click.echo(
            render.prose(
                f"连续两年评定不合格：{'、'.join(result.flagged)}，已提醒支部书记和上级组织委员报请审批处理。"
            )
        )


@appraisal_group.command("show")
@click.option("--org", "org_code", required=True, help="党支部编码。")
@click.option("--year", type=int, required=True, help="评议年度。")
@pass_app
def appraisal_show(app: App, org_code: str, year: int) -> None:
    """列出党支部（含党小组）每名党员某年度的评议等次。

    \b
    示例：
      obligations appraisal show --org jg.b1 --year 2026
    """
    with app.session() as session:
        rows = appraisal.grades_of(session, org_code, year)
        body = [[member.id, member.name, appraisal.grade_label(grade)] for member, grade in rows]
    click.echo(table(["党员编号", FreeText("姓名"), f"{year}年度等次"], body))


@cli.group("dues")
def dues_group() -> None:
    """党费：按月登记交纳情况；连续6个月未交纳的党员提醒支部书记（《中国共产党章程》第九条）。

    \b
    示例：
      obligations dues pay --org jg.b1 --month 2026-11 --member m01 --member m02
      obligations dues status --org jg.b1
    """


@dues_group.command("pay")
@click.option("--org", "org_code", required=True, help="党支部编码。")
@click.option("--month", required=True, help="所交党费的月份，如 2026-11。")
@click.option("--member", "members", multiple=True, required=True, help="交纳党费的党员编号，可重复。")
@as_of_option
@pass_app
def dues_pay(
    app: App, org_code: str, month: str, members: tuple[str, ...], as_of: dt.datetime | None
) -> None:
    """登记某月交纳党费的党员（重复登记同一月份不重复计数）。

    \b
    示例：
      obligations dues pay --org jg.b1 --month 2026-11 --member m01 --member m02
    """
    day = as_of_date(as_of)
    with app.session() as session:
        app.keep_planned(session, today())
        paid = dues.pay(session, org_code, month, list(members), as_of=day, now=now_utc())
        _audit_dues(session, f"org:{org_code}", paid)
        app.keep_planned(session, today())
    _paid(paid)


def _audit_dues(session: Session, source: str, paid: dues.Paid) -> None:
    """`source`: the branch's code, or the name of the imported file."""
    detail = f"{'、'.join(paid.months)}：新增 {paid.recorded} 条"
    audit.log(session, cli_actor(), "dues", at=now_utc(), target=source, detail=detail)


def _paid(paid: dues.Paid) -> None:
    message = f"已登记 {'、'.join(paid.months)} 党费：新增 {paid.recorded} 条"
    if paid.already:
        shown = "、".join(paid.already[:20]) + ("等" if len(paid.already) > 20 else "")
        message += f"；已登记过 {len(paid.already)} 条（{shown}）"
    click.echo(render.prose(message + "。"))


@dues_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@as_of_option
@pass_app
def dues_import(app: App, path: Path, as_of: dt.datetime | None) -> None:
    """从 CSV 导入党费交纳记录：表头含 党员编号 和 月份（每行一名党员一个月）。

    \b
    示例：
      obligations dues import 2026年党费.csv
    """
    day = as_of_date(as_of)
    with app.session() as session:
        app.keep_planned(session, today())
        paid = dues.import_file(session, path, as_of=day, now=now_utc())
        _audit_dues(session, path.name, paid)
        app.keep_planned(session, today())
    _paid(paid)


@dues_group.command("status")
@click.option("--org", "org_code", required=True, help="党支部编码。")
@click.option("--months", type=click.IntRange(1, 120), default=12, show_default=True, help="显示最近几个月。")
@as_of_option
@pass_app
def dues_status(app: App, org_code: str, months: int, as_of: dt.datetime | None) -> None:
    """党支部（含党小组）每名党员近几个月的党费交纳情况和连续未交月数。

    \b
    示例：
      obligations dues status --org jg.b1 --months 6
    """
    day = as_of_date(as_of)
    with app.reading(day) as session:
        rows = dues.status(session, org_code, day, months)
        body = [
            [
                row.member,
                row.name,
                "、".join(row.paid) or "—",
                str(row.unpaid_run),
                f"自 {row.lapsed_from} 起连续6个月未交" if row.lapsed_from else "",
            ]
            for row in rows
        ]
    click.echo(
        table(["党员编号", FreeText("姓名"), FreeText("已交月份"), "连续未交月数", FreeText("提示")], body)
    )
