"""One helper renders a digest — every reminder for one recipient in one sweep — into each channel's format.

Templates are files named `reminder.<part>.j2` (subject, text, html, wecom.md), which include `failure.<part>.j2`
for the section that reports deliveries that failed. A folder named in the configuration may hold any of them;
a file there replaces the shipped one of the same name. When such a folder is configured, every template renders
in Jinja2's immutable sandbox (user templates are written by people who are not the operators), bounded in
work, output and nesting (notifiers/sandbox.py); the shipped templates alone are trusted and render without it.
A user template that fails on a digest — raises, or exceeds a bound — raises TemplateFailure, which names the
template and says why in Chinese: the caller fails that digest only. HTML with autoescaping, and with
StrictUndefined so that a misspelt name fails loudly instead of leaving a hole in a reminder.

The context (a Mapping; dates are `datetime.date`; every string in recipient, items and failures is made one
line, its control characters shown as �, before any template sees it):

    recipient: {name}
    as_of:     the date of the sweep
    items:     [{org_name, org_code, title, rule, period, due, days_left (negative: overdue), step
                 ("early" | "upcoming" | "final" | "overdue" | "escalated" | "six-months" | "three-months" |
                 "one-month", or a local ladder's), step_label (optional: the step's Chinese name; by default
                 the shipped step's), standing (optional: a term or a vacancy, a standing obligation), clause,
                 command, link (optional: the signed desk link of this task for this recipient; shown instead
                 of the command), assignee_name, fallback_note, role ("responsible" | "supervisor", optional:
                 by default "responsible" when assignee_name is the recipient's name)}]
    desk_url:  optional, the desk's 我的待办 (`{public_url}/`) when the desk has a public address
    reachable: optional, {email, wecom}: whether this person is reached on that channel too (a message
               mentions another channel only when the person has it; `reachable.desk` is `desk_url` given)
    failures:  [{recipient_name, channel, reason, title, org_name, parts (optional: how many parts the failed
                 message was sent in; 1), failed_parts (optional: the numbers of those that failed; all)}]
    omitted:   optional, for a digest capped at a number of items: {own, own_overdue, supervised,
               supervised_overdue, command} — what is owed but not listed, and the command that lists it all

Templates see `mark`: `mark.section`, `mark.item` and `mark.note` start a block, `mark.number` is where a part's
number （2/3） goes (notifiers/split.py). A digest too long for a channel is sent in parts cut only where a mark
is; the text and the markdown templates should write the same marks in the same order (a block may be empty),
so that their parts match. No mark reaches a message; a template without marks is cut between lines.

Templates also see what is derived here: each item's `due_text`, `days_text`, `step_label`, `urgency`
("overdue" | "today" | "soon" | "later") and `overdue`; `own_items` (to do) and `supervised_items` (to see
done), each ordered by urgency (overdue, due today, soon, later), then kind (terms and vacancies first),
then due date; `own_count` and `supervised_count` (listed and omitted); `omitted` with its
`count`, `overdue_count` and `command` (zero and "obligations due" when nothing is omitted); each failure's
`channel_label` and `parts_text` (`共 3 部分`, `第 2 部分，共 3 部分`; empty for a message sent whole); `overdue_count`, `own_overdue_count`, `supervised_overdue_count`,
`as_of_text`; and filters `cn_date`, `days_text`, `step_label`, `channel_label`, and `md`, which every
value from the store passes through in WeCom markdown so that a name like `<font color="warning">`,
`[点我](http://evil)` or `**` shows as written (the HTML is autoescaped; text and subject are plain).

An organization's summary for its group robot (`render_summary`: `reminder.robot.md.j2`, `reminder.robot.text.j2`)
has its own context — org: {name, code}; as_of; items: [{title, period, due, step, step_label (optional),
responsible_name, mention (the responsible person's WeCom userid, or "")}]; omitted (optional): {count,
overdue_count, command} — and sees the same derived item values and filters, `count`, `overdue_count` and
`subject`. A `mention` that is not a WeCom userid (calendars.text.WECOM_USERID) is dropped: the name is shown.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2

from calendars.model import step_label as ladder_step_label
from calendars.text import shown, wecom_userid_problem
from notifiers import sandbox, split, table
from notifiers.base import CARD_DESCRIPTION_LIMIT, CARD_TITLE_LIMIT, CARD_URL_LIMIT, ChannelKind, TextCard

PARTS = ("subject", "text", "html", "wecom.md")
ELLIPSIS = "…"
WEEKDAYS = "一二三四五六日"
SOON_DAYS = 3  # due within this many days: shown as urgent

_ITEM_REQUIRED = ("org_name", "title", "due")
_ITEM_DEFAULTS: dict[str, Any] = {
    "org_code": "",
    "rule": "",
    "period": "",
    "step": "",
    "clause": "",
    "command": "",
    "assignee_name": "",
    "fallback_note": "",
    "link": "",
    "step_label": "",
    "standing": False,
}
_FAILURE_DEFAULTS = {"recipient_name": "", "channel": "", "reason": "", "title": "", "org_name": ""}


@dataclass(frozen=True)
class MessagePart:
    """One message of a digest or a summary as a channel sends it: the whole, or part `number` of `count`."""

    number: int
    count: int
    subject: str  # numbered (…（2/3）) when the message is sent in parts
    text: str
    markdown: str
    html: str | None = None  # a digest's whole HTML, with part 1 (no channel that splits sends HTML)
    card: TextCard | None = None  # a digest's WeCom card, with part 1

    def subject_within(self, chars: int) -> str:
        """The subject in at most `chars` characters (the width of the column that stores it): cut on a
        character boundary and marked with …, the part's number kept at the end."""
        if len(self.subject) <= chars:
            return self.subject
        suffix = _number(self.number, self.count) if self.count > 1 else ""
        return self.subject[: max(0, chars - len(suffix) - len(ELLIPSIS))] + ELLIPSIS + suffix


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    markdown: str
    card: TextCard | None = None  # the WeCom application message's card, when the items carry desk links
    # The text and the markdown cut into blocks on the templates' marks (notifiers/split.py), for `parts`.
    text_blocks: tuple[split.Block, ...] = ()
    markdown_blocks: tuple[split.Block, ...] = ()

    def parts(self, kind: ChannelKind) -> list[MessagePart]:
        """The messages this digest is on a channel of `kind`: one, whole, when it fits the channel's limits
        (an email always does); else numbered parts cut between items, text and markdown part for part, each
        within its limit. Part 1 carries the HTML and the card (which then says that a markdown digest
        follows it)."""
        whole = MessagePart(1, 1, self.subject, self.text, self.markdown, self.html, self.card)
        return _parts(whole, self.text_blocks, self.markdown_blocks, kind)


def numbered(subject: str, number: int, count: int) -> str:
    """The subject of part `number` of `count`: 【党建提醒】…（2/3）."""
    return subject + _number(number, count)


def unnumbered(subject: str, number: int, count: int) -> str:
    """The subject of part `number` of `count` without its number (the subject whole as `numbered` had it)."""
    return subject.removesuffix(_number(number, count)) if count > 1 else subject


def _number(number: int, count: int) -> str:
    return f"（{number}/{count}）"


def parts_text(failed: Sequence[int], count: int) -> str:
    """Which parts of a message sent in `count` parts failed: `共 3 部分` (all of them), `第 2、3 部分，共 3 部分`;
    empty for a message sent whole."""
    if count <= 1:
        return ""
    if len(failed) == count:
        return f"共 {count} 部分"
    return f"第 {'、'.join(str(number) for number in failed)} 部分，共 {count} 部分"


def _parts(
    whole: MessagePart,
    text: Sequence[split.Block],
    markdown: Sequence[split.Block],
    kind: ChannelKind,
) -> list[MessagePart]:
    """A message (`whole`, with its text and markdown cut into blocks) as a channel of `kind` sends it: itself
    when it fits; else numbered parts cut between blocks, text and markdown part for part (notifiers/split.py),
    each ending with one newline. Part 1 carries the HTML and the card, the card then marked `more`."""
    if kind.text_limit is None and kind.markdown_limit is None:
        return [whole]  # an email: the split would find the one part `whole` already is
    found = split.split(
        [
            split.Format(tuple(text) or split.blocks(whole.text), kind.text_limit),
            split.Format(tuple(markdown) or split.blocks(whole.markdown), kind.markdown_limit, markup=True),
        ]
    )
    if len(found) == 1:
        return [whole]
    count = len(found)
    card = replace(whole.card, more=True) if whole.card is not None else None
    return [
        MessagePart(
            text_part.number,
            count,
            numbered(whole.subject, text_part.number, count),
            _ending(text_part.text),
            _ending(markdown_part.text),
            whole.html if text_part.number == 1 else None,
            card if text_part.number == 1 else None,
        )
        for text_part, markdown_part in found
    ]


def _ending(text: str) -> str:
    """A message body ends with one newline (a part cut after a blank line already has it)."""
    return text if text.endswith("\n") else text + "\n"


class TemplateFailure(Exception):
    """A user template could not render this digest: it raised (its cause is chained), or exceeded a bound."""

    def __init__(self, template: str, reason: str) -> None:
        super().__init__(template, reason)
        self.template = template  # the file, with the line when known: "reminder.text.j2:3"
        self.reason = reason

    def __str__(self) -> str:
        return f"消息模板 {self.template} 无法生成提醒：{self.reason}"


def render_digest(context: Mapping[str, Any], *, user_folder: Path | None = None) -> RenderedDigest:
    """Raises ValueError for a context that lacks what a reminder must say, and TemplateFailure for a user
    template that fails on it (a SecurityError for one that reaches for what the sandbox forbids, a
    TemplateLimitError for one that works too long or writes too much, …: the cause is chained)."""
    # Keyed by the folder as given (config paths come resolved): no filesystem call per digest.
    environment = _environment(str(user_folder) if user_folder is not None else None)
    view = digest_view(context)
    subject = " ".join(split.unmarked(_render(environment, "reminder.subject.j2", view)).split())
    view["subject"] = subject  # the HTML's <title>, and for any template that wants to repeat it
    text = _blocks(_render(environment, "reminder.text.j2", view))
    markdown = _blocks(_render(environment, "reminder.wecom.md.j2", view))
    return RenderedDigest(
        subject=subject,
        text=split.whole(text) + "\n",
        html=split.unmarked(_render(environment, "reminder.html.j2", view)).strip() + "\n",
        markdown=split.whole(markdown) + "\n",
        card=text_card(view),
        text_blocks=text,
        markdown_blocks=markdown,
    )


@dataclass(frozen=True)
class RenderedSummary:
    """An organization's summary as rendered: whole, and cut into blocks for `parts`."""

    subject: str
    text: str
    markdown: str
    text_blocks: tuple[split.Block, ...] = ()
    markdown_blocks: tuple[split.Block, ...] = ()

    def parts(self, kind: ChannelKind) -> list[MessagePart]:
        """The summary as messages within the channel's limits: itself when it fits; else numbered parts cut
        between items, each part's text and markdown holding the same items."""
        whole = MessagePart(1, 1, self.subject, self.text, self.markdown)
        return _parts(whole, self.text_blocks, self.markdown_blocks, kind)


SUMMARY_PARTS = ("robot.text", "robot.md")


def render_summary(context: Mapping[str, Any], *, user_folder: Path | None = None) -> RenderedSummary:
    """An organization's summary for its group robot (`reminder.robot.md.j2`, and `reminder.robot.text.j2`
    for plain text): what is due and overdue there and who answers for it, each responsible person who has a
    WeCom userid mentioned as `<@userid>`. Raises like render_digest."""
    environment = _environment(str(user_folder) if user_folder is not None else None)
    view = summary_view(context)
    text = _blocks(_render(environment, "reminder.robot.text.j2", view))
    markdown = _blocks(_render(environment, "reminder.robot.md.j2", view))
    return RenderedSummary(
        subject=view["subject"],
        text=split.whole(text) + "\n",
        markdown=split.whole(markdown) + "\n",
        text_blocks=text,
        markdown_blocks=markdown,
    )


def summary_view(context: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's context with its defaults filled in and the derived values added (see the module's
    docstring): items sorted most pressing first, each with `mention` kept only when it is a WeCom userid."""
    org, as_of = _whose_and_when(context, "summary", "org")
    items = []
    for index, raw in enumerate(context.get("items") or ()):
        item = _item_view({"org_name": org["name"], **_one_line_values(raw)}, index, as_of, "")
        mention = str(item.get("mention") or "")
        # Only a userid by WeCom's rule becomes a `<@userid>`: a value from the store never closes the mention.
        item["mention"] = mention if wecom_userid_problem(mention) is None else ""
        item["responsible_name"] = str(item.get("responsible_name") or "")
        items.append(item)
    items.sort(key=_by_due)
    omitted = context.get("omitted") or {}
    count = len(items) + int(omitted.get("count") or 0)
    overdue = sum(item["overdue"] for item in items) + int(omitted.get("overdue_count") or 0)
    return {
        **context,
        "org": org,
        "as_of": as_of,
        "as_of_text": cn_date(as_of),
        "items": items,
        "count": count,
        "overdue_count": overdue,
        "omitted": {
            "count": count - len(items),
            "overdue_count": overdue - sum(item["overdue"] for item in items),
            "command": str(omitted.get("command") or f"obligations due --org {org.get('code', '')}".strip()),
        },
        "mark": split.MARKS,  # where each block starts: a summary too long for one message goes in parts
        "subject": f"【党建提醒】{org['name']}：{count} 项工作待办"
        + (f"（{overdue} 项逾期）" if overdue else ""),
    }


def _blocks(rendered: str) -> tuple[split.Block, ...]:
    """A rendered text or markdown cut on its marks, each block tidied."""
    return tuple(split.Block(block.kind, _tidy(block.text).strip("\n")) for block in split.blocks(rendered))


def _fit(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut on a character boundary, marked with … when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len(ELLIPSIS.encode("utf-8"))].decode("utf-8", errors="ignore") + ELLIPSIS


def text_card(view: Mapping[str, Any]) -> TextCard | None:
    """The card of a WeCom application message (textcard), built from the digest's view, or None when the
    items carry no desk link. One item: the card is the item, its button opens the task's link. Several (or
    failures, or a capped digest): the card sums them up and opens 我的待办, and `more` says that the markdown
    digest, with each item's own link, follows it. Within WeCom's limits, in bytes (title 128, description 512,
    url 2048, button 4 characters); values from the store are shown literally (the `md` translation)."""
    items = view["items"]
    linked = [item for item in items if item.get("link")]
    if not linked:
        return None
    alone = len(items) == 1 and not view["failures"] and not view["omitted"]["count"]
    if alone:
        item = items[0]
        url, button = str(item["link"]), "去登记"
        step = (
            f"〔{item['step_label']}〕"
            if item["step"] not in ("upcoming", "overdue") and item["step_label"]
            else ""
        )
        gray = f"截止 {item['due_text']}"
        highlight = f"{item['days_text']}{step}"
        body = f"{item['org_name']}·{item['title']}" + (f"（{item['period']}）" if item["period"] else "")
        if item["clause"]:
            body += f" 依据：{item['clause']}"
    else:
        url, button = str(view.get("desk_url") or linked[0]["link"]), "我的待办"
        gray = f"截至{view['as_of_text']}"
        parts = []
        if view["own_count"]:
            overdue = f"（其中 {view['own_overdue_count']} 项已逾期）" if view["own_overdue_count"] else ""
            parts.append(f"您负责的党建工作有 {view['own_count']} 项需要办理{overdue}")
        if view["supervised_count"]:
            overdue = (
                f"（其中 {view['supervised_overdue_count']} 项已逾期）"
                if view["supervised_overdue_count"]
                else ""
            )
            parts.append(f"{'另有' if parts else '有'} {view['supervised_count']} 项需要您督促{overdue}")
        if view["failures"]:
            parts.append(f"{len(view['failures'])} 条提醒未能送达")
        body = "；".join(parts) + "。"
        highlight = "逐项链接见下一条消息"
    if len(url.encode("utf-8")) > CARD_URL_LIMIT:
        return (
            None  # an address this long is not one WeCom takes: the markdown digest alone carries the links
        )
    frame = '<div class="gray">{}</div><div class="normal">{}</div><div class="highlight">{}</div>'
    gray, highlight = markdown_text(gray), markdown_text(highlight)
    room = CARD_DESCRIPTION_LIMIT - len(frame.format(gray, "", highlight).encode("utf-8"))
    return TextCard(
        title=_fit(markdown_text(view["subject"]), CARD_TITLE_LIMIT),
        description=frame.format(gray, _fit(markdown_text(body), room), highlight),
        url=url,
        button=button,
        more=not alone,
    )


def _render(environment: jinja2.Environment, name: str, view: dict[str, Any]) -> str:
    if not isinstance(environment, sandbox.BoundedSandbox):
        return environment.get_template(name).render(view)
    # A user template is code from outside: whatever it raises is its failure on this digest, never the caller's.
    try:
        return sandbox.render(environment.get_template(name), view)
    except Exception as error:
        raise TemplateFailure(_where(error, name), _reason(error)) from error


def _where(error: Exception, name: str) -> str:
    """The template file and line the error comes from (an included one, perhaps), else the part's name."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        return f"{error.name or name}:{error.lineno}"
    # Jinja rewrites tracebacks so that template frames carry the template's file name and line.
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(".j2"):
            return f"{Path(frame.filename).name}:{frame.lineno}"
    return name


def _reason(error: Exception) -> str:
    if isinstance(error, sandbox.TemplateLimitError):
        return str(error)
    if isinstance(error, MemoryError):
        return "内存不足（模板生成的内容过大）"
    for kind, meaning in _REASONS:
        if isinstance(error, kind):
            return f"{meaning}（{error}）"[:300]
    return f"模板运行出错（{type(error).__name__}：{error}）"[:300]


# What a template author reads when Jinja2 refuses a template; Jinja's own detail follows in brackets.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jinja2.UndefinedError, "模板引用了不存在的变量、属性或函数"),
    (jinja2.exceptions.SecurityError, "模板试图做沙箱不允许的操作"),
    (jinja2.TemplateSyntaxError, "模板语法错误"),
    (jinja2.TemplateNotFound, "模板引用的文件不存在"),
)


def digest_view(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context with its defaults filled in and the derived values added (the input is not changed)."""
    recipient, as_of = _whose_and_when(context, "digest", "recipient")
    items = [
        _item_view(_one_line_values(item), index, as_of, recipient["name"])
        for index, item in enumerate(context.get("items") or ())
    ]
    failures = [_failure_view(_one_line_values(failure)) for failure in context.get("failures") or ()]
    own = sorted((item for item in items if item["role"] == "responsible"), key=_by_due)
    supervised = sorted((item for item in items if item["role"] == "supervisor"), key=_by_due)
    omitted = _omitted_view(context.get("omitted") or {})
    return {
        **context,
        "recipient": recipient,
        "as_of": as_of,
        "as_of_text": cn_date(as_of),
        "desk_url": str(context.get("desk_url") or ""),
        "reachable": {
            "email": False,
            "wecom": False,
            **{channel: bool(on) for channel, on in (context.get("reachable") or {}).items()},
            "desk": bool(context.get("desk_url")),
        },
        "mark": dict(split.MARKS),
        "items": sorted(items, key=_by_due),
        "own_items": own,
        "supervised_items": supervised,
        "failures": failures,
        "omitted": omitted,
        "own_count": len(own) + omitted["own"],
        "supervised_count": len(supervised) + omitted["supervised"],
        "overdue_count": sum(item["overdue"] for item in items) + omitted["overdue_count"],
        "own_overdue_count": sum(item["overdue"] for item in own) + omitted["own_overdue"],
        "supervised_overdue_count": sum(item["overdue"] for item in supervised)
        + omitted["supervised_overdue"],
    }


def _failure_view(failure: Mapping[str, Any]) -> dict[str, Any]:
    count = int(failure.get("parts") or 1)
    failed = [int(number) for number in failure.get("failed_parts") or range(1, count + 1)]
    return {
        **_FAILURE_DEFAULTS,
        **failure,
        "channel_label": channel_label(str(failure.get("channel", ""))),
        "parts": count,
        "failed_parts": failed,
        "parts_text": parts_text(failed, count),
    }


def _whose_and_when(context: Mapping[str, Any], what: str, whose: str) -> tuple[dict[str, Any], date]:
    """What every view starts from: whom the message is for (`context[whose]`, its values made one line, with
    a name) and the date of the sweep."""
    found = _one_line_values(context.get(whose) or {})
    if not found.get("name"):
        raise ValueError(f"the {what} context needs {whose}.name")
    as_of = context.get("as_of")
    if not isinstance(as_of, date):
        raise ValueError(f"the {what} context needs as_of, a date")
    return found, as_of


def _omitted_view(omitted: Mapping[str, Any]) -> dict[str, Any]:
    """What a capped digest counts without listing; all zero for a digest that lists everything."""
    view: dict[str, Any] = {
        key: int(omitted.get(key) or 0) for key in ("own", "own_overdue", "supervised", "supervised_overdue")
    }
    if (
        min(view.values()) < 0
        or view["own_overdue"] > view["own"]
        or (view["supervised_overdue"] > view["supervised"])
    ):
        raise ValueError("omitted counts must be non-negative, the overdue ones within the totals")
    view["count"] = view["own"] + view["supervised"]
    view["overdue_count"] = view["own_overdue"] + view["supervised_overdue"]
    view["command"] = str(omitted.get("command") or "obligations due")
    return view


def example_context(as_of: date) -> dict[str, Any]:
    """A digest with one of everything: for previews, and to check a folder of user templates at start-up."""
    return {
        "recipient": {"name": "张三"},
        "as_of": as_of,
        "items": [
            {
                "org_name": "第一党支部",
                "org_code": "jg.b1",
                "title": "支部委员会会议",
                "rule": "branch-committee-meeting",
                "period": f"{as_of:%Y-%m}",
                "due": as_of + timedelta(days=7),
                "days_left": 7,
                "step": "upcoming",
                "clause": "《中国共产党支部工作条例（试行）》第十二条",
                "command": "obligations done 101 --on YYYY-MM-DD",
                "assignee_name": "张三",
                "fallback_note": "组织委员空缺，由书记代为接收",
            },
            {
                "org_name": "第二党支部",
                "org_code": "jg.b2",
                "title": "主题党日",
                "rule": "theme-party-day",
                "period": f"{as_of:%Y-%m}",
                "due": as_of - timedelta(days=3),
                "days_left": -3,
                "step": "overdue",
                "clause": "《中国共产党支部工作条例（试行）》第十六条",
                "command": "obligations done 102 --on YYYY-MM-DD",
                "assignee_name": "李四",
                "fallback_note": "",
                "role": "supervisor",
            },
        ],
        "failures": [
            {
                "recipient_name": "王五",
                "channel": "email",
                "reason": "收件人被拒绝（SMTP 550 mailbox unavailable）",
                "title": "党员大会",
                "org_name": "第三党支部",
            }
        ],
    }


def example_summary(as_of: date) -> dict[str, Any]:
    """An organization's summary with one of everything (one responsible person with a userid, one without)."""
    return {
        "org": {"name": "第一党支部", "code": "jg.b1"},
        "as_of": as_of,
        "items": [
            {
                "title": "支部委员会会议",
                "period": f"{as_of:%Y-%m}",
                "due": as_of + timedelta(days=7),
                "step": "upcoming",
                "responsible_name": "张三",
                "mention": "zhangsan",
            },
            {
                "title": "主题党日",
                "period": f"{as_of:%Y-%m}",
                "due": as_of - timedelta(days=3),
                "step": "overdue",
                "responsible_name": "李四",
                "mention": "",
            },
        ],
        "omitted": {"count": 2, "overdue_count": 1, "command": "obligations due --org jg.b1"},
    }


def check_templates(user_folder: Path, as_of: date) -> list[str]:
    """Render every part with the example context; the problems found, one line each (empty when all is well)."""
    problems = []
    environment = _make_environment(
        str(Path(user_folder).resolve())
    )  # not the cache: see the folder as it is now
    view = digest_view(example_context(as_of))
    view["subject"] = "【党建提醒】示例"
    summary = summary_view(example_summary(as_of))
    for part, part_view in [*((part, view) for part in PARTS), *((part, summary) for part in SUMMARY_PARTS)]:
        try:
            _render(environment, f"reminder.{part}.j2", part_view)
        except TemplateFailure as failure:
            problems.append(f"{failure.template}: {failure.reason}")
    return problems


# Filters, also used to build the view.


def cn_date(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日（周{WEEKDAYS[value.weekday()]}）"


def days_text(days_left: int) -> str:
    if days_left < 0:
        return f"逾期 {-days_left} 天"
    if days_left == 0:
        return "今天到期"
    return f"还剩 {days_left} 天"


# WeCom markdown has no escape character: what it would read as markup — <font>, [text](url), **bold**,
# `code`, _emphasis_, ~strike~, a # heading — is written with its full-width look-alike, which it shows as is.
_MARKDOWN_LITERAL = str.maketrans(
    {"<": "＜", ">": "＞", "[": "［", "]": "］", "*": "＊", "`": "｀", "_": "＿", "~": "～", "#": "＃"}
)


def markdown_text(value: object) -> str:
    """Text from the store for WeCom markdown (the `md` filter): one line, shown literally, never markup."""
    return one_line(str(value)).translate(_MARKDOWN_LITERAL)


def one_line(text: str) -> str:
    """Line breaks become spaces (a new line could open with `>` or `#`, or end a mail header), and any other
    control character becomes �: a name stored with ESC or BEL cannot act on the console it is printed on."""
    if "\n" in text or "\r" in text:
        text = " ".join(text.splitlines())
    return shown(text)


def _one_line_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: one_line(value) if isinstance(value, str) else value for key, value in values.items()}


def step_label(step: str) -> str:
    """The Chinese name of a step of the shipped ladders (a local step's label comes with its item)."""
    return ladder_step_label(step)


def channel_label(channel: str) -> str:
    return table.label(channel)


def _item_view(item: Mapping[str, Any], index: int, as_of: date, recipient_name: str) -> dict[str, Any]:
    missing = [key for key in _ITEM_REQUIRED if not item.get(key)]
    if missing:
        raise ValueError(f"items[{index}] lacks {', '.join(missing)}")
    due = item["due"]
    if not isinstance(due, date):
        raise ValueError(f"items[{index}].due must be a date")
    days_left = item.get("days_left")
    if not isinstance(days_left, int):
        days_left = (due - as_of).days
    assignee = item.get("assignee_name") or recipient_name
    role = item.get("role") or ("responsible" if assignee == recipient_name else "supervisor")
    if role not in ("responsible", "supervisor"):
        raise ValueError(f"items[{index}].role must be responsible or supervisor")
    urgency = (
        "overdue"
        if days_left < 0
        else "today"
        if days_left == 0
        else "soon"
        if days_left <= SOON_DAYS
        else "later"
    )
    return {
        **_ITEM_DEFAULTS,
        **item,
        "days_left": days_left,
        "role": role,
        "overdue": days_left < 0,
        "urgency": urgency,
        "due_text": cn_date(due),
        "days_text": days_text(days_left),
        "step_label": str(item.get("step_label") or step_label(str(item.get("step") or ""))),
    }


_URGENCY_ORDER = {"overdue": 0, "today": 1, "soon": 2, "later": 3}


def _by_due(item: Mapping[str, Any]) -> tuple[int, int, date, str, str]:
    """Most pressing first: by urgency, then standing obligations (terms, vacancies) before routine ones."""
    return (
        _URGENCY_ORDER[item["urgency"]],
        0 if item.get("standing") else 1,
        item["due"],
        str(item.get("org_code", "")),
        str(item["title"]),
    )


def _tidy(text: str) -> str:
    """Templates are written for readability, not for exact whitespace: no trailing blanks, no blank runs."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.j2", ".html"))


def _make_environment(user_folder: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("notifiers", "templates")]
    if user_folder is not None:
        loaders.insert(0, jinja2.FileSystemLoader(user_folder))
    # User templates are written by people who are not the operators: sandboxed. The shipped ones alone are
    # ours, and render without the sandbox's check on every attribute (a third of a city-wide sweep's time).
    kind = sandbox.BoundedSandbox if user_folder is not None else jinja2.Environment
    environment = kind(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        cn_date=cn_date,
        days_text=days_text,
        step_label=step_label,
        channel_label=channel_label,
        md=markdown_text,
    )
    return environment


# Compiled templates are kept between digests (a sweep renders thousands). Jinja reloads a user template that
# changes; a file added to the folder later is seen after a restart (or by check_templates at once).
_environment = functools.lru_cache(maxsize=8)(_make_environment)
