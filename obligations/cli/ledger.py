"""`obligations done`, `record`, `undo` and `waive`: the ledger (台账)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from obligations import audit, ledger, render
from obligations.cli.app import (
    App,
    Day,
    RowId,
    as_of_date,
    as_of_option,
    cli,
    cli_actor,
    now_utc,
    pass_app,
    today,
)
from obligations.duelist import FILING_LABELS, filing_state
from obligations.errors import UserError
from obligations.models import Task


def _absence(value: str) -> tuple[str, str]:
    try:
        return ledger.parse_absence(value)
    except UserError as error:
        raise click.BadParameter(str(error)) from None


class Hours(click.ParamType[float]):
    """--hours as written (ledger.parse_hours); the ledger bounds its value."""

    name = "学时"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        return ledger.parse_hours(str(value))


def activity_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The 台账 fields shared by `done` and `record`."""
    options = [
        click.option("--on", "held_on", type=Day(), required=True, help="开展日期。"),
        click.option("--place", help="地点。"),
        click.option("--form", help="方式，如 集中学习、专题研讨、线上会议。"),
        click.option("--host", help="主持人。"),
        click.option("--lecturer", help="主讲人的党员编号（书记讲党课须由书记主讲，书记空缺时由副书记）。"),
        click.option("--attendees", "attendee_count", type=int, help="参加人数（不逐一登记时）。"),
        click.option("--attendee", "attendees", multiple=True, help="参加人员的党员编号，可重复。"),
        click.option("--absent", multiple=True, help="缺席人员及原因，写作 党员编号:原因，可重复。"),
        click.option("--topic", help="主题和内容。"),
        click.option(
            "--minutes",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="会议记录或照片文件，可重复；复制到附件目录。",
        ),
        click.option("--hours", type=Hours(), help="学时：计入每名参加人员当年的学习学时（如 4 或 1.5）。"),
        click.option("--note", help="备注。"),
        as_of_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _activity(values: dict[str, Any]) -> ledger.Activity:
    return ledger.Activity(
        held_on=values["held_on"],
        place=values["place"],
        form=values["form"],
        host=values["host"],
        topic=values["topic"],
        note=values["note"],
        hours=values["hours"],
        attendee_count=values["attendee_count"],
        attendees=tuple(values["attendees"]),
        absent=tuple(_absence(item) for item in values["absent"]),
        minutes=tuple(values["minutes"]),
        lecturer=values["lecturer"],
    )


def _record(
    app: App, task_ids: list[int] | None, org: str | None, rules: tuple[str, ...], values: dict[str, Any]
) -> None:
    activity = _activity(values)
    day = as_of_date(values["as_of"])
    with app.session() as session:
        # The stored plan is today's; a back-dated record finds (or plans) only its own task.
        app.keep_planned(session, today())
        if task_ids is not None:
            tasks = [ledger.task_by_id(session, task_id) for task_id in task_ids]
        else:
            assert org is not None
            tasks = [ledger.task_for(session, app.profiles, org, rule, activity.held_on) for rule in rules]
        result = ledger.record(
            session,
            app.profiles,
            tasks,
            activity,
            as_of=day,
            now=now_utc(),
            attachments_dir=app.attachments_dir,
            actor=cli_actor(),
        )
        completion_id = result.completion.id
        summary = "；".join(
            f"{ledger.task_name(session, app.profiles, task)}"
            + _state(task, ledger.task_needs_filing(session, app.profiles, task))
            + f"（任务 {task.id}）"
            for task in result.tasks
        )
    if result.duplicate:
        click.echo(render.prose(f"这条记录已登记过（台账记录 {completion_id}），未重复计数。"))
        return
    click.echo(render.prose(f"已登记台账记录 {completion_id}：{summary}"))
    if result.credited_hours:
        click.echo(render.prose(f"已为 {len(result.credited_hours)} 名党员各计入 {activity.hours:g} 学时。"))


@cli.command()
@click.argument("task_id", type=RowId())
@activity_options
@pass_app
def done(app: App, /, task_id: int, **values: Any) -> None:
    """登记一项任务的完成情况（台账：时间、地点、方式、参加人员和活动内容）。

    \b
    示例：
      obligations done 128 --on 2026-11-20 --place 三楼会议室 \\
        --attendee m01 --attendee m02 --topic 学习全会精神
      obligations done 130 --on 2026-11-25 --attendees 12 --minutes 会议记录.pdf
    """
    _record(app, [task_id], None, (), values)


@cli.command()
@click.option("--org", "org_code", required=True, help="组织编码。")
@click.option(
    "--rule", "rules", multiple=True, required=True, help="规则编号，可重复：一次活动可同时完成多项职责。"
)
@activity_options
@pass_app
def record(app: App, /, org_code: str, rules: tuple[str, ...], **values: Any) -> None:
    """按组织和规则登记：自动找到包含该日期的周期的任务。一次活动可同时计入多项职责。

    \b
    示例：
      obligations record --org jg.b1 --rule committee-meeting --on 2026-11-20 \\
        --attendee m04 --attendee m05
      obligations record --org jg.b1 --rule theme-party-day --rule party-lesson \\
        --on 2026-11-28 --attendees 15 --hours 4
    """
    _record(app, None, org_code, rules, values)


def _state(task: Task, needs_filing: bool) -> str:
    if task.status != "done":
        return f"进度 {task.done_count:g}/{task.required_count:g}"
    filing = filing_state(needs_filing, task.status, task.filed_on)
    if filing == "pending":
        return f"已完成、{FILING_LABELS[filing]}（报上级党组织备案后：obligations file {task.id} --on 日期）"
    return f"已完成、{FILING_LABELS[filing]}" if filing else "已完成"


@cli.command(name="file")
@click.argument("task_id", type=int)
@click.option("--on", "filed_on", type=Day(), required=True, help="报备日期。")
@as_of_option
@pass_app
def file_command(app: App, /, task_id: int, filed_on: dt.date, as_of: dt.datetime | None) -> None:
    """登记已将完成情况报上级党组织备案（组织生活会等规则要求会后报备）。

    \b
    示例：
      obligations file 131 --on 2026-12-28
    """
    with app.session() as session:
        task = ledger.task_by_id(session, task_id)
        ledger.file_with_parent(session, app.profiles, task, on=filed_on, as_of=as_of_date(as_of))
    click.echo(render.prose(f"任务 {task_id} 已登记于 {filed_on} 报上级党组织备案。"))


@cli.command()
@click.argument("completion_id", type=RowId())
@click.option("--reason", required=True, help="撤销理由（保留在台账中）。")
@pass_app
def undo(app: App, completion_id: int, reason: str) -> None:
    """撤销一条台账记录：记录保留并标注撤销理由，相关任务重新计算完成情况。

    \b
    示例：
      obligations undo 42 --reason 日期登记错误，应为11月20日
    """
    with app.session() as session:
        tasks = ledger.undo(session, completion_id, reason, now=now_utc(), actor=cli_actor())
        states = "；".join(
            f"{ledger.task_name(session, app.profiles, task)}现为{'已完成' if task.status == 'done' else '未完成'}"
            f"（任务 {task.id}）"
            for task in tasks
        )
    click.echo(render.prose(f"已撤销台账记录 {completion_id}（理由：{reason}）。{states}"))


@cli.command()
@click.argument("task_id", type=RowId())
@click.option("--until", type=Day(), help="批准延期后的新期限。")
@click.option("--reason", required=True, help="理由。")
@click.option("--approved-by", help="批准的上级党组织（延期必填）。")
@click.option("--exempt", is_flag=True, help="不适用：免于执行此任务（须说明理由）。")
@pass_app
def waive(
    app: App, task_id: int, until: dt.date | None, reason: str, approved_by: str | None, exempt: bool
) -> None:
    """登记经上级党组织批准的延期（期限后移，保留原期限），或以 --exempt 免于执行。

    换届延期最长1年（《中国共产党基层组织选举工作条例》第三条）。

    \b
    示例：
      obligations waive 73 --until 2027-06-30 --reason 机构改革 \\
        --approved-by 市直机关工委
      obligations waive 88 --exempt --reason 该支部已撤销
    """
    if exempt and until is not None:
        raise UserError("--exempt 与 --until 不能同时使用。")
    now = now_utc()
    actor = cli_actor()
    with app.session() as session:
        task = ledger.task_by_id(session, task_id)
        waiver = ledger.waive(
            session,
            app.profiles,
            task,
            until=until,
            reason=reason,
            approved_by=approved_by,
            exempt=exempt,
            now=now,
            actor=actor,
        )
        audit.log(session, actor, "waive", at=now, target=f"task:{task_id}", detail=reason)
        name = ledger.task_name(session, app.profiles, task)
        if exempt:
            message = f"{name}免办（任务 {task_id}，理由：{reason}）。"
        else:
            message = (
                f"{name}期限由 {waiver.previous_due} 延至 {task.due}（任务 {task_id}，批准：{approved_by}）。"
            )
    click.echo(render.prose(message))
