"""Reminders: the sweep that turns due escalation steps into digests in the outbox, and their delivery.

A sweep at an instant `now`:

1. does nothing outside office hours on working days (a step that comes due at night or on a holiday waits
   for the next working morning);
2. in ONE transaction: finds the open tasks whose next step has come (by the `remind_on` index only),
   records one reminder per (task, step, recipient, deadline) — only the latest step a task has reached, so
   that after downtime nobody gets a burst of stale ones — and groups every new reminder of a person into
   one digest per channel in the outbox; permanent failures since the last sweep are added to the digest
   of the organization's secretary;
3. delivers, each channel in a lane of its own: each message is claimed atomically before it is sent (a
   conditional UPDATE, and on PostgreSQL `FOR UPDATE SKIP LOCKED`), every attempt is recorded, temporary
   failures are retried with backoff and jitter, permanent ones are marked failed. A crash after sending but before recording resends at most that
   message (its claim expires; at once if the claiming process, on this host, is gone); a crash before sending
   loses nothing (the message is still in the outbox). A channel that stalls several times in a row (timeouts,
   refused connections) pauses for a cool-down with its messages queued, and the other channels go on
   (`breaker`).

A sweep asked to stop (SIGTERM) stops between chunks of planning (rolling the plan back: the next sweep plans
it again) and between sends (the message in flight is sent and recorded; the rest stay queued).

The package: `settings` (what a sweep is told and answers), `registry` (what planning reads of the registry),
`plan` (steps 1–2), `digests` (a person's digest per channel), `failures` (what a secretary is told of failed
messages: a digest in parts once), `outbox` (step 3), `breaker` (a channel's circuit breaker), `sweep` (the
whole, logged).
"""

from notifiers.table import NO_ADDRESS
from obligations.reminders.breaker import Breakers
from obligations.reminders.outbox import (
    claim,
    deliver,
    outbox_counts,
    release_claims_of_gone_workers,
    release_stale_claims,
    retry_failed,
)
from obligations.reminders.plan import plan_messages
from obligations.reminders.settings import PlannedMessage, Settings, Stopped, SweepResult
from obligations.reminders.sweep import sweep

__all__ = [
    "NO_ADDRESS",
    "Breakers",
    "PlannedMessage",
    "Settings",
    "Stopped",
    "SweepResult",
    "claim",
    "deliver",
    "outbox_counts",
    "plan_messages",
    "release_claims_of_gone_workers",
    "release_stale_claims",
    "retry_failed",
    "sweep",
]
