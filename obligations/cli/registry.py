"""`obligations init`, `import`, `org` and `plan`: the registry and the plan."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import click
from sqlmodel import Session

from calendars.instants import FOUNDING
from calendars.model import ORG_KIND_LABELS, ROLE_LABELS, OrgKind, Role
from calendars.text import shown
from obligations import audit, db, demo_accounts, importer, planner, queries, render, roster
from obligations.cli.app import App, Day, as_of_date, as_of_option, cli, cli_actor, now_utc, pass_app
from obligations.config import example
from obligations.demo import check_only_demo, decided_members, demo_registry, settle_history
from obligations.errors import UserError
from obligations.registry import (
    Registry,
    RegistryError,
    read_registry,
    resolve_org_names,
    validate,
)
from obligations.render import FreeText
from obligations.roster import Headcount


@cli.command()
@click.option("--demo", is_flag=True, help="同时载入演示用的组织、党员和职务。")
@as_of_option
@pass_app
def init(app: App, demo: bool, as_of: dt.datetime | None) -> None:
    """创建配置文件（如不存在）和数据库，或把数据库升级到当前版本。

    \b
    示例：
      obligations init
      obligations init --demo
      obligations --db postgresql://dangjian@localhost/obligations init
    """
    if not app.config_path.exists():
        app.config_path.parent.mkdir(parents=True, exist_ok=True)
        app.config_path.write_text(example(), encoding="utf-8")
        click.echo(render.prose(f"已创建配置文件 {app.config_path}"))
    app.may_create_database = True
    before, after = db.upgrade(app.raw_engine)
    where = app.raw_engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(render.prose(f"数据库已是最新版本（{after}）：{where}"))
    else:
        click.echo(render.prose(f"数据库已{'创建' if before is None else '升级'}到版本 {after}：{where}"))
    if demo:
        day = as_of_date(as_of)
        with app.session() as session:
            decided = decided_members(session)  # loaded before: the registry speaks for the 转正 decided then
        _import(
            app,
            demo_registry(day, decided),
            "演示数据",
            prune=False,
            dry_run=False,
            as_of=day,
            guard=check_only_demo,
        )
        with app.session() as session:
            settled = settle_history(session, app.profiles, day, now_utc(), app.attachments_dir)
            # The records changed registry facts (转正, 党费): leave the plan current, so that the first `due`
            # and every replay need not plan again.
            planner.ensure_planned(session, app.profiles, day, app.horizon(day))
        click.echo(render.prose(f"演示数据：已为过去的任务登记 {settled} 条台账记录，留下几项逾期以便演示。"))
        _demo_accounts(app)


def _demo_accounts(app: App) -> None:
    """Open the demo's desk accounts and print their passwords (once: a repeated --demo keeps them)."""
    now = now_utc()
    with app.session() as session:
        opened = demo_accounts.open_demo_accounts(session, now=now)
        for account in opened:
            if account.password is not None:
                audit.log(session, cli_actor(), "user_add", at=now, target=f"member:{account.member}")
    click.echo("演示账号（obligations serve 后在浏览器登录 http://127.0.0.1:8080/）：")
    for account in opened:
        if account.password is None:
            shown_password = f"已有账号，密码不变（忘记时：obligations user passwd {account.member}）"
        else:
            shown_password = f"密码 {account.password}"
        click.echo(f"  {account.member} {account.name}（{account.role}）  {shown_password}")
    if any(account.password is not None for account in opened):
        click.echo("密码只显示这一次，请记下。")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", help="Excel 工作簿（.xlsx）中名册所在的工作表名称，默认为第一个工作表。")
@click.option(
    "--prune",
    is_flag=True,
    help="移除文件中不再列出的组织、党员和职务（默认只新增和更新）；在终端上先列出将移除的项目并请您确认。",
)
@click.option(
    "--yes", "assume_yes", is_flag=True, help="与 --prune 同用：不询问，直接移除（脚本和定时任务须加）。"
)
@click.option("--dry-run", is_flag=True, help="只检查并报告将发生的变化，不写入数据库。")
@click.option(
    "--track-from",
    type=Day(),
    help="新组织的跟踪起始日（YYYY-MM-DD，默认为导入日期）：此前各期的例行职责不计。",
)
@as_of_option
@pass_app
def import_(
    app: App,
    file: Path,
    sheet: str | None,
    prune: bool,
    assume_yes: bool,
    dry_run: bool,
    track_from: dt.date | None,
    as_of: dt.datetime | None,
) -> None:
    """导入组织、党员和职务：TOML 文件（[[org]]、[[member]]、[[position]]），或党员名册：CSV（中文或英文表头，UTF-8 或 GB18030）或 Excel 工作簿（.xlsx，表头上方可有标题行）。

    文件中有任何错误时，一条也不导入，并列出全部错误（文件、行号、字段）。

    --prune 会移除文件中不再列出的项目：在终端上先列出它们并询问（默认不移除）；不在终端上运行时须加 --yes。

    \b
    示例：
      obligations import registry.toml
      obligations import 党员名册.csv --dry-run
      obligations import 党员名册.xlsx --sheet 第一党支部
      obligations import registry.toml --prune
      obligations import registry.toml --prune --yes
      obligations import registry.toml --track-from 2026-01-01
    """
    day = as_of_date(as_of)
    start = track_from
    if start is not None and not FOUNDING <= start <= day:
        raise UserError(f"跟踪起始日 {start} 应在 {FOUNDING} 与导入日期 {day} 之间。")
    incoming = read_registry(file, sheet=sheet)
    where = incoming.source or str(file)
    confirmed = None
    if prune and not dry_run and not assume_yes:
        confirmed = _confirm_removals(app, incoming, where, as_of=day, track_from=start)
    _import(
        app, incoming, where, prune=prune, dry_run=dry_run, as_of=day, track_from=start, confirmed=confirmed
    )


def _confirm_removals(
    app: App, incoming: Registry, file: str, *, as_of: dt.date, track_from: dt.date | None
) -> list[str]:
    """What --prune would remove, agreed to by the person at the terminal: found by applying the file in a
    transaction that is rolled back, so that no lock is held while the question waits for an answer. Without a
    terminal to ask on (a script, a cron job), --prune needs --yes."""
    with app.session() as session:
        summary, _ = _apply(app, session, incoming, file, prune=True, as_of=as_of, track_from=track_from)
        session.rollback()
    removals = summary.removals
    if not removals:
        return removals
    listed = f"将移除以下 {len(removals)} 项（组织和党员停用，职务删除或改为空缺）：\n" + "\n".join(
        f"  {shown(line)}" for line in removals
    )
    if not sys.stdin.isatty():
        raise UserError(
            f"{listed}\n未导入：不在终端上运行时，--prune 须加 --yes 确认移除（可先用 --dry-run 查看）。"
        )
    click.echo(listed, err=True)
    if not click.confirm(f"确定移除以上 {len(removals)} 项并导入吗？", default=False, err=True):
        raise UserError("未导入：没有移除任何项目。")
    return removals


def _import(
    app: App,
    incoming: Registry,
    file: str,
    *,
    prune: bool,
    dry_run: bool,
    as_of: dt.date,
    track_from: dt.date | None = None,
    guard: Callable[[Session, Registry], None] | None = None,
    confirmed: list[str] | None = None,
) -> None:
    """Validate, apply, plan and commit in one transaction; `guard` may refuse the import, seeing the same
    database state the import then writes over. `confirmed` is what the person agreed --prune removes: if the
    store changed meanwhile and it would remove something else, nothing is written."""
    with app.session() as session:
        summary, resolved = _apply(
            app, session, incoming, file, prune=prune, as_of=as_of, track_from=track_from, guard=guard
        )
        advice = _shape_advice(session, app, resolved)
        if confirmed is not None and summary.removals != confirmed:
            raise UserError(
                "未导入：确认期间数据库中的名册已有变化，将移除的项目与您确认的不同。请重新运行。"
            )
        if summary.removals and confirmed is None:
            # Shown before anything is committed; pruned organizations and members stay in the database, inactive.
            click.echo(
                render.prose(f"将移除以下 {len(summary.removals)} 项（组织和党员停用，职务删除或改为空缺）：")
            )
            click.echo("\n".join(f"  {shown(line)}" for line in summary.removals))
        if dry_run:
            session.rollback()
            click.echo(render.prose(f"试运行（未写入）：{summary.describe()}"))
            _echo_advice(advice)
            return
        # Planned in the same transaction: a failure while planning leaves the registry as it was.
        app.keep_planned(session, as_of)
    click.echo(render.prose(f"已导入 {file}：{summary.describe()}"))
    _echo_advice(advice)


def _apply(
    app: App,
    session: Session,
    incoming: Registry,
    file: str,
    *,
    prune: bool,
    as_of: dt.date,
    track_from: dt.date | None,
    guard: Callable[[Session, Registry], None] | None = None,
) -> tuple[importer.ImportSummary, Registry]:
    """Check the file against the store and write it in `session` (not committed): what changed, and the
    registry as written (organization names resolved to codes). RegistryError lists every problem."""
    if guard is not None:
        guard(session, incoming)
    existing = importer.existing_registry(session)
    problems = validate(
        incoming,
        file=file,
        existing=existing,
        as_of=as_of,
        profiles=app.profiles,
        default_profile=app.config.profiles.default,
    )
    if problems:
        raise RegistryError(problems)
    resolved = resolve_org_names(incoming, existing)
    summary = importer.apply(
        session,
        resolved,
        prune=prune,
        default_profile=app.config.profiles.default,
        as_of=as_of,
        track_from=track_from,
    )
    return summary, resolved


def _shape_advice(session: Session, app: App, incoming: Registry) -> list[str]:
    """The shape advisories met by the organizations the file touches (a group's branch included)."""
    registry = roster.load(session)
    touched = {org.code for org in incoming.orgs} | {member.org for member in incoming.members}
    codes = sorted(
        {registry.branch_of(code) for code in touched} | touched,
        key=lambda c: registry.orgs[c].path if c in registry.orgs else c,
    )
    return [
        f"  {code}（{shown(registry.orgs[code].name)}）：{warning}"
        for code in codes
        if code in registry.orgs
        for warning in registry.advice(code, app.profiles)
    ]


def _echo_advice(advice: list[str]) -> None:
    if advice:
        click.echo("组织设置提示（仅为提示，不影响导入）：", err=True)
        click.echo(render.prose("\n".join(advice), stream=sys.stderr), err=True)


@cli.group()
def org() -> None:
    """查看组织树、党员、职务、空缺和任期。

    \b
    示例：
      obligations org list
      obligations org show jg.b1
    """


@org.command("list")
@pass_app
def org_list(app: App) -> None:
    """以树形列出全部组织：类型、职责日历、党员人数、任期届满日期。

    \b
    示例：
      obligations org list
    """
    with app.session() as session:
        orgs = queries.all_orgs(session)
        counts = queries.headcounts(session, app.profiles)
        rows = []
        advice: list[str] = []
        for org_row in orgs:
            depth = org_row.path.count("/") - 2
            count, warnings = counts.get(org_row.code, (Headcount(0, 0, 0), []))
            end = queries.term_end(org_row, app.profiles)
            rows.append(
                [
                    "  " * depth + org_row.code,
                    org_row.name,
                    ORG_KIND_LABELS[OrgKind(org_row.kind)],
                    org_row.effective_profile,
                    count.describe(),
                    f"{count.full}+{count.probationary}" if count.probationary else str(count.full),
                    end.isoformat() if end else "",
                ]
            )
            advice.extend(f"  {org_row.code}（{shown(org_row.name)}）：{warning}" for warning in warnings)
    if not rows:
        click.echo("还没有组织。请先运行 obligations import 文件，或 obligations init --demo。")
        return
    headers = (
        "编号",
        FreeText("名称"),
        "类型",
        "职责日历",
        FreeText("党员（含党小组）"),
        "正式+预备",
        "任期届满",
    )
    click.echo(render.table(headers, rows))
    if advice:
        click.echo("\n组织设置提示（不影响导入和计划）：")
        click.echo(render.prose("\n".join(advice)))


@org.command("show")
@click.argument("code")
@pass_app
def org_show(app: App, code: str) -> None:
    """显示一个组织：上级、下级、党员、职务与空缺、任期届满日期。

    \b
    示例：
      obligations org show jg.b1
    """
    with app.session() as session:
        view = queries.org_view(session, app.profiles, code)
        history = planner.profile_history(session, [view.org.code]).get(view.org.code, [])
    found = view.org
    page = render.Page()  # the prose wrapped to the terminal, the members' table fitting it
    page.add(f"{shown(found.name)}（{found.code}，{ORG_KIND_LABELS[OrgKind(found.kind)]}）")
    page.add(f"上级组织：{found.parent or '—'}    职责日历：{found.effective_profile}")
    if len(history) > 1:
        steps = [profile if since is None else f"{profile}（自 {since}）" for since, profile in history]
        page.add("职责日历沿革：" + " → ".join(steps))
    tracked = f"自 {found.tracked_from} 起（此前各期的例行职责不计）" if found.tracked_from else "全程"
    page.add(f"跟踪起始：{tracked}")
    if found.wecom_robot_env:
        page.add(f"企业微信群机器人：key 取自环境变量 {found.wecom_robot_env}（接收本组织待办汇总）")
    elected = found.elected_on.isoformat() if found.elected_on else "—"
    page.add(f"上次换届：{elected}    任期届满：{view.term_end.isoformat() if view.term_end else '—'}")
    if view.children:
        page.add("下级组织：" + "、".join(f"{shown(child.name)}（{child.code}）" for child in view.children))
    page.add("\n职务：")
    if not view.positions:
        page.add("  （未登记）")
    for position, holder in view.positions:
        label = ROLE_LABELS.get(Role(position.role), position.role)
        if holder is None:
            since = position.vacant_since.isoformat() if position.vacant_since else "?"
            page.add(f"  {label}：空缺（自 {since} 起）")
        else:
            page.add(f"  {label}：{shown(holder.name)}（{shown(holder.id)}，自 {position.since or '?'} 起）")
    count = view.headcount
    page.add(
        f"\n党员总数：{count.describe()}，其中正式党员 {count.full} 人、预备党员 {count.probationary} 人"
    )
    for warning in view.advice:
        page.add(f"组织设置提示：{warning}")
    page.add(f"\n本组织直属党员（{len(view.members)} 人）：")
    rows = [
        [
            member.id,
            member.name,
            "正式党员" if member.status == "full" else "预备党员",
            member.joined_on.isoformat() if member.joined_on else "",
            member.email or "",
            member.wecom or "",
        ]
        for member in view.members
    ]
    if rows:
        page.table(
            ("编号", FreeText("姓名"), "类别", "入党日期", FreeText("邮箱"), FreeText("企业微信")), rows
        )
    click.echo(page.text())


@cli.command()
@as_of_option
@click.option("--all", "everything", is_flag=True, help="重新核对全部组织（默认只处理有变化的组织）。")
@pass_app
def plan(app: App, as_of: dt.datetime | None, everything: bool) -> None:
    """按职责日历为每个组织生成任务（从上一周期开始到计划期末），并与组织、党员、职务的变化保持一致。

    导入和 due 会自动更新计划；本命令用于显式执行或全部重新核对。

    \b
    示例：
      obligations plan
      obligations plan --as-of 2027-01-01 --all
    """
    day = as_of_date(as_of)
    with app.session() as session:
        app.check_profiles(session)
        if not everything and not planner.needs_plan(session, day, app.horizon(day)):
            click.echo("任务计划已是最新。")
            return
        summary = planner.plan(session, app.profiles, day, app.horizon(day), everything=everything)
    start, end = summary.window
    click.echo(
        render.prose(
            f"已计划 {summary.organizations} 个组织（{start} 至 {end}）：新增 {summary.inserted}，"
            f"更新 {summary.updated}，移除 {summary.removed}。"
        )
    )
