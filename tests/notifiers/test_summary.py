"""An organization's summary for its group robot: what is due and overdue, who answers, mentions by userid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from calendars.text import wecom_userid_problem
from notifiers.render import check_templates, example_summary, render_summary
from notifiers.wecom import ROBOT_KIND, ROBOT_MARKDOWN_LIMIT, ROBOT_TEXT_LIMIT

AS_OF = dt.date(2026, 11, 23)


def summary(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"org": {"name": "第一党支部", "code": "jg.b1"}, "as_of": AS_OF, "items": list(items), **extra}


def item(title: str, days: int, name: str, mention: str = "") -> dict[str, Any]:
    return {
        "title": title,
        "period": "2026-11",
        "due": AS_OF + dt.timedelta(days=days),
        "step": "overdue" if days < 0 else "upcoming",
        "responsible_name": name,
        "mention": mention,
    }


def test_a_summary_lists_overdue_first_and_mentions_who_has_a_userid_else_names_them() -> None:
    rendered = render_summary(
        summary(item("支部委员会会议", 7, "张三", "zhangsan"), item("主题党日", -3, "李四"))
    )

    markdown = rendered.markdown
    assert markdown.index("主题党日") < markdown.index("支部委员会会议")
    assert '<font color="warning">逾期 3 天</font>' in markdown
    assert "负责人：李四" in markdown and "负责人：<@zhangsan>" in markdown
    assert "<@" not in rendered.text and "负责人：张三" in rendered.text and "逾期 3 天" in rendered.text
    assert rendered.subject == "【党建提醒】第一党支部：2 项工作待办（1 项逾期）"


def test_names_titles_and_userids_from_the_store_never_become_markup() -> None:
    rendered = render_summary(
        summary(
            item('<font color="info">会议</font>', 1, "**王五**", 'x><font color="info">'),
            item("[点我](http://evil)", 2, "赵六", "zhao liu"),
            org={"name": "## 第一`党支部`", "code": "jg.b1"},
        )
    )

    markdown = rendered.markdown
    assert '<font color="info">会议' not in markdown and '＜font color="info"＞会议' in markdown
    assert "[点我](http://evil)" not in markdown and "［点我］(http://evil)" in markdown
    assert "负责人：＊＊王五＊＊" in markdown and "负责人：赵六" in markdown  # no userid: the name, literally
    assert "<@" not in markdown
    assert markdown.startswith("## ＃＃ 第一｀党支部｀ · 党建工作提醒")


def test_only_a_userid_by_wecoms_rule_is_mentioned_the_same_rule_the_registry_checks() -> None:
    """WeCom's userid starts with a letter or a digit: `-x` and `_x` pass no import, and are not mentioned."""
    mentions = ["zhangsan", "_lisi", "-wangwu", "1zhaoliu"]
    rendered = render_summary(
        summary(*(item(f"工作{index}", index + 1, f"负责人{index}", m) for index, m in enumerate(mentions)))
    )

    shown = [m for m in mentions if f"<@{m}>" in rendered.markdown]
    assert shown == [m for m in mentions if wecom_userid_problem(m) is None] == ["zhangsan", "1zhaoliu"]


def test_a_capped_summary_counts_what_it_does_not_list_and_names_the_command() -> None:
    rendered = render_summary(
        summary(
            item("主题党日", -3, "李四"),
            omitted={"count": 4, "overdue_count": 2, "command": "obligations due --org jg.b1"},
        )
    )

    assert '本组织有 **5** 项工作待办，其中 <font color="warning">3 项已逾期</font>' in rendered.markdown
    assert (
        "另有 **4** 项未逐项列出" in rendered.markdown
        and "`obligations due --org jg.b1`" in rendered.markdown
    )


def test_a_folder_of_user_templates_may_replace_the_robot_summary_and_is_checked(tmp_path: Path) -> None:
    (tmp_path / "reminder.robot.md.j2").write_text("{{ org.name|md }}：{{ count }} 项", encoding="utf-8")
    assert render_summary(example_summary(AS_OF), user_folder=tmp_path).markdown == "第一党支部：4 项\n"
    (tmp_path / "reminder.robot.text.j2").write_text("{{ org.nmae }}", encoding="utf-8")
    assert [problem.split(":")[0] for problem in check_templates(tmp_path, AS_OF)] == [
        "reminder.robot.text.j2"
    ]


def test_a_summary_too_long_for_one_robot_message_goes_in_numbered_parts_cut_between_items() -> None:
    titles = [f"第{number}项·支部委员会会议" for number in range(1, 61)]
    rendered = render_summary(
        summary(*(item(title, number % 9 - 4, "张三", "zhangsan") for number, title in enumerate(titles)))
    )

    parts = rendered.parts(ROBOT_KIND)

    assert len(parts) > 1
    for number, part in enumerate(parts, start=1):
        assert len(part.markdown.encode("utf-8")) <= ROBOT_MARKDOWN_LIMIT
        assert len(part.text.encode("utf-8")) <= ROBOT_TEXT_LIMIT
        assert part.markdown.startswith(f"## 第一党支部 · 党建工作提醒（{number}/{len(parts)}）\n")
        assert part.subject.endswith(f"（{number}/{len(parts)}）")
        assert part.markdown.count("<font") == part.markdown.count("</font>")
        assert "\x1f" not in part.markdown + part.text  # no block mark is ever sent
        # Each part's text holds the same items as its markdown.
        assert [t for t in titles if f"**{t}**" in part.markdown] == [
            t for t in titles if f". {t}" in part.text
        ]
    carried = [title for part in parts for title in titles if f"**{title}**" in part.markdown]
    assert sorted(carried) == sorted(titles)  # every item exactly once
    [whole] = render_summary(summary(item("主题党日", -3, "李四"))).parts(ROBOT_KIND)
    assert whole.markdown.startswith("## 第一党支部 · 党建工作提醒\n") and "（1/1）" not in whole.subject
