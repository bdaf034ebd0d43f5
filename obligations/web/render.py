"""The desk's templates: one Jinja2 environment, autoescaping everything (every value a person typed is
untrusted), with the labels the rest of the application defines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.templating import Jinja2Templates

from calendars.expand import period_label
from obligations.duelist import TASK_STATUS_LABELS
from obligations.render import minute_text
from obligations.report import OUTCOME_LABELS

TEMPLATES = Path(__file__).parent / "templates"


def days_left(days: int) -> str:
    """剩 3 天 · 今天到期 · 逾期 5 天"""
    if days > 0:
        return f"剩 {days} 天"
    if days == 0:
        return "今天到期"
    return f"逾期 {-days} 天"


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return minute_text(value)
    return value.isoformat()


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["days_left"] = days_left
    env.filters["date"] = _date
    env.filters["period"] = period_label  # calendar periods, terms and event keys (vacancies, probations)
    env.globals["status_labels"] = TASK_STATUS_LABELS
    env.globals["outcome_labels"] = OUTCOME_LABELS
    return env


templates = Jinja2Templates(env=_environment())
