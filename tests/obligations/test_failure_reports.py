"""Which failed outbox rows are one message to tell of: the parts of a digest, known by what their rows share."""

from __future__ import annotations

import datetime as dt

from obligations.reminders.failures import FailedMessage, Part, failed_messages

T = dt.datetime(2026, 6, 15, 1, 0, tzinfo=dt.UTC)
SUBJECT = "【党建提醒】5 项党建工作待办理"


def part(
    id: int,
    number: int,
    count: int,
    *,
    failed: bool = True,
    recipient: str | None = "m05",
    org: str | None = None,
    channel: str = "wecom",
    error: str = "userid 无效",
) -> Part:
    subject = f"{SUBJECT}（{number}/{count}）" if count > 1 else SUBJECT
    address = recipient or f"robot:{org}"
    return Part(id, recipient, org, channel, address, T, failed, error if failed else None, subject)


def shape(found: list[FailedMessage]) -> list[tuple[list[int], list[int], str]]:
    return [([p.id for p in message.parts], message.failed_numbers, message.title) for message in found]


def test_the_parts_of_one_digest_are_one_message_titled_without_a_part_number() -> None:
    found = failed_messages([part(10, 1, 3), part(11, 2, 3), part(12, 3, 3)])

    assert shape(found) == [([10, 11, 12], [1, 2, 3], SUBJECT)]
    assert found[0].reasons == [("userid 无效", [1, 2, 3])]


def test_other_channels_people_and_organizations_are_messages_of_their_own() -> None:
    found = failed_messages(
        [
            part(10, 1, 2),
            part(11, 2, 2),
            part(12, 1, 1, channel="email", error="SMTP 550"),
            part(13, 1, 2, recipient="m16"),
            part(14, 2, 2, recipient="m16"),
            part(15, 1, 1, recipient=None, org="jg.b1", channel="wecom_robot"),
        ]
    )

    assert shape(found) == [
        ([10, 11], [1, 2], SUBJECT),
        ([12], [1], SUBJECT),
        ([13, 14], [1, 2], SUBJECT),
        ([15], [1], SUBJECT),
    ]


def test_a_digest_of_another_sweep_at_the_same_instant_is_not_taken_for_more_parts() -> None:
    # The same person, channel and instant (`remind --as-of` run twice), ids apart: two digests.
    found = failed_messages([part(10, 1, 2, failed=False), part(11, 2, 2), part(40, 1, 1)])

    assert shape(found) == [([10, 11], [2], SUBJECT), ([40], [1], SUBJECT)]


def test_parts_refused_for_different_reasons_are_told_apart_and_a_message_sent_whole_not_at_all() -> None:
    found = failed_messages(
        [
            part(10, 1, 3, error="userid 无效"),
            part(11, 2, 3, error="内容过长"),
            part(12, 3, 3, error="userid 无效"),
            part(20, 1, 2, recipient="m16", failed=False),
            part(21, 2, 2, recipient="m16", failed=False),
        ]
    )

    assert shape(found) == [([10, 11, 12], [1, 2, 3], SUBJECT)]
    assert found[0].reasons == [("userid 无效", [1, 3]), ("内容过长", [2])]
