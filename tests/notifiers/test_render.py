"""Digest rendering: the shipped templates say what a reminder must say; user templates override and are sandboxed."""

from __future__ import annotations

import re
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from notifiers.render import TemplateFailure, check_templates, days_text, example_context, render_digest
from notifiers.sandbox import TemplateLimitError

AS_OF = date(2026, 11, 23)


def item(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "org_name": "第一党支部",
        "org_code": "jg.b1",
        "title": "支部委员会会议",
        "rule": "branch-committee-meeting",
        "period": "2026-11",
        "due": date(2026, 11, 30),
        "days_left": 7,
        "step": "upcoming",
        "clause": "《中国共产党支部工作条例（试行）》第十二条",
        "command": "obligations done 101 --on YYYY-MM-DD",
        "assignee_name": "张三",
        "fallback_note": "",
    }
    base.update(fields)
    return base


def context(*items: dict[str, Any], failures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"recipient": {"name": "张三"}, "as_of": AS_OF, "items": list(items), "failures": failures or []}


@pytest.mark.parametrize(
    ("days", "text"), [(-3, "逾期 3 天"), (0, "今天到期"), (1, "还剩 1 天"), (7, "还剩 7 天")]
)
def test_days_left_reads_as_late_today_or_remaining(days: int, text: str) -> None:
    assert days_text(days) == text


def test_every_part_says_what_for_whom_by_when_how_late_why_and_how_to_record() -> None:
    digest = render_digest(context(item()))

    assert digest.subject == "【党建提醒】第一党支部·支部委员会会议：还剩 7 天"
    for part in (digest.text, digest.html, digest.markdown):
        assert "张三" in part
        assert "支部委员会会议" in part
        assert "第一党支部" in part
        assert "2026年11月30日（周一）" in part
        assert "还剩 7 天" in part
        assert "《中国共产党支部工作条例（试行）》第十二条" in part
        assert "obligations done 101 --on YYYY-MM-DD" in part


def test_an_overdue_item_is_late_and_red() -> None:
    digest = render_digest(context(item(due=date(2026, 11, 20), days_left=-3, step="overdue")))

    assert "逾期 3 天" in digest.subject
    assert "逾期 3 天" in digest.text
    assert 'color:#b91c1c;font-weight:bold;">逾期 3 天' in digest.html
    assert '<font color="warning">逾期 3 天</font>' in digest.markdown


def test_due_today_says_so() -> None:
    digest = render_digest(context(item(due=AS_OF, days_left=0, step="final")))

    assert "今天到期" in digest.subject and "今天到期" in digest.text and "最后提醒" in digest.text


def test_a_superiors_digest_asks_to_see_the_overdue_work_done() -> None:
    overdue = item(
        org_name="第二党支部",
        title="主题党日",
        due=date(2026, 11, 10),
        days_left=-13,
        step="overdue",
        assignee_name="李四",
    )
    escalated = item(
        org_name="第三党支部",
        title="党员大会",
        due=date(2026, 11, 1),
        days_left=-22,
        step="escalated",
        assignee_name="王五",
    )
    digest = render_digest(context(overdue, escalated))

    assert digest.subject == "【督促提醒】2 项党建工作待督促，其中 2 项已逾期"
    for part in (digest.text, digest.html, digest.markdown):
        assert "以下任务已逾期，请督促" in part
        assert "李四" in part and "王五" in part  # who is responsible
        assert "提请上级党组织督办" in part  # the escalated step says why it reached this far
    assert digest.text.index("党员大会") < digest.text.index("主题党日")  # most overdue first


def test_own_work_and_work_to_supervise_are_separate_sections() -> None:
    mine = item(fallback_note="组织委员空缺，由书记代为接收")
    theirs = item(
        org_name="第二党支部", title="主题党日", assignee_name="李四", days_left=2, due=date(2026, 11, 25)
    )
    digest = render_digest(context(mine, theirs))

    assert digest.subject == "【党建提醒】1 项党建工作待办理，另有 1 项待督促"
    assert "一、需要您办理的工作" in digest.text
    assert "二、以下任务即将到期，请督促负责人按时办理并登记" in digest.text
    assert "说明：组织委员空缺，由书记代为接收" in digest.text
    assert "组织委员空缺，由书记代为接收" in digest.html and "组织委员空缺，由书记代为接收" in digest.markdown


def test_the_role_given_by_the_application_wins_over_name_matching() -> None:
    namesake = item(assignee_name="张三", role="supervisor")  # another 张三: common names are common
    digest = render_digest(context(namesake))

    assert digest.subject.startswith("【督促提醒】")


def test_failed_deliveries_are_reported_in_every_part() -> None:
    failures = [
        {
            "recipient_name": "王五",
            "channel": "email",
            "reason": "收件人被拒绝（SMTP 550 5.1.1 Mailbox unavailable）",
            "title": "党员大会",
            "org_name": "第三党支部",
        }
    ]
    digest = render_digest(context(failures=failures))

    assert digest.subject == "【党建提醒】1 条提醒未能送达"
    for part in (digest.text, digest.html, digest.markdown):
        assert "以下提醒未能送达" in part
        assert "王五" in part and "党员大会" in part and "邮件" in part and "SMTP 550" in part


def test_a_failed_message_sent_in_parts_says_how_many_and_which_failed_in_every_part() -> None:
    refused = {
        "recipient_name": "陈静",
        "channel": "wecom",
        "reason": "userid 全部无效",
        "title": "<b>党费</b>",
    }
    failures = [
        {**refused, "parts": 3, "failed_parts": [1, 2, 3]},
        {**refused, "recipient_name": "林娜", "parts": 3, "failed_parts": [2, 3]},
        {**refused, "recipient_name": "郑凯"},  # sent whole
    ]
    digest = render_digest(context(failures=failures))

    assert digest.subject == "【党建提醒】3 条提醒未能送达"
    assert [line for line in digest.text.splitlines() if "党费" in line] == [
        "- 陈静，「<b>党费</b>」（共 3 部分），企业微信：userid 全部无效",
        "- 林娜，「<b>党费</b>」（第 2、3 部分，共 3 部分），企业微信：userid 全部无效",
        "- 郑凯，「<b>党费</b>」，企业微信：userid 全部无效",
    ]
    assert [line for line in digest.markdown.splitlines() if "党费" in line] == [
        "> 陈静「＜b＞党费＜/b＞」（共 3 部分）",
        "> 林娜「＜b＞党费＜/b＞」（第 2、3 部分，共 3 部分）",
        "> 郑凯「＜b＞党费＜/b＞」",
    ]
    assert re.findall(r">([^<]*党费[^<]*)<", digest.html) == [
        "&lt;b&gt;党费&lt;/b&gt;（共 3 部分）",
        "&lt;b&gt;党费&lt;/b&gt;（第 2、3 部分，共 3 部分）",
        "&lt;b&gt;党费&lt;/b&gt;",
    ]


def test_html_escapes_user_text_and_text_keeps_it() -> None:
    digest = render_digest(context(item(title="<script>alert(1)</script> & 学习", org_name='"引号"支部')))

    assert "<script>" not in digest.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 学习" in digest.html
    assert "&#34;引号&#34;支部" in digest.html
    assert "<script>alert(1)</script> & 学习" in digest.text


def test_the_html_is_a_complete_utf8_document() -> None:
    html = render_digest(example_context(AS_OF)).html

    assert html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in html
    assert "<title>【党建提醒】1 项党建工作待办理，另有 1 项待督促</title>" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # Styles are inline (mail clients drop or rewrite <style>); the one <style> only stacks the tables on phones.
    [style] = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert re.fullmatch(r"\s*@media \(max-width:480px\) \{[^{}]*(\{[^{}]*\}[^{}]*)*\}\s*", style)
    assert "<table" in html and 'style="width:100%;' in html
    # Fluid: no element wider than a phone by itself (Outlook for Windows' conditional table aside).
    outside_outlook = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html)
    assert set(re.findall(r'width="([^"]*)"', outside_outlook)) == {"100%"}
    assert not re.search(r"(?<!max-)width:\s*\d+px", outside_outlook)


def test_a_template_in_the_user_folder_overrides_that_part_only(tmp_path: Path) -> None:
    (tmp_path / "reminder.subject.j2").write_text(
        "【{{ recipient.name }}】{{ items|length }} 项：{% for i in items %}{{ i.title }}{{ i.days_text }} {% endfor %}",
        encoding="utf-8",
    )
    digest = render_digest(context(item()), user_folder=tmp_path)

    assert digest.subject == "【张三】1 项：支部委员会会议还剩 7 天"
    assert digest.text == render_digest(context(item())).text


def test_a_user_template_can_replace_just_the_failure_section(tmp_path: Path) -> None:
    (tmp_path / "failure.text.j2").write_text("送达失败：{{ failures|length }} 条\n", encoding="utf-8")
    failure = {"recipient_name": "王五", "channel": "wecom", "reason": "x", "title": "t", "org_name": "o"}

    digest = render_digest(context(item(), failures=[failure]), user_folder=tmp_path)

    assert "二、送达失败：1 条" in digest.text
    assert "以下提醒未能送达" in digest.html  # the HTML section is still the shipped one


@pytest.mark.parametrize(
    "body",
    [
        "{{ ().__class__.__mro__[1].__subclasses__() }}",
        "{{ recipient.__class__.__init__.__globals__ }}",
        "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
        "{{ items.append(1) }}",  # the sandbox is immutable: a template cannot change its context
    ],
)
def test_a_malicious_user_template_is_stopped_by_the_sandbox(tmp_path: Path, body: str) -> None:
    (tmp_path / "reminder.text.j2").write_text(body, encoding="utf-8")

    with pytest.raises(TemplateFailure) as failure:
        render_digest(context(item()), user_folder=tmp_path)

    assert isinstance(failure.value.__cause__, SecurityError)
    assert failure.value.template == "reminder.text.j2:1"


def test_a_misspelt_name_fails_loudly_instead_of_leaving_a_hole(tmp_path: Path) -> None:
    (tmp_path / "reminder.text.j2").write_text("{{ recipient.nmae }}", encoding="utf-8")

    with pytest.raises(TemplateFailure) as failure:
        render_digest(context(item()), user_folder=tmp_path)

    assert isinstance(failure.value.__cause__, UndefinedError)
    assert "模板引用了不存在的变量、属性或函数" in str(failure.value)
    assert "UndefinedError" not in str(failure.value)


def test_check_templates_lists_the_broken_user_templates(tmp_path: Path) -> None:
    assert check_templates(tmp_path, AS_OF) == []
    (tmp_path / "reminder.html.j2").write_text("{% if %}", encoding="utf-8")
    (tmp_path / "reminder.wecom.md.j2").write_text("{{ nothing }}", encoding="utf-8")

    problems = check_templates(tmp_path, AS_OF)

    assert len(problems) == 2
    assert "reminder.html.j2" in problems[0] and "模板语法错误" in problems[0]
    assert (
        "reminder.wecom.md.j2" in problems[1] and "nothing" in problems[1] and "不存在的变量" in problems[1]
    )


def test_a_context_without_the_facts_is_refused() -> None:
    with pytest.raises(ValueError, match="due"):
        render_digest(context(item(due=None)))
    with pytest.raises(ValueError, match="recipient"):
        render_digest({"as_of": AS_OF, "items": []})


def test_days_left_defaults_to_the_distance_from_as_of() -> None:
    fields = item(due=AS_OF - timedelta(days=5))
    del fields["days_left"]

    assert "逾期 5 天" in render_digest(context(fields)).text


def test_the_context_given_is_not_changed() -> None:
    original = context(item())
    snapshot = repr(original)
    render_digest(original)

    assert repr(original) == snapshot


def test_a_capped_digest_counts_what_it_does_not_list_in_every_part() -> None:
    digest = context(item(role="supervisor", assignee_name="李四"))
    digest["omitted"] = {
        "own": 0,
        "own_overdue": 0,
        "supervised": 120,
        "supervised_overdue": 45,
        "command": "obligations due --org jg",
    }
    rendered = render_digest(digest)

    assert "有 121 项需要您督促（其中 45 项已逾期）" in rendered.text
    assert "另有 120 项（其中 45 项已逾期）未逐项列出" in rendered.text
    assert "obligations due --org jg" in rendered.text
    assert "121 项党建工作待督促，其中 45 项已逾期" in rendered.subject
    assert (
        "<strong>120</strong> 项" in rendered.html
        and "<code>obligations due --org jg</code>" in rendered.html
    )
    assert "另有 **120** 项" in rendered.markdown and "共 121 项" in rendered.markdown


def test_a_digest_that_lists_everything_says_nothing_of_omissions() -> None:
    rendered = render_digest(context(item()))
    for part in (rendered.text, rendered.html, rendered.markdown):
        assert "未逐项列出" not in part and "另有" not in part


@pytest.mark.parametrize(
    "omitted",
    [{"supervised": -1}, {"supervised": 2, "supervised_overdue": 3}, {"own": 1, "own_overdue": 2}],
)
def test_impossible_omitted_counts_are_refused(omitted: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="omitted"):
        render_digest({**context(item()), "omitted": omitted})


# A user template is bounded in work, output and nesting: it fails its digest, it never hangs or fills memory.

UNBOUNDED_TEMPLATES = {
    "a loop of a billion turns": "{% for i in range(10**9) %}x{% endfor %}",
    "nested loops of 10^10 turns writing nothing": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    ),
    "loops over the items nested to a billion turns": (
        "{% set n = range(1000)|list %}{% for a in n %}{% for b in n %}{% for c in n %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    ),
    "a gigabyte string": "{{ 'x' * 10**9 }}",
    "a gigabyte list": "{{ ([1] * 10**9)|length }}",
    "a gigabyte from a filter": "{{ 'x'|center(10**9) }}",
    "a gigabyte from a %-format width": "{{ '%0999999999d'|format(1) }}",
    "a gigabyte from a %-format precision": "{{ '%.999999999f' % 1 }}",
    "a gigabyte from a {}-format width": "{{ '{:>999999999}'.format(1) }}",
    "a gigabyte from join": "{{ range(100000)|join('x' * 999999) }}",
    "a gigabyte from join over an iterator": "{{ range(100000)|map('string')|join('x' * 999999) }}",
    "a gigabyte from a method": "{{ ('x' * 999999).replace('x', 'yyyy') }}{{ 'x'.center(10**9) }}",
    "a gigabyte from a separator's join": "{{ ('x' * 999999).join(range(100000)|map('string')) }}",
    "a search through a long text in a long loop": (
        "{% set text = 'x' * 999999 %}{% for i in range(100000) %}{% if 'yz' in text %}{% endif %}{% endfor %}"
    ),
    "slices of a long text in a long loop": (
        "{% set text = 'x' * 999999 %}{% for i in range(100000) %}{% if text[1:] %}{% endif %}{% endfor %}"
    ),
    "a string doubled forty times": (
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        "{{ ns.s|length }}"
    ),
    "an exponential sum": "{{ 7 ** (10**9) }}",
    "a recursive macro": "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
    "a branching macro": (
        "{% macro twice(n) %}{% if n %}{{ twice(n - 1) }}{{ twice(n - 1) }}{% endif %}{% endmacro %}"
        "{{ twice(35) }}"
    ),
    "a template including itself": '{% include "reminder.text.j2" %}',
    "ten megabytes of output": "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
}


@pytest.mark.parametrize("body", UNBOUNDED_TEMPLATES.values(), ids=UNBOUNDED_TEMPLATES.keys())
def test_a_user_template_that_would_not_end_fails_with_a_chinese_reason(tmp_path: Path, body: str) -> None:
    (tmp_path / "reminder.text.j2").write_text(body, encoding="utf-8")

    measured = "macro" not in body  # tracing slows a hundred thousand macro calls tenfold
    if measured:
        tracemalloc.start()
    try:
        with pytest.raises(TemplateFailure) as failure:
            render_digest(context(item()), user_folder=tmp_path)
        _, peak = tracemalloc.get_traced_memory() if measured else (0, 0)
    finally:
        tracemalloc.stop()

    assert peak < 64 * 2**20  # what is refused is refused before it is built
    assert failure.value.template.startswith("reminder.text.j2")
    assert isinstance(failure.value.__cause__, (TemplateLimitError, OverflowError))
    assert (
        "上限" in failure.value.reason
        or "过" in failure.value.reason
        or "Range too big" in failure.value.reason
    )


def test_bounds_leave_room_for_a_full_digest_in_user_templates(tmp_path: Path) -> None:
    # Copies of the shipped templates as user templates: fifty items and their failures render as before.
    shipped = Path(__file__).parents[2] / "notifiers" / "templates"
    for template in shipped.iterdir():
        (tmp_path / template.name).write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    items = [item(title=f"事项{n}", due=AS_OF + timedelta(days=n - 10), days_left=n - 10) for n in range(50)]
    failure = {"recipient_name": "王五", "channel": "email", "reason": "x", "title": "t", "org_name": "o"}
    digest = context(*items, failures=[failure] * 20)

    assert render_digest(digest, user_folder=tmp_path) == render_digest(digest)


def test_a_user_template_failing_only_on_some_data_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "reminder.text.j2").write_text(
        "{% for i in items %}\n{{ i.title }}：{{ 100 // i.days_left }}\n{% endfor %}\n", encoding="utf-8"
    )
    assert render_digest(context(item(days_left=7)), user_folder=tmp_path).text == "支部委员会会议：14\n"

    with pytest.raises(TemplateFailure) as failure:
        render_digest(context(item(days_left=0, due=AS_OF)), user_folder=tmp_path)

    assert failure.value.template == "reminder.text.j2:2"
    assert "ZeroDivisionError" in str(failure.value) and "消息模板" in str(failure.value)


def test_check_templates_refuses_a_template_that_exceeds_a_bound(tmp_path: Path) -> None:
    (tmp_path / "reminder.subject.j2").write_text("{{ 'x' * 10**9 }}", encoding="utf-8")

    [problem] = check_templates(tmp_path, AS_OF)

    assert problem.startswith("reminder.subject.j2:1: ") and "上限" in problem


# Names, topics and places come from people outside the server: shown as written, never as markup.


def test_markup_in_names_renders_literally_in_wecom_markdown() -> None:
    hostile = item(
        org_name='<font color="warning">紧急</font>支部',
        title="[点我](http://evil.example)",
        assignee_name="**王五**",
        clause="`code` _强调_ ~删除~",
        fallback_note="说明\n# 标题\n> 引用",
        role="supervisor",
    )
    failure = {
        "recipient_name": "[赵六](http://evil)",
        "channel": "email",
        "reason": "550 <x@y>",
        "title": "t",
    }

    markdown = render_digest(context(hostile, failures=[failure])).markdown

    assert '＜font color="warning"＞紧急＜/font＞支部' in markdown
    assert "［点我］(http://evil.example)" in markdown and "［赵六］(http://evil)" in markdown
    assert "＊＊王五＊＊" in markdown and "｀code｀ ＿强调＿ ～删除～" in markdown
    assert "说明 ＃ 标题 ＞ 引用" in markdown  # a line break cannot open a heading or a quote
    assert "550 ＜x@y＞" in markdown
    assert "](http" not in markdown.replace("］(http", "")
    assert '<font color="warning">紧急' not in markdown and "\n# " not in markdown


def test_control_characters_in_names_reach_no_template(tmp_path: Path) -> None:
    named = item(org_name="第一\x1b[2J党支部\x07", title="会议\r\n标题", assignee_name="张三")
    digest = render_digest({**context(named), "recipient": {"name": "张三\x00"}})

    for part in (digest.subject, digest.text, digest.html, digest.markdown):
        assert "\x1b" not in part and "\x07" not in part and "\x00" not in part and "\r" not in part
    assert "第一�[2J党支部�" in digest.text and "会议 标题" in digest.text


def test_a_user_html_template_is_autoescaped_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "reminder.html.j2").write_text("<p>{{ items[0].title }}</p>", encoding="utf-8")

    html = render_digest(context(item(title="<script>alert(1)</script>")), user_folder=tmp_path).html

    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"


def test_a_user_template_cannot_generate_filler_text(tmp_path: Path) -> None:
    (tmp_path / "reminder.text.j2").write_text("{{ lipsum(10**9) }}", encoding="utf-8")

    with pytest.raises(TemplateFailure) as failure:
        render_digest(context(item()), user_folder=tmp_path)

    assert isinstance(failure.value.__cause__, UndefinedError)


@pytest.mark.parametrize("step", ["early", "six-months", "three-months", "one-month", "final", "escalated"])
def test_every_shipped_step_reads_in_chinese_in_every_part(step: str) -> None:
    """Issue 10 §6: no 〔early〕 in a quarterly or yearly item: every step of the shipped ladders has a Chinese name."""
    digest = render_digest(context(item(step=step, due=date(2026, 12, 31), days_left=38)))
    for part in (digest.text, digest.html, digest.markdown):
        assert step not in part
    assert not re.search(r"〔[A-Za-z-]+〕", digest.text + digest.markdown)


def test_a_local_steps_label_comes_with_its_item() -> None:
    digest = render_digest(context(item(step="nudge", step_label="到期前10天提醒", days_left=10)))
    assert "〔到期前10天提醒〕" in digest.text and "nudge" not in digest.text


def test_items_are_ordered_by_urgency_then_terms_and_vacancies_first() -> None:
    later_routine = item(title="主题党日", due=date(2026, 11, 30), days_left=7)
    later_term = item(title="按期换届", due=date(2026, 12, 20), days_left=27, step="one-month", standing=True)
    overdue_routine = item(title="党小组会", due=date(2026, 10, 31), days_left=-23, step="overdue")
    overdue_vacancy = item(
        title="空缺补齐", due=date(2026, 11, 1), days_left=-22, step="overdue", standing=True
    )
    digest = render_digest(context(later_routine, later_term, overdue_routine, overdue_vacancy))
    order = re.findall(r"^\d+\. 【第一党支部】(\S+?)（", digest.text, flags=re.MULTILINE)
    assert order == ["空缺补齐", "党小组会", "按期换届", "主题党日"]
