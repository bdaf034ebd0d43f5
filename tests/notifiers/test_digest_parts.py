"""A digest too long for a channel becomes numbered parts that each read on their own; email stays whole;
a message mentions another channel only when the person has it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from notifiers.email import KIND as EMAIL
from notifiers.render import check_templates, render_digest
from notifiers.split import size
from notifiers.wecom import APP_KIND, APP_MARKDOWN_LIMIT, APP_TEXT_LIMIT
from tests.notifiers.servers import fonts_balanced
from tests.notifiers.test_render import AS_OF, context, item

LONG_ORG = "中共某某市某某区直属机关工作委员会所属机关党委下设第{}联合党支部"
DESK = "https://dangjian.example.org"


def long_digest(count: int = 12, **extra: Any) -> dict[str, Any]:
    items = [
        item(
            org_name=LONG_ORG.format(n),
            org_code=f"jg.b{n}",
            title="支部委员会会议" if n % 2 else "主题党日",
            due=date(2026, 11, 1) + timedelta(days=n),
            days_left=n - 22,
            link=f"{DESK}/l/token-{n:02d}-" + "x" * 40,
            role="supervisor" if n % 3 == 0 else "responsible",
            assignee_name="李四" if n % 3 == 0 else "张三",
        )
        for n in range(count)
    ]
    digest = context(*items, failures=[
        {"recipient_name": "王五", "channel": "email", "reason": "SMTP 550", "title": "党员大会", "org_name": "第三党支部"}
    ])  # fmt: skip
    digest.update(desk_url=f"{DESK}/", **extra)
    return digest


def test_a_long_digest_is_cut_between_items_into_numbered_parts_within_wecoms_limits() -> None:
    digest = render_digest(long_digest())
    assert size(digest.markdown) > APP_MARKDOWN_LIMIT  # the case the issue saw cut after 3½ items
    parts = digest.parts(APP_KIND)
    count = len(parts)
    assert count > 2
    for number, part in enumerate(parts, start=1):
        assert (part.number, part.count) == (number, count)
        assert size(part.markdown) <= APP_MARKDOWN_LIMIT and size(part.text) <= APP_TEXT_LIMIT
        assert part.markdown.startswith(f"## 党建工作提醒（{number}/{count}）\n") and fonts_balanced(
            part.markdown
        )
        assert part.text.startswith(f"张三同志（{number}/{count}）：\n")
        assert part.subject == f"{digest.subject}（{number}/{count}）"
    for n in range(12):  # every item whole in exactly one part, in the markdown and in the text alike
        link = f"{DESK}/l/token-{n:02d}-" + "x" * 40
        holding = [part.number for part in parts if link in part.markdown]
        assert len(holding) == 1 and [part.number for part in parts if link in part.text] == holding
        assert sum(LONG_ORG.format(n) + " · " in part.markdown for part in parts) == 1
    assert "王五" in parts[-1].markdown and "王五" in parts[-1].text


def test_a_part_that_starts_inside_a_section_opens_with_that_sections_heading() -> None:
    digest = render_digest(long_digest())
    blocks = digest.markdown.split("\n\n")
    heading_of: dict[str, str] = {}  # each block of the whole markdown -> the heading of its section
    heading = ""
    for block in blocks:
        if block.startswith("**") and block.endswith("**"):
            heading = block
        heading_of[block] = heading
    parts = digest.parts(APP_KIND)
    repeated = []
    for part in parts[1:]:
        title, opening, first, *_ = part.markdown.split("\n\n")
        assert title == f"## 党建工作提醒（{part.number}/{part.count}）"
        assert heading_of[first] == opening  # the heading of the section the part's first item is in
        if blocks[blocks.index(first) - 1] != opening:  # cut inside the section: its heading is repeated
            assert opening in parts[part.number - 2].markdown
            repeated.append(part.number)
    assert repeated  # long_digest is cut inside a section at least once
    headings = set(heading_of.values()) - {""}
    # Each heading once where its section starts, and once more in each part that repeats it: nowhere else.
    assert sum(part.markdown.count(heading) for part in parts for heading in headings) == len(headings) + len(
        repeated
    )


def test_each_part_ends_with_one_newline_even_when_cut_after_a_blank_line(tmp_path: Path) -> None:
    (tmp_path / "reminder.text.j2").write_text(
        "{{ recipient.name }}同志：\n" + "甲" * 500 + "\n\n" + "乙" * 500 + "\n", encoding="utf-8"
    )
    parts = render_digest(context(item()), user_folder=tmp_path).parts(APP_KIND)
    assert len(parts) == 2 and parts[0].text.endswith("甲\n")  # cut at the blank line, which it does not keep
    for part in parts:
        assert part.text.endswith("\n") and not part.text.endswith("\n\n")
        assert part.markdown.endswith("\n") and not part.markdown.endswith("\n\n")


def test_the_card_goes_with_part_one_and_says_that_the_digest_follows() -> None:
    digest = render_digest(long_digest())
    assert digest.card is not None
    parts = digest.parts(APP_KIND)
    assert parts[0].card is not None and parts[0].card.more
    assert all(part.card is None and part.html is None for part in parts[1:])


def test_email_has_no_limit_and_stays_one_message() -> None:
    digest = render_digest(long_digest(40))
    (whole,) = digest.parts(EMAIL)
    assert (whole.number, whole.count, whole.subject) == (1, 1, digest.subject)
    assert (whole.text, whole.html, whole.markdown) == (digest.text, digest.html, digest.markdown)
    assert "\x02" not in digest.text + digest.html + digest.markdown + digest.subject


def test_a_digest_that_fits_is_one_unnumbered_message() -> None:
    digest = render_digest(context(item()))
    (only,) = digest.parts(APP_KIND)
    assert only.count == 1 and only.markdown == digest.markdown and "（1/1）" not in only.markdown


def test_the_mailbox_is_mentioned_only_to_a_person_reached_by_email() -> None:
    without = render_digest(context(item()))
    reached = render_digest({**context(item()), "reachable": {"email": True, "wecom": True}})
    assert "邮件" not in without.markdown and "邮箱" not in without.markdown
    assert "本提醒已同时发送至您的邮箱" in reached.markdown
    assert "邮箱" not in reached.text  # the text is the email's own plain part: no mention of itself


def test_the_desk_is_named_only_when_it_has_a_public_address() -> None:
    capped = {"own": 5, "own_overdue": 0, "supervised": 0, "supervised_overdue": 0}
    without = render_digest({**context(item()), "omitted": capped})
    with_desk = render_digest(
        {**context(item(link=f"{DESK}/l/t")), "omitted": capped, "desk_url": f"{DESK}/"}
    )
    for body in (without.text, without.markdown, without.html):
        assert "工作台" not in body and "我的待办" not in body and DESK not in body
    assert "我的待办" in with_desk.markdown and f"{DESK}/" in with_desk.text


def test_a_user_template_without_marks_is_still_sent_in_parts_cut_between_lines(tmp_path: Path) -> None:
    (tmp_path / "reminder.wecom.md.j2").write_text(
        '# 提醒\n{% for item in items %}> {{ item.org_name|md }}：<font color="warning">{{ item.days_text }}</font>\n{% endfor %}',
        encoding="utf-8",
    )
    assert check_templates(tmp_path, AS_OF) == []
    digest = render_digest(long_digest(120), user_folder=tmp_path)
    parts = digest.parts(APP_KIND)
    assert len(parts) > 1
    lines = [line for part in parts for line in part.markdown.splitlines()[1:] if line.startswith(">")]
    assert lines == [line for line in digest.markdown.splitlines() if line.startswith(">")]  # none cut
    for number, part in enumerate(parts, start=1):
        assert part.markdown.startswith(f"# 提醒（{number}/{len(parts)}）")
        assert size(part.markdown) <= APP_MARKDOWN_LIMIT and fonts_balanced(part.markdown)


def test_a_subject_too_long_for_its_column_is_cut_before_its_part_number(tmp_path: Path) -> None:
    # 400 characters, the outbox keeps 300
    (tmp_path / "reminder.subject.j2").write_text("{{ '很长的标题' * 80 }}", encoding="utf-8")
    digest = render_digest(long_digest(), user_folder=tmp_path)
    parts = digest.parts(APP_KIND)
    count = len(parts)
    assert count > 1
    for number, part in enumerate(parts, start=1):
        suffix = f"（{number}/{count}）"
        assert part.subject_within(300) == digest.subject[: 300 - len(suffix) - 1] + "…" + suffix
    (whole,) = digest.parts(EMAIL)
    assert whole.subject_within(300) == digest.subject[:299] + "…"
    assert whole.subject_within(400) == whole.subject == "很长的标题" * 80  # it fits: as it is
