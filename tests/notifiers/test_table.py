"""The channel table: every channel's addressing, label and limits are declared once, by its kind."""

from __future__ import annotations

import pytest

from notifiers.base import Recipient
from notifiers.render import channel_label
from notifiers.table import KINDS, NO_ADDRESS, NO_ADDRESS_KIND
from obligations.config import SPEC
from obligations.reminders.registry import Person, addresses

ZHANG = Person("m04", "张伟", "jg.b1", "m04@example.org", "zhangwei", "13800000004")


def test_every_channel_config_toml_offers_is_a_kind_of_the_table_and_the_outbox_never_sends_on_no_address() -> (
    None
):
    [key] = [key for key in SPEC if (key.section, key.name) == ("reminders", "channels")]
    assert key.choices and set(key.choices) <= set(KINDS)
    assert NO_ADDRESS not in key.choices and NO_ADDRESS not in KINDS


def test_each_channel_of_the_outbox_is_shown_by_a_chinese_label_of_its_own() -> None:
    names = [*KINDS, NO_ADDRESS]
    labels = [channel_label(name) for name in names]
    assert len(set(labels)) == len(names)  # no two channels shown alike in `outbox` or a failure report
    assert all(label != name and not label.isascii() for name, label in zip(names, labels, strict=True))
    assert channel_label("email") == "邮件" and channel_label(NO_ADDRESS) == "无联系方式"
    assert channel_label("fax") == "fax"  # a channel no longer in the table: its stored name, as it is


@pytest.mark.parametrize(
    ("channel", "address"),
    [("email", "m04@example.org"), ("wecom", "zhangwei"), ("console", "张伟")],
)
def test_a_person_is_addressed_on_each_personal_channel_by_its_kind(channel: str, address: str) -> None:
    kind = KINDS[channel]
    assert addresses(ZHANG, (channel,)) == [(kind, address)]
    stored = kind.recipient("张伟", address)
    assert kind.address_of(stored) == address and stored.name == "张伟"


def test_a_mobile_number_is_not_a_wecom_userid_and_a_group_robot_gets_no_personal_digest() -> None:
    only_mobile = Person("m09", "周强", "jg.b1", None, None, "13800000009")
    assert addresses(only_mobile, ("email", "wecom", "wecom_robot")) == [(NO_ADDRESS_KIND, "")]
    assert addresses(ZHANG, ("wecom_robot", "email")) == [(KINDS["email"], "m04@example.org")]


def test_blank_addresses_reach_nobody() -> None:
    blank = Recipient(name="  ", email=" ", wecom="")
    assert all(kind.address_of(blank) is None for kind in KINDS.values())
