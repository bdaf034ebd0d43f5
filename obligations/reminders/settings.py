"""What a sweep is told (Settings) and what it answers (SweepResult, PlannedMessage)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from calendars import ladder


@dataclass(frozen=True)
class Settings:
    office_hours: ladder.OfficeHours
    channels: tuple[str, ...]  # in order of preference, e.g. ("email", "wecom")
    max_attempts: int = 8
    retry_base: float = 60.0
    retry_cap: float = 3600.0
    claim_lease: dt.timedelta = dt.timedelta(minutes=10)
    # A channel that stalls this many times in a row pauses for the cool-down (obligations/reminders/breaker.py).
    breaker_failures: int = 3
    breaker_cooldown: dt.timedelta = dt.timedelta(minutes=10)
    templates: Path | None = None
    digest_items: int = 50  # items a digest lists one by one; the rest are counted
    public_url: str = ""  # the desk's address: every item then carries its signed link (obligations/links.py)


@dataclass
class SweepResult:
    as_of: dt.datetime
    skipped: str | None = None  # why nothing was done (outside office hours)
    reminders: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    stopped: bool = False  # asked to stop before the work was done; what is left stays queued
    paused: dict[str, dt.datetime] = field(default_factory=dict)  # channel -> end of its cool-down
    planned: list[PlannedMessage] = field(default_factory=list)  # for --dry-run


@dataclass(frozen=True)
class PlannedMessage:
    recipient: str
    recipient_name: str
    channel: str
    address: str
    subject: str
    text: str
    items: int
    part: int = 1  # a digest too long for its channel is planned as numbered parts, each a message
    parts: int = 1


class Stopped(Exception):
    """Planning was asked to stop (SIGTERM): the caller rolls its transaction back."""


def check(stop: Callable[[], bool]) -> None:
    if stop():
        raise Stopped
