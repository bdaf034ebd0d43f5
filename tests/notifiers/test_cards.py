"""Reminder items with desk links (issue 11, 从提醒到表单) and the WeCom application message's card: the link in
every part of the digest, the textcard within WeCom's byte limits, and the card (then the digest) sent to the
local WeCom peer, which refuses cards over the limits as WeCom does."""

from __future__ import annotations

from datetime import date
from typing import Any

from notifiers.base import (
    CARD_BUTTON_CHARS,
    CARD_DESCRIPTION_LIMIT,
    CARD_TITLE_LIMIT,
    CARD_URL_LIMIT,
    Delivery,
    TextCard,
)
from notifiers.render import digest_view, example_context, render_digest, text_card
from tests.notifiers.servers import FakeTime, FakeWeCom, textcard_problem
from tests.notifiers.test_wecom import SEND, WEBHOOK, app, message, robot, with_server

AS_OF = date(2026, 11, 23)
DESK = "https://dj.example.cn/"


def linked(items: int = 2, *, failures: bool = True, **changes: Any) -> dict[str, Any]:
    context = example_context(AS_OF)
    context["items"] = [
        {**item, "link": f"{DESK}l/TOKEN{n}", **changes} for n, item in enumerate(context["items"][:items])
    ]
    context["desk_url"] = DESK
    if not failures:
        context["failures"] = []
    return context


def test_each_item_carries_its_link_in_text_html_and_markdown_instead_of_the_command() -> None:
    digest = render_digest(linked())
    for part in (digest.text, digest.html, digest.markdown):
        assert f"{DESK}l/TOKEN0" in part and f"{DESK}l/TOKEN1" in part
        assert "obligations done" not in part
    assert "去登记：https://dj.example.cn/l/TOKEN0" in digest.text
    assert f'<a href="{DESK}l/TOKEN1"' in digest.html
    assert f"[去登记]({DESK}l/TOKEN0)" in digest.markdown


def test_items_without_links_keep_the_command_and_have_no_card() -> None:
    digest = render_digest(example_context(AS_OF))
    assert "办理后登记：obligations done 101 --on YYYY-MM-DD" in digest.text
    assert digest.card is None


def test_one_item_is_its_own_card_and_several_open_my_todo_with_the_digest_after() -> None:
    alone = render_digest(linked(1, failures=False)).card
    assert alone == TextCard(alone.title, alone.description, f"{DESK}l/TOKEN0", "去登记", more=False)  # type: ignore[union-attr]
    assert "还剩 7 天" in alone.description  # type: ignore[union-attr]
    several = render_digest(linked(2)).card
    assert several is not None
    assert (several.url, several.button, several.more) == (DESK, "我的待办", True)


def test_cards_stay_within_wecoms_byte_limits_whatever_the_names() -> None:
    long_name = "很长的党组织名称" * 40 + "<div>"
    for context in (
        linked(1, failures=False, org_name=long_name, title=long_name),
        linked(2, org_name=long_name),
    ):
        card = render_digest(context).card
        assert card is not None
        assert len(card.title.encode()) <= CARD_TITLE_LIMIT
        assert len(card.description.encode()) <= CARD_DESCRIPTION_LIMIT
        assert card.description.startswith('<div class="gray">') and card.description.endswith("</div>")
        assert card.description.count("<div") == 3  # a name's markup is shown, never taken as markup
        assert len(card.url.encode()) <= CARD_URL_LIMIT and len(card.button) <= CARD_BUTTON_CHARS


def test_a_link_longer_than_wecom_takes_leaves_the_markdown_to_carry_it() -> None:
    context = linked(1, failures=False)
    context["items"][0]["link"] = DESK + "l/" + "x" * CARD_URL_LIMIT
    assert render_digest(context).card is None


def test_the_application_message_sends_the_card_then_the_digest() -> None:
    digest = render_digest(linked(2))
    assert digest.card is not None

    async def scenario(server: FakeWeCom, fake: FakeTime) -> Delivery:
        channel = app(server, fake)
        try:
            return await channel.send(message(markdown=digest.markdown, card=digest.card))
        finally:
            await channel.aclose()

    async def recorded(server: FakeWeCom, fake: FakeTime) -> list[Any]:
        await scenario(server, fake)
        return [request.body for request in server.calls(SEND)]

    card, digest_body = with_server(recorded)
    assert card["msgtype"] == "textcard"
    assert card["textcard"]["url"] == DESK and card["textcard"]["btntxt"] == "我的待办"
    assert len(card["textcard"]["description"].encode()) <= CARD_DESCRIPTION_LIMIT
    assert digest_body["msgtype"] == "markdown" and f"{DESK}l/TOKEN1)" in digest_body["markdown"]["content"]


def test_a_single_item_card_is_the_whole_message() -> None:
    card = text_card_of_one()

    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[Any]:
        channel = app(server, fake)
        try:
            await channel.send(message(card=card))
        finally:
            await channel.aclose()
        return [request.body for request in server.calls(SEND)]

    [body] = with_server(scenario)
    assert body["msgtype"] == "textcard" and body["textcard"]["btntxt"] == "去登记"
    assert body["textcard"]["url"] == f"{DESK}l/TOKEN0"


def test_the_channel_cuts_a_card_to_the_limits_the_peer_enforces() -> None:
    oversized = TextCard("标题" * 100, "说明" * 300, DESK, "去登记去登记")
    assert (
        textcard_problem({"msgtype": "textcard", "textcard": oversized.to_json() | {"btntxt": "去"}})
        == "title"
    )

    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[Any]:
        channel = app(server, fake)
        try:
            await channel.send(message(card=oversized))
        finally:
            await channel.aclose()
        return [request.body for request in server.calls(SEND)]

    [body] = with_server(scenario)  # the peer answered ok: the channel cut the card to the limits
    assert len(body["textcard"]["title"].encode()) <= CARD_TITLE_LIMIT
    assert len(body["textcard"]["description"].encode()) <= CARD_DESCRIPTION_LIMIT
    assert body["textcard"]["btntxt"] == "去登记去"


def text_card_of_one() -> TextCard:
    card = text_card(digest_view(linked(1, failures=False)) | {"subject": "【党建提醒】支部委员会会议"})
    assert card is not None
    return card


def test_the_group_robot_posts_the_digest_with_each_items_link_and_no_card() -> None:
    digest = render_digest(linked(2))

    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[Any]:
        channel = robot(server, fake)
        try:
            await channel.send(message(markdown=digest.markdown, card=digest.card))
            await channel.send(
                message("r-2", text=digest.text, card=digest.card, mention_mobiles=("13800000001",))
            )
        finally:
            await channel.aclose()
        return [request.body for request in server.calls(WEBHOOK)]

    markdown, text = with_server(scenario)
    assert markdown["msgtype"] == "markdown"
    assert f"[去登记]({DESK}l/TOKEN0)" in markdown["markdown"]["content"]
    assert f"[去登记]({DESK}l/TOKEN1)" in markdown["markdown"]["content"]
    assert text["msgtype"] == "text" and f"去登记：{DESK}l/TOKEN1" in text["text"]["content"]
