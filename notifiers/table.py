"""The channel table: every channel a reminder can go out on, by the name config.toml and the outbox use.

A new channel is one module in notifiers/ that declares its `ChannelKind` beside its `Channel`, and one entry
here. Addressing, size limits and labels are read from the kinds, nowhere else.
"""

from __future__ import annotations

from notifiers.base import ChannelKind
from notifiers.console import KIND as CONSOLE
from notifiers.email import KIND as EMAIL
from notifiers.wecom import APP_KIND as WECOM_APP
from notifiers.wecom import ROBOT_KIND as WECOM_ROBOT

KINDS: dict[str, ChannelKind] = {kind.name: kind for kind in (EMAIL, WECOM_APP, WECOM_ROBOT, CONSOLE)}

NO_ADDRESS = "none"  # the outbox's pseudo-channel of a person who can be reached on no configured channel
# Its kind: a label and no limit (the digest is kept whole, as failed), its address always "". Not in KINDS:
# nothing is ever sent on it, and config.toml never offers it.
NO_ADDRESS_KIND = ChannelKind(NO_ADDRESS, "无联系方式", None)


def label(name: str) -> str:
    """The Chinese name of a channel, as reminders, `outbox` and the desk show it."""
    found = NO_ADDRESS_KIND if name == NO_ADDRESS else KINDS.get(name)
    return found.label if found else name
