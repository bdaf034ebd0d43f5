"""`obligations request list|approve|reject`: the branches' extension and exemption requests, decided on the
command line by the server's operator (the desk's 组织员 decide them on /requests)."""

from __future__ import annotations

import click

from obligations import requests
from obligations.cli.app import App, RowId, cli, cli_actor, now_utc, pass_app
from obligations.render import FreeText, minute_text, table


@cli.group("request")
def request_group() -> None:
    """支部的延期、免办申请：列出、批准、不批准（上级党组织也可在党务工作台审批）。

    \b
    示例：
      obligations request list
      obligations request approve 3 --approved-by 机关党委
      obligations request reject 4 --note 请按期召开
    """


@request_group.command("list")
@click.option(
    "--state",
    type=click.Choice(sorted(requests.STATE_LABELS)),
    default="pending",
    show_default=True,
    help="只列出此状态的申请。",
)
@pass_app
def request_list(app: App, state: str) -> None:
    """列出申请：编号、任务（【组织】事项）、申请内容、理由、申请人和时间。

    \b
    示例：
      obligations request list --state approved
    """
    with app.session() as session:
        rows = [
            [
                str(item.request.id),
                str(item.task.id),
                f"【{item.org.name}】{item.title}",
                requests.KIND_LABELS.get(item.request.kind, item.request.kind)
                + (f" 至 {item.request.until}" if item.request.until else ""),
                item.request.reason,
                item.request.requested_by,
                minute_text(item.request.requested_at),
                requests.STATE_LABELS.get(item.request.state, item.request.state),
            ]
            for item in requests.every(session, app.profiles, state=state)
        ]
    if not rows:
        click.echo("没有符合条件的申请。")
        return
    click.echo(
        table(
            [
                "申请",
                "任务",
                FreeText("事项"),  # 【组织】 and the task, as reminders name it: one column to cut, not two
                "申请内容",  # 延期 至 a date, or 免办: never cut
                FreeText("理由"),
                "申请人",  # a member id
                "申请时间",
                "状态",
            ],
            rows,
        )
    )


@request_group.command("approve")
@click.argument("request_id", type=RowId())
@click.option("--approved-by", required=True, help="批准的上级党组织。")
@click.option("--note", help="审批意见。")
@pass_app
def request_approve(app: App, request_id: int, approved_by: str, note: str | None) -> None:
    """批准申请：与 obligations waive 相同的检查（换届延期最长1年，《中国共产党基层组织选举工作条例》第三条）。

    \b
    示例：
      obligations request approve 3 --approved-by 机关党委
    """
    with app.session() as session:
        waiver = requests.approve(
            session,
            app.profiles,
            request_id,
            scope=None,
            actor=cli_actor(),
            now=now_utc(),
            note=note,
            approved_by=approved_by,
        )
        outcome = (
            "免办" if waiver.kind == "exemption" else f"期限由 {waiver.previous_due} 延至 {waiver.until}"
        )
    click.echo(f"已批准申请 {request_id}（任务 {waiver.task_id}）：{outcome}。")


@request_group.command("reject")
@click.argument("request_id", type=RowId())
@click.option("--note", required=True, help="不批准的理由。")
@pass_app
def request_reject(app: App, request_id: int, note: str) -> None:
    """不批准申请（须说明理由）。

    \b
    示例：
      obligations request reject 4 --note 请按期召开
    """
    with app.session() as session:
        requests.reject(session, request_id, scope=None, actor=cli_actor(), now=now_utc(), note=note)
    click.echo(f"已不批准申请 {request_id}。")
