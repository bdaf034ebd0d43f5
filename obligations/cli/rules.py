"""`obligations rules`: the duty calendars."""

from __future__ import annotations

import datetime as dt

import click

from calendars.expand import OrgFacts, Window, expand, period_label
from calendars.model import ROLE_LABELS, OrgKind, Role, Rule
from calendars.text import display_width
from obligations import render
from obligations.cli.app import App, Day, cli, format_option, pass_app, profile_option, today
from obligations.errors import UserError, not_found
from obligations.render import FreeText

# ---------------------------------------------------------------------------------------------------
# rules


@cli.group()
def rules() -> None:
    """查看职责日历中的规则（周期、适用对象、依据条款）。

    \b
    示例：
      obligations rules list
      obligations rules show organizational-life-meeting --profile wujin-2016
    """


RULE_FIELDS = ("id", "title", "kind", "cadence", "applies_to", "responsible", "source", "evidence")
RULE_HEADERS = ("编号", FreeText("名称"), "类型", FreeText("周期/期限"), FreeText("适用对象"), FreeText("责任人"),
                FreeText("依据"), FreeText("台账要求"))  # fmt: skip


@rules.command("list")
@profile_option
@format_option()
@pass_app
def rules_list(app: App, profile_id: str | None, output_format: str) -> None:
    """列出职责日历的全部规则。

    \b
    示例：
      obligations rules list
      obligations rules list --profile luoyang-2020 --format csv > 洛阳规则.csv
    """
    profile = app.profile(profile_id)
    records = [_rule_record(rule) for rule in profile.rules.values()]
    if output_format == "json":
        click.echo(render.as_json(records))
    elif output_format == "csv":
        click.echo(render.as_csv(RULE_FIELDS, records), nl=False)
    else:
        click.echo(
            f"职责日历：{profile.id}（{profile.title}），继承链：{' → '.join(profile.chain)}，共 {len(records)} 条规则"
        )
        rows = [[record[name] for name in RULE_FIELDS] for record in records]
        click.echo(render.table(RULE_HEADERS, rows))


def _rule_record(rule: Rule) -> dict[str, str]:
    return {
        "id": rule.id,
        "title": rule.title,
        "kind": rule.kind.label,
        "cadence": rule.describe_cadence(),
        "applies_to": _applies_text(rule),
        "responsible": _responsible_text(rule.responsible),
        "source": rule.source,
        "evidence": rule.describe_record(),  # 台账要求, as `rules show` and the README's table word it
    }


def _applies_text(rule: Rule) -> str:
    text = rule.applies_to.describe()
    if rule.subject.value != "org":
        text += f"（{rule.subject.label}）"
    return text


def _responsible_text(responsible: str) -> str:
    if responsible == "member":
        return "本人"
    if responsible == "parent.secretary":
        return "上级党组织书记"
    return ROLE_LABELS[Role(responsible)]


@rules.command("show")
@click.argument("rule_id")
@profile_option
@pass_app
def rules_show(app: App, rule_id: str, profile_id: str | None) -> None:
    """显示一条规则经职责日历继承链解析后的完整内容和依据条款。

    \b
    示例：
      obligations rules show term-election --profile wujin-2016
    """
    profile = app.profile(profile_id)
    rule = profile.rules.get(rule_id)
    if rule is None:
        if rule_id in profile.disabled:
            raise UserError(f"规则 {rule_id} 在职责日历 {profile.id} 中已停用：{profile.disabled[rule_id]}")
        raise not_found(f"职责日历 {profile.id} 中的规则", rule_id, profile.rules)
    lines = [
        ("编号", rule.id),
        ("名称", rule.title),
        ("类型", rule.kind.label),
        ("周期/期限", rule.describe_cadence()),
        ("适用对象", _applies_text(rule)),
        ("责任人", _responsible_text(rule.responsible)),
        ("台账要求", rule.describe_record()),
        ("提醒", _ladder_text(rule)),
        ("依据", rule.citation),
    ]
    if rule.effective_from or rule.effective_until:
        lines.append(("有效期", f"{rule.effective_from or '—'} 至 {rule.effective_until or '—'}"))
    if rule.note:
        lines.append(("说明", rule.note))
    width = max(display_width(label) for label, _ in lines)
    page = render.Page()  # a long value continues under the values, not under the labels
    page.add(*(f"{label}{' ' * (width - display_width(label))}  {value}" for label, value in lines))
    page.add("", f"职责日历 {profile.id} 的继承链：{' → '.join(profile.chain)}")
    for step in rule.provenance:
        action = "定义" if step.action == "defined" else f"修改 {', '.join(step.fields)}"
        page.add(f"  - {step.profile}：{action}（依据：{step.source}）")
    click.echo(page.text())


_RECIPIENT_NAMES = {
    "responsible": "责任人",
    "secretary": "本组织书记",
    "parent.secretary": "上级书记",
    "grandparent.secretary": "再上一级书记",
    "parent.organization": "上级组织委员",
}


def _ladder_text(rule: Rule) -> str:
    """The steps under the names the messages give them (Step.label), never the ladder's or a step's id."""
    parts = []
    for step in rule.ladder.steps:
        when = f"到期前{step.at.label}" if str(step.at).startswith("-") else f"逾期{step.at.label}"
        whom = "、".join(_RECIPIENT_NAMES[name] for name in step.notify)
        parts.append(f"{step.label}（{when}，{whom}）")
    return "；".join(parts)


@rules.command("preview")
@profile_option
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in OrgKind]),
    default="branch",
    show_default=True,
    help="组织类型。",
)
@click.option(
    "--full-members", type=click.IntRange(min=0), default=9, show_default=True, help="正式党员人数。"
)
@click.option("--has-groups", is_flag=True, help="是否设有党小组。")
@click.option("--elected-on", type=Day(), help="上次换届日期。")
@click.option("--term-years", type=click.IntRange(min=1), help="任期年数（职责日历允许时生效）。")
@click.option("--year", type=click.IntRange(min=1949, max=2200), help="预览的年份，默认今年。")
@pass_app
def rules_preview(
    app: App,
    profile_id: str | None,
    kind: str,
    full_members: int,
    has_groups: bool,
    elected_on: dt.date | None,
    term_years: int | None,
    year: int | None,
) -> None:
    """预览一个组织在某一年按职责日历应完成的全部任务（不读写数据库）。

    \b
    示例：
      obligations rules preview --profile wujin-2016 --kind branch \\
        --full-members 5 --year 2027
      obligations rules preview --kind branch --elected-on 2023-11-20 --year 2026
    """
    profile = app.profile(profile_id)
    chosen_year = year or today().year
    org = OrgFacts(
        code="preview",
        kind=OrgKind(kind),
        full_members=full_members,
        has_groups=has_groups,
        elected_on=elected_on,
        term_years=term_years,
    )
    window = Window(dt.date(chosen_year, 1, 1), dt.date(chosen_year, 12, 31))
    occurrences = expand(profile, org, window)
    calendar = app.work_calendar
    rows = []
    for occurrence in occurrences:
        rule = profile.rules[occurrence.rule]
        due = occurrence.due
        rest = "" if calendar.is_workday(due) else "（休息日）"
        rows.append(
            [
                due.isoformat() + rest,
                rule.title,
                period_label(occurrence.period),
                str(occurrence.required),
                rule.source,
            ]
        )
    click.echo(
        f"{profile.id}：{OrgKind(kind).label}，正式党员 {full_members} 人，{chosen_year} 年共 {len(rows)} 项任务"
    )
    click.echo(render.table(("期限", FreeText("职责"), FreeText("周期"), "要求", FreeText("依据")), rows))
