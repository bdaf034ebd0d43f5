"""`obligations report`: compliance reports (table, JSON, CSV, HTML)."""

from __future__ import annotations
