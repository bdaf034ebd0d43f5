"""`obligations score`, `ledger` and `calendar`: checklists, the 台账 and calendar feeds."""

from __future__ import annotations
