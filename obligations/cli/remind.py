"""`obligations remind`, `outbox`, `status` and `daemon`: reminders and their delivery."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import socket
import time
from pathlib import Path

import click
from sqlmodel import col, select

from notifiers.render import check_templates
from obligations import reminders, render
from obligations.channels import build_channels
from obligations.cli.app import PARTY_TIME, App, cli, pass_app
from obligations.cli.app import today as app_today
from obligations.daemon import Daemon, system_clock
from obligations.errors import UserError
from obligations.escalation import OfficeHours
from obligations.models import OutboxMessage, Sweep


def settings(app: App) -> reminders.Settings:
    config = app.config
    try:
        hours = OfficeHours.parse(str(config.get("reminders", "office_hours")), app.work_calendar)
    except ValueError as error:
        raise UserError(f"配置 [reminders] office_hours：{error}", exit_code=3) from None
    templates = str(config.get("reminders", "templates"))
    if templates:
        problems = check_templates(Path(templates), app_today())
        if problems:
            raise UserError("自定义消息模板有错误：\n" + "\n".join(f"  - {p}" for p in problems), exit_code=3)
    return reminders.Settings(
        office_hours=hours,
        channels=tuple(config.get("reminders", "channels")),
        max_attempts=int(config.get("reminders", "max_attempts")),
        retry_base=float(config.get("reminders", "retry_base_seconds")),
        retry_cap=float(config.get("reminders", "retry_cap_seconds")),
        templates=Path(templates) if templates else None,
        digest_items=int(config.get("reminders", "digest_items")),
    )


def _instant(value: str | None) -> dt.datetime:
    """--as-of: a date (09:00 that day) or a date and time, in party time; default now."""
    if value is None:
        return dt.datetime.now(PARTY_TIME)
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d":
            parsed = parsed.replace(hour=9)
        return parsed.replace(tzinfo=PARTY_TIME)
    raise UserError(f'无法识别的时间 {value!r}，应写作 2026-11-21 或 "2026-11-21 09:30"（北京时间）。')


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@cli.command()
@click.option(
    "--as-of", "as_of", help='按哪个时刻执行（北京时间），如 "2026-11-21 09:30"；只写日期则按当天 09:00。'
)
@click.option("--dry-run", is_flag=True, help="只列出将发送给谁的提醒，不发送、不写入。")
@pass_app
def remind(app: App, as_of: str | None, dry_run: bool) -> None:
    """执行一次提醒：找出到期的提醒步骤，按收件人合并成一条消息，写入发件箱并发送（含到期的重试）。

    只在工作日（含调休上班日）的办公时间内发送；同一时刻重复执行不会重复发送。
    --dry-run 在非办公时间按下一个办公时间预览。

    \b
    示例：
      obligations remind
      obligations remind --as-of "2026-11-23 09:00" --dry-run
    """
    now = _instant(as_of)
    config = settings(app)
    if dry_run:
        opening = config.office_hours.next_opening(now)
        if opening != now:
            click.echo(
                f"当前为非办公时间，按下一个办公时间 {opening.astimezone(PARTY_TIME):%Y-%m-%d %H:%M} 预览："
            )
        with app.reading(opening.astimezone(PARTY_TIME).date(), live=False) as session:  # writes nothing
            result = reminders.plan_messages(session, app.profiles, opening, config, preview=True)
        _print_plan(result)
        return
    with app.session() as session:
        app.keep_planned(session, now.date())
    channels = build_channels(app.config)

    async def run() -> reminders.SweepResult:
        try:
            return await reminders.sweep(
                app.engine, app.profiles, channels, now, config, worker=_worker(), rng=random.Random()
            )
        finally:
            for channel in channels.values():
                await channel.aclose()

    result = asyncio.run(run())
    if result.skipped:
        click.echo(result.skipped)
        return
    click.echo(
        f"{now:%Y-%m-%d %H:%M}：新增提醒 {result.reminders} 条，合并为 {result.messages} 条消息；"
        f"发送成功 {result.sent}，待重试 {result.retried}，失败 {result.failed}。"
    )


def _print_plan(result: reminders.SweepResult) -> None:
    if result.skipped:
        click.echo(result.skipped)
        return
    if not result.planned:
        click.echo("没有需要发送的提醒。")
        return
    click.echo(
        f"试运行：将发送 {len(result.planned)} 条消息（共 {result.reminders} 条提醒），未发送、未写入。"
    )
    rows = [[p.recipient_name, p.channel, p.address, str(p.items), p.subject] for p in result.planned]
    click.echo(render.table(("收件人", "渠道", "地址", "事项", "标题"), rows, max_width={4: 50}))
    first = max(result.planned, key=lambda p: p.items)
    click.echo(f"\n其中发给{first.recipient_name}的一条：\n主题：{first.subject}\n\n{first.text}")


@cli.command()
@click.option("--failed", "failed_only", is_flag=True, help="只看发送失败的消息。")
@click.option("--retry", "retry_id", type=int, help="重新发送某条失败的消息（编号）。")
@click.option("--all", "retry_all", is_flag=True, help="与 --retry 配合或单独使用：重新发送全部失败的消息。")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="最多显示几条。")
@pass_app
def outbox(app: App, failed_only: bool, retry_id: int | None, retry_all: bool, limit: int) -> None:
    """查看发件箱：每条消息的收件人、渠道、状态、重试次数和错误；可重新发送失败的消息。

    \b
    示例：
      obligations outbox
      obligations outbox --failed
      obligations outbox --retry 17
      obligations outbox --all
    """
    with app.session() as session:
        if retry_id is not None or retry_all:
            count = reminders.retry_failed(session, None if retry_all else retry_id)
            if retry_id is not None and count == 0:
                raise UserError(
                    f"发件箱中没有编号为 {retry_id} 的失败消息（无联系方式的消息需先补充邮箱或企业微信）。",
                    exit_code=2,
                )
            click.echo(f"已将 {count} 条失败的消息放回发件箱，下次执行 remind 或后台服务检查时发送。")
            return
        query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
        if failed_only:
            query = query.where(col(OutboxMessage.state) == "failed")
        rows = [
            [
                str(m.id),
                m.created_at.astimezone(PARTY_TIME).strftime("%Y-%m-%d %H:%M"),
                m.recipient,
                m.channel,
                m.address,
                _STATES.get(m.state, m.state),
                str(m.attempts),
                m.last_error or "",
            ]
            for m in session.exec(query)
        ]
        counts = reminders.outbox_counts(session)
    click.echo(
        "发件箱："
        + "，".join(f"{_STATES.get(state, state)} {count}" for state, count in sorted(counts.items()))
    )
    if rows:
        click.echo(
            render.table(
                ("编号", "生成时间", "收件人", "渠道", "地址", "状态", "尝试", "错误"),
                rows,
                max_width={7: 40},
            )
        )


_STATES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}


@cli.command()
@pass_app
def status(app: App) -> None:
    """显示提醒服务状态：最近一次检查、发件箱各状态数量、下一次检查和重新计划的时间。

    \b
    示例：
      obligations status
    """
    with app.session() as session:
        last = session.exec(select(Sweep).order_by(col(Sweep.id).desc()).limit(1)).first()
        counts = reminders.outbox_counts(session)
    minutes = int(app.config.get("reminders", "sweep_minutes"))
    replan = dt.time.fromisoformat(str(app.config.get("reminders", "replan_at")))
    now = dt.datetime.now(PARTY_TIME)
    if last is None:
        click.echo("最近一次检查：尚未执行（运行 obligations remind 或 obligations daemon）")
        next_sweep = now
    else:
        when = last.as_of.astimezone(PARTY_TIME)
        outcome = (
            f"出错：{last.error}"
            if last.error
            else f"新增提醒 {last.reminders}，消息 {last.messages}，发送 {last.sent}，失败 {last.failed}"
        )
        click.echo(f"最近一次检查：{when:%Y-%m-%d %H:%M}（{outcome}）")
        next_sweep = max(now, when + dt.timedelta(minutes=minutes))
    next_replan = dt.datetime.combine(now.date(), replan, tzinfo=PARTY_TIME)
    if next_replan <= now:
        next_replan += dt.timedelta(days=1)
    click.echo(
        "发件箱：" + ("，".join(f"{_STATES.get(s, s)} {c}" for s, c in sorted(counts.items())) or "空")
    )
    click.echo(f"下一次检查：{next_sweep:%Y-%m-%d %H:%M}（每 {minutes} 分钟，后台服务运行时）")
    click.echo(f"下一次重新计划：{next_replan:%Y-%m-%d %H:%M}")


@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="输出更详细的日志。")
@click.option("--as-of", "as_of", help="从某一时刻起运行（北京时间，时钟随后照常走动），用于演示和重放。")
@pass_app
def daemon(app: App, verbose: bool, as_of: str | None) -> None:
    """后台服务：每隔几分钟检查并发送提醒（含重试），每天重新计划任务；收到 SIGTERM/SIGINT 时发完当前消息后退出。

    \b
    示例：
      obligations daemon
      obligations --config /etc/obligations/config.toml daemon -v
      obligations daemon --as-of "2026-11-23 08:30"
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = app.config
    clock = system_clock
    if as_of is not None:
        start, began = _instant(as_of), time.monotonic()

        def clock() -> dt.datetime:
            return start + dt.timedelta(seconds=time.monotonic() - began)

    service = Daemon(
        engine=app.engine,
        profiles=app.profiles,
        channels=build_channels(config),
        settings=settings(app),
        sweep_minutes=int(config.get("reminders", "sweep_minutes")),
        replan_at=dt.time.fromisoformat(str(config.get("reminders", "replan_at"))),
        horizon_years=int(config.get("planner", "horizon_years")),
        clock=clock,
    )
    asyncio.run(service.run())
