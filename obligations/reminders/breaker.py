"""A circuit breaker per channel: a channel that stalls pauses, so that it cannot stall the sweep for hours.

A send that stalls (`DeliveryError.stalled`: a timeout, a refused or reset connection, an overloaded service) costs
up to the channel's timeout; a mail server that accepts connections and never answers would cost that for every
message. After `failures` stalls in a row the breaker opens: the channel sends nothing until `cooldown` after the
sweep's instant, and its messages wait in the outbox until then (without using up an attempt). The first sweep
after the cool-down sends one message (half-open): when it goes through, or fails for a reason of its own (a
refused address: the server answered), the breaker closes and the rest follow; when it stalls, the channel pauses
for another cool-down. A message that fails for its recipient never counts, nor does a group robot's rate limit:
that is the robot's own 20 a minute (its message is retried, its other messages deferred), not the channel.

The state lives in the process (the daemon keeps one `Breakers` for its life; `remind` starts with closed ones).
It need not survive a restart: the pause itself is in the database (the channel's messages are due at the end of
the cool-down), so a restarted daemon or a `remind` in between waits for it too; only the probe is lost, and a
process that starts after the cool-down meets a channel still stalled with at most `failures` timeouts before it
pauses again. Pure: it never reads the clock, every method is told the sweep's instant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum


class State(Enum):
    CLOSED = "closed"  # sending
    OPEN = "open"  # paused until the end of the cool-down
    HALF_OPEN = "half-open"  # the cool-down is over: one message decides


class Change(Enum):
    OPENED = "opened"
    REOPENED = "reopened"  # the probe stalled too
    CLOSED = "closed"


@dataclass
class Breaker:
    failures: int
    cooldown: dt.timedelta
    stalls: int = 0  # in a row
    open_until: dt.datetime | None = None

    def state(self, now: dt.datetime) -> State:
        if self.open_until is None:
            return State.CLOSED
        return State.OPEN if now < self.open_until else State.HALF_OPEN

    def record(self, stalled: bool, now: dt.datetime) -> Change | None:
        """One send's outcome at the sweep's instant `now`; what changed, if anything."""
        state = self.state(now)
        if not stalled:
            self.stalls = 0
            if state is State.CLOSED:
                return None
            self.open_until = None
            return Change.CLOSED
        self.stalls += 1
        if state is State.HALF_OPEN:
            self.open_until = now + self.cooldown
            return Change.REOPENED
        if state is State.CLOSED and self.stalls >= self.failures:
            self.open_until = now + self.cooldown
            return Change.OPENED
        return None


@dataclass
class Breakers:
    """The breakers of every channel, made closed on first use."""

    failures: int
    cooldown: dt.timedelta
    _by_channel: dict[str, Breaker] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.failures < 1 or self.cooldown <= dt.timedelta(0):
            raise ValueError("a breaker needs at least one failure and a positive cool-down")

    def __getitem__(self, channel: str) -> Breaker:
        found = self._by_channel.get(channel)
        if found is None:
            found = self._by_channel[channel] = Breaker(self.failures, self.cooldown)
        return found

    def paused(self, now: dt.datetime) -> dict[str, dt.datetime]:
        """The channels paused at `now`, with the end of their cool-down."""
        return {
            channel: breaker.open_until
            for channel, breaker in sorted(self._by_channel.items())
            if breaker.open_until is not None and breaker.state(now) is State.OPEN
        }
