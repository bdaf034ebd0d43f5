"""User-facing errors: one Chinese message and an exit code, never a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class UserError(Exception):
    """A mistake in what the user asked or gave; shown as its message, with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NotFound(UserError):
    """A name or number that does not exist (an organization, a member, a rule, a task…). Its own status, 8:
    2 is click's, for a command line that cannot be parsed (the README's table)."""

    exit_code = 8


class LedgerError(UserError):
    """A record that fails its checks; the message lists every failed check."""

    exit_code = 6

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems) if len(self.problems) > 1 else self.problems[0])


def not_found(what: str, wanted: str, known: Iterable[str]) -> NotFound:
    """`what` `wanted` does not exist; suggest the closest known names."""
    choices = sorted(set(known))
    close = difflib.get_close_matches(wanted, choices, n=3, cutoff=0.5)
    if not close:
        close = [choice for choice in choices if wanted in choice or choice in wanted][:3]
    message = f"没有{what} {wanted!r}。"
    if close:
        message += f"您是不是要找：{'、'.join(close)}？"
    return NotFound(message)
