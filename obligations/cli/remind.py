"""`obligations remind`, `outbox`, `status` and `daemon`: reminders and their delivery."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Mapping

import click
from sqlmodel import Session, col, select

from calendars.ladder import OfficeHours
from calendars.model import Profile
from notifiers.render import check_templates
from notifiers.table import label as channel_label
from obligations import logs, planstate, reminders, render
from obligations.channels import build_channels
from obligations.cli.app import PARTY_TIME, App, RowId, as_of_instant, cli, instant_option, pass_app
from obligations.cli.app import today as app_today
from obligations.config import check_profiles_in_use, configured_profiles
from obligations.daemon import Daemon, system_clock, this_worker, worker_gone
from obligations.errors import NotFound, UserError
from obligations.models import OutboxMessage, Sweep
from obligations.render import FreeText


def settings(app: App) -> reminders.Settings:
    config = app.config.reminders
    if config.templates is not None:
        problems = check_templates(config.templates, app_today())
        if problems:
            raise UserError("自定义消息模板有错误：\n" + "\n".join(f"  - {p}" for p in problems), exit_code=3)
    return reminders.Settings(
        office_hours=OfficeHours(config.office_hours.opens, config.office_hours.closes, app.work_calendar),
        channels=config.channels,
        max_attempts=config.max_attempts,
        retry_base=float(config.retry_base_seconds),
        retry_cap=float(config.retry_cap_seconds),
        breaker_failures=config.breaker_failures,
        breaker_cooldown=dt.timedelta(minutes=config.breaker_cooldown_minutes),
        templates=config.templates,
        digest_items=config.digest_items,
        public_url=app.config.web.public_url,
    )


def _require_config_file(app: App) -> None:
    """Delivering needs channels the operator chose: without a config file nothing is sent or marked sent."""
    if app.config.path is None:
        raise UserError(
            f"没有配置文件 {app.config_path}，无法发送提醒：请先运行 obligations init 创建 config.toml，"
            "并在 [reminders] channels 中选择提醒渠道（email、wecom 或 console）。",
            exit_code=3,
        )


@cli.command()
@instant_option
@click.option("--dry-run", is_flag=True, help="只列出将发送给谁的提醒，不发送、不写入。")
@pass_app
def remind(app: App, as_of: dt.datetime | None, dry_run: bool) -> None:
    """执行一次提醒：找出到期的提醒步骤，按收件人合并成一条消息，写入发件箱并发送（含到期的重试）。

    只在工作日（含调休上班日）的办公时间内发送；同一时刻重复执行不会重复发送。
    --dry-run 在非办公时间按下一个办公时间预览。--as-of 不是今天时按已保存的任务计划执行，不重新计划；实际发送时不能晚于现在。

    \b
    示例：
      obligations remind
      obligations remind --as-of "2026-11-23 09:00" --dry-run
    """
    now = as_of_instant(as_of, sends=not dry_run)
    if not dry_run:
        _require_config_file(app)
    config = settings(app)
    if dry_run:
        opening = config.office_hours.next_opening(now)
        with app.reading(opening.astimezone(PARTY_TIME).date(), live=False) as session:  # writes nothing
            result = reminders.plan_messages(session, app.profiles, opening, config, preview=True)
        if opening != now:  # said once the preview stands: a failure leaves standard output empty
            click.echo(
                render.prose(
                    f"当前为非办公时间，按下一个办公时间 {opening.astimezone(PARTY_TIME):%Y-%m-%d %H:%M} 预览："
                )
            )
        _print_plan(result)
        return
    with app.session() as session:
        # Only a sweep of today brings the plan up to date: one replayed at another date works on the stored
        # plan, so that it cannot add that date's periods (overdue for ever) or drop today's tasks.
        if now.date() == app_today():
            app.keep_planned(session, now.date())
        else:
            app.check_profiles(session)
    channels = build_channels(app.config, app.engine)

    async def run() -> reminders.SweepResult:
        try:
            return await reminders.sweep(
                app.engine, app.profiles, channels, now, config,
                worker=this_worker(), rng=random.Random(), gone=worker_gone,
            )  # fmt: skip
        finally:
            for channel in channels.values():
                await channel.aclose()

    result = asyncio.run(run())
    if result.skipped:
        click.echo(render.prose(result.skipped))
        return
    click.echo(
        render.prose(
            f"{now:%Y-%m-%d %H:%M}：新增提醒 {result.reminders} 条，合并为 {result.messages} 条消息；"
            f"发送成功 {result.sent}，待重试 {result.retried}，失败 {result.failed}{_paused(result)}。"
        )
    )
    if result.sent == 0 and result.retried + result.failed > 0:
        raise UserError(
            "全部发送失败：请检查 [notifiers] 配置、网络和邮件服务器；"
            "obligations outbox --failed 列出原因（待重试的消息下次执行时自动重发）。",
            exit_code=ALL_DELIVERIES_FAILED,
        )


def _paused(result: reminders.SweepResult) -> str:
    """；邮件渠道连续超时或无法连接，已暂停至 2026-10-08 10:10，其消息留在发件箱 — per paused channel."""
    return "".join(
        f"；{channel_label(channel)}渠道连续超时或无法连接，已暂停至 {until.astimezone(PARTY_TIME):%Y-%m-%d %H:%M}，"
        "其消息留在发件箱"
        for channel, until in result.paused.items()
    )


ALL_DELIVERIES_FAILED = 7  # remind: deliveries were attempted and not one succeeded (the README's table)


def _print_plan(result: reminders.SweepResult) -> None:
    if result.skipped:
        click.echo(render.prose(result.skipped))
        return
    if not result.planned:
        click.echo("没有需要发送的提醒。")
        return
    click.echo(
        render.prose(
            f"试运行：将发送 {len(result.planned)} 条消息（共 {result.reminders} 条提醒），未发送、未写入。"
        )
    )
    rows = [
        [
            p.recipient_name,
            p.channel,
            p.address,
            str(p.items),
            f"{p.part}/{p.parts}" if p.parts > 1 else "",
            p.subject,
        ]
        for p in result.planned
    ]  # a digest longer than its channel carries is sent as numbered parts: one row each
    click.echo(
        render.table((FreeText("收件人"), "渠道", FreeText("地址"), "事项", "分段", FreeText("标题")), rows)
    )
    first = max(result.planned, key=lambda p: p.items)
    # the message as its recipient will read it, its lines wrapped on the terminal only
    click.echo(
        render.prose(f"\n其中发给{first.recipient_name}的一条：\n主题：{first.subject}\n\n{first.text}")
    )


@cli.command()
@click.option("--failed", "failed_only", is_flag=True, help="只看发送失败的消息。")
@click.option("--retry", "retry_id", type=RowId(), help="重新发送某条失败的消息（编号）。")
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
                raise NotFound(
                    f"发件箱中没有编号为 {retry_id} 的失败消息（无联系方式的消息需先补充邮箱或企业微信）。"
                )
            click.echo(
                render.prose(f"已将 {count} 条失败的消息放回发件箱，下次执行 remind 或后台服务检查时发送。")
            )
            return
        query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
        if failed_only:
            query = query.where(col(OutboxMessage.state) == "failed")
        rows = [
            [
                str(m.id),
                m.created_at.astimezone(PARTY_TIME).strftime("%Y-%m-%d %H:%M"),
                _addressee(m),
                channel_label(m.channel),
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
                (
                    "编号",
                    "生成时间",
                    FreeText("收件人"),
                    "渠道",
                    FreeText("地址"),
                    "状态",
                    "尝试",
                    FreeText("错误"),
                ),
                rows,
            )
        )


_STATES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}


def _sweep_outcome(sweep: Sweep) -> str:
    """失败 (an error), 中断 (never finished and its process is gone), 进行中, 已停止 (SIGTERM), or the counts."""
    counts = f"新增提醒 {sweep.reminders}，消息 {sweep.messages}，发送 {sweep.sent}，失败 {sweep.failed}"
    if sweep.error:
        return f"失败：{sweep.error}"
    if sweep.finished_at is None:
        if sweep.worker is not None and worker_gone(sweep.worker):
            return f"中断：执行它的进程 {sweep.worker} 已不在运行，未完成的消息留在发件箱，下次检查时发送"
        return f"进行中（{sweep.worker or '未知进程'}）"
    if sweep.stopped:
        return f"已停止：收到停止信号，余下的消息留在发件箱；{counts}"
    return counts


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
    minutes = app.config.reminders.sweep_minutes
    replan = app.config.reminders.replan_at
    now = dt.datetime.now(PARTY_TIME)
    if last is None:
        click.echo("最近一次检查：尚未执行（运行 obligations remind 或 obligations daemon）")
        next_sweep = now
    else:
        when = last.as_of.astimezone(PARTY_TIME)
        click.echo(render.prose(f"最近一次检查：{when:%Y-%m-%d %H:%M}（{_sweep_outcome(last)}）"))
        next_sweep = max(now, when + dt.timedelta(minutes=minutes))
    next_replan = dt.datetime.combine(now.date(), replan, tzinfo=PARTY_TIME)
    if next_replan <= now:
        next_replan += dt.timedelta(days=1)
    click.echo(
        render.prose(
            "发件箱：" + ("，".join(f"{_STATES.get(s, s)} {c}" for s, c in sorted(counts.items())) or "空")
        )
    )
    click.echo(f"下一次检查：{next_sweep:%Y-%m-%d %H:%M}（每 {minutes} 分钟，后台服务运行时）")
    click.echo(f"下一次重新计划：{next_replan:%Y-%m-%d %H:%M}")


@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="输出更详细的日志。")
@instant_option
@pass_app
def daemon(app: App, verbose: bool, as_of: dt.datetime | None) -> None:
    """后台服务：每隔几分钟检查并发送提醒（含重试），每天重新计划任务；收到 SIGTERM/SIGINT 时发完当前消息后退出。

    \b
    示例：
      obligations daemon
      obligations --config /etc/obligations/config.toml daemon -v
      obligations daemon --as-of "2026-11-23 08:30"

    --as-of 从该时刻起运行（时钟随后照常走动），启动后立即检查一次，用于演示和重放；
    不是今天时按已保存的任务计划执行，不重新计划；不能晚于现在。
    """
    _require_config_file(app)
    config = app.config
    clock = system_clock
    if as_of is not None:
        start, began = as_of_instant(as_of, sends=True), time.monotonic()

        def clock() -> dt.datetime:
            return start + dt.timedelta(seconds=time.monotonic() - began)

    with app.session() as session:
        app.check_profiles(session)  # before anything is written
    service = Daemon(
        engine=app.engine,
        profiles=app.profiles,
        channels=build_channels(config, app.engine),
        settings=settings(app),
        sweep_minutes=config.reminders.sweep_minutes,
        replan_at=config.reminders.replan_at,
        horizon_years=config.planner.horizon_years,
        clock=clock,
        reload_profiles=lambda session: _reloaded_profiles(app, session),
        replan=as_of is None or as_of.astimezone(PARTY_TIME).date() == app_today(),
    )
    logs.setup(verbose)  # once every check has passed: a command refused in-process leaves logging as it was
    asyncio.run(service.run())


def _reloaded_profiles(app: App, session: Session) -> Mapping[str, Profile]:
    """The profiles as they are on disk now, checked against the organizations (ConfigError otherwise)."""
    profiles = configured_profiles(app.config)
    check_profiles_in_use(app.config, profiles, planstate.profiles_in_use(session))
    return profiles


def _addressee(message: OutboxMessage) -> str:
    """张三（m04）for a person's digest, 第一党支部（b1）for an organization's group robot."""
    code = message.recipient or message.org or ""
    return f"{message.recipient_name}（{code}）" if message.recipient_name else code
