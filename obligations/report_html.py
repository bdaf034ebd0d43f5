"""The report as one self-contained HTML page: inline CSS and inline SVG, nothing fetched, printable.

The page is rendered from `templates/report.html.j2` with autoescaping on, so every name that comes from the
registry is escaped. The geometry of the charts is computed here, the markup lives in the template.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from obligations.report import (
    OUTCOME_LABELS,
    CellState,
    Report,
    Tally,
    chinese_date,
    percent,
    range_label,
    scope_label,
)

STATE_LABELS = {
    CellState.DONE: "全部按时完成",
    CellState.LATE: "有逾期完成",
    CellState.MISSED: "有逾期未完成",
    CellState.PENDING: "尚未到期",
    CellState.EMPTY: "当月无任务",
}
# Each state has a symbol as well as a colour, so that a black-and-white print still tells them apart.
STATE_SYMBOLS = {
    CellState.DONE: "✓",
    CellState.LATE: "!",
    CellState.MISSED: "✗",
    CellState.PENDING: "○",
    CellState.EMPTY: "",
}
LEGEND_ORDER = (CellState.DONE, CellState.LATE, CellState.MISSED, CellState.PENDING, CellState.EMPTY)

# Where an on-time rate turns from good to fair to poor (the colour of its bar).
GOOD_RATE = 0.9
FAIR_RATE = 0.6

_environment = Environment(
    loader=PackageLoader("obligations", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.globals["outcome_labels"] = OUTCOME_LABELS


def tone(rate: float | None) -> str:
    if rate is None:
        return "none"
    if rate >= GOOD_RATE:
        return "good"
    return "fair" if rate >= FAIR_RATE else "poor"


@dataclass(frozen=True)
class Bar:
    title: str
    y: float
    width: float  # of the filled part, in the plot's units
    rate: float | None
    label: str
    detail: str
    tone: str


@dataclass(frozen=True)
class BarChart:
    """Per-rule on-time rates as horizontal bars, worst first: the duties that need attention lead."""

    width: int
    height: int
    label_width: int
    plot_width: int
    row_height: int
    top: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]


def bar_chart(report: Report, *, width: int = 1130, label_width: int = 260, row_height: int = 30) -> BarChart:
    plot_width = width - label_width - 150
    top = 26
    summaries = sorted(
        report.rules,
        key=lambda s: (s.counts.on_time_rate is None, s.counts.on_time_rate or 0.0, -s.counts.assessed),
    )
    bars = tuple(
        Bar(
            title=summary.title,
            y=top + index * row_height,
            width=round((summary.counts.on_time_rate or 0.0) * plot_width, 1),
            rate=summary.counts.on_time_rate,
            label=_bar_label(summary.counts),
            detail=f"{summary.counts.done_on_time}/{summary.counts.assessed}"
            if summary.counts.assessed
            else "",
            tone=tone(summary.counts.on_time_rate),
        )
        for index, summary in enumerate(summaries)
    )
    ticks = tuple((round(plot_width * share / 4, 1), f"{share * 25}%") for share in range(5))
    return BarChart(
        width=width,
        height=top + len(bars) * row_height + 8,
        label_width=label_width,
        plot_width=plot_width,
        row_height=row_height,
        top=top,
        bars=bars,
        ticks=ticks,
    )


def _bar_label(counts: Tally) -> str:
    if counts.assessed:
        return percent(counts.on_time_rate)
    return "尚未到期" if counts.pending else "全部免办"


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    count: int
    x: float
    width: float


def composition(total: Tally, *, width: int = 1000) -> tuple[Segment, ...]:
    """The total split by outcome, as the parts of one 100% bar."""
    parts = (
        ("done", "按时完成", total.done_on_time),
        ("late", "逾期完成", total.done_late),
        ("missed", "已逾期", total.overdue),
        ("pending", "未到期", total.pending),
        ("waived", "免办", total.waived),
    )
    segments = []
    x = 0.0
    for key, label, count in parts:
        share = count / total.tasks * width if total.tasks else 0.0
        segments.append(Segment(key, label, count, round(x, 2), round(share, 2)))
        x += share
    return tuple(segments)


def month_label(month: dt.date, first: bool) -> str:
    return f"{month.year}年{month.month}月" if first or month.month == 1 else f"{month.month}月"


def render(report: Report) -> str:
    template = _environment.get_template("report.html.j2")
    multi_year = report.start.year != report.end.year
    return (
        template.render(
            report=report,
            scope=scope_label(report),
            scope_name=report.root.name if report.root else "全部组织",
            period=range_label(report.start, report.end),
            start=chinese_date(report.start),
            end=chinese_date(report.end),
            as_of=chinese_date(report.as_of),
            months=[
                (month, month_label(month, index == 0) if multi_year else f"{month.month}月")
                for index, month in enumerate(report.months)
            ],
            chart=bar_chart(report),
            segments=composition(report.total),
            labels=STATE_LABELS,
            symbols=STATE_SYMBOLS,
            legend=LEGEND_ORDER,
            percent=percent,
            tone=tone,
            chinese_date=chinese_date,
        ).rstrip()
        + "\n"
    )
