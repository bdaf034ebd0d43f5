"""Working days of mainland China: public holidays and 调休 makeup working days.

The State Council publishes each year's arrangement (国务院办公厅关于某年部分节假日安排的通知) in
November or December. The `holidays` package carries the arrangements it knows; a year it does not
know yet can be declared in configuration:

    [calendar.2027]
    holidays = ["2027-01-01", "2027-02-05..2027-02-11"]
    workdays = ["2027-02-14"]
    mode = "replace"            # replace (default): the declaration is the whole arrangement
                                # extend: added to what the library knows

A year that neither knows yields one warning and falls back to Monday–Friday; it never raises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Warn = Callable[[str], None]


class CalendarConfigError(ValueError):
    """A declared arrangement that cannot be read; the message names the key and the value."""


@dataclass(frozen=True)
class YearArrangement:
    """One year's official arrangement: rest days that are not weekends, and weekend days that are worked."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]  # 调休上班日
    source: str = ""
    mode: str = "replace"


@dataclass
class WorkCalendar:
    declared: Mapping[int, YearArrangement] = field(default_factory=dict)
    warn: Warn | None = None
    _years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]] | None] = field(
        default_factory=dict, init=False, repr=False
    )
    _warned: set[int] = field(default_factory=set, init=False, repr=False)

    def is_workday(self, day: dt.date) -> bool:
        arrangement = self._arrangement(day.year)
        if arrangement is None:
            return day.weekday() < 5
        rest, worked = arrangement
        if day in worked:
            return True
        if day in rest:
            return False
        return day.weekday() < 5

    def next_workday(self, day: dt.date, *, inclusive: bool = True) -> dt.date:
        """The first working day on or after `day` (strictly after with inclusive=False)."""
        candidate = day if inclusive else day + dt.timedelta(days=1)
        # The longest run of rest days in any arrangement is about nine (Spring Festival plus a weekend).
        for _ in range(366):
            if self.is_workday(candidate):
                return candidate
            candidate += dt.timedelta(days=1)
        raise RuntimeError(f"no working day within a year after {day}")  # pragma: no cover - impossible data

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in [start, end): like numpy.busday_count, negative when end < start."""
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        day = start
        while day < end:
            count += self.is_workday(day)
            day += dt.timedelta(days=1)
        return count

    def knows(self, year: int) -> bool:
        return self._arrangement(year, warn=False) is not None

    def _arrangement(
        self, year: int, *, warn: bool = True
    ) -> tuple[frozenset[dt.date], frozenset[dt.date]] | None:
        if year not in self._years:
            self._years[year] = self._load(year)
        found = self._years[year]
        if found is None and warn and year not in self._warned:
            self._warned.add(year)
            if self.warn is not None:
                self.warn(
                    f"警告：不知道 {year} 年的法定节假日和调休安排（holidays 库和配置 [calendar.{year}] 都没有），"
                    f"该年按周一至周五为工作日计算。国务院办公厅公布安排后，请在 config.toml 中添加 [calendar.{year}]。"
                )
        return found

    def _load(self, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]] | None:
        declared = self.declared.get(year)
        library = _library_arrangement(year)
        if declared is not None and (declared.mode == "replace" or library is None):
            return declared.holidays, declared.workdays
        if declared is not None and library is not None:
            return library[0] | declared.holidays, (library[1] - declared.holidays) | declared.workdays
        return library


def _library_arrangement(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]] | None:
    """The library's arrangement for `year`, or None when it has no State Council data for that year.

    The library computes the statutory festivals for any year, but the 调休 swaps exist only for the years
    whose notice it has transcribed; a year without them is not known, whatever the festivals say.
    """
    # Imported here: the library loads every country's module (a tenth of a second), and only the reminder
    # ladders' working days ask it.
    from holidays.countries.china import China, ChinaStaticHolidays

    known_years: Mapping[int, Any] = ChinaStaticHolidays.special_public_holidays
    if year not in known_years:
        return None
    calendar = China(years=year)  # type: ignore[no-untyped-call]
    rest = frozenset(day for day in calendar if day.year == year)
    worked = frozenset(day for day in calendar.weekend_workdays if day.year == year)
    return rest, worked


def arrangements_from_config(
    section: Mapping[str, Any], *, where: str = "config.toml"
) -> dict[int, YearArrangement]:
    """Parse the `[calendar]` section; every problem is reported at once, with its `[calendar.YEAR] key`."""
    problems: list[str] = []
    result: dict[int, YearArrangement] = {}
    for year_key, body in section.items():
        path = f"[calendar.{year_key}]"
        if not str(year_key).isdigit() or not isinstance(body, Mapping):
            problems.append(f"{where}：{path} 应为年份表，例如 [calendar.2027]")
            continue
        year = int(year_key)
        unknown = set(body) - {"holidays", "workdays", "source", "mode"}
        if unknown:
            problems.append(f"{where}：{path} 有未知的键 {', '.join(sorted(unknown))}")
        mode = body.get("mode", "replace")
        if mode not in ("replace", "extend"):
            problems.append(f"{where}：{path} mode = {mode!r} 无效，应为 replace 或 extend")
        rest = _dates(body.get("holidays", []), year, f"{path} holidays", where, problems)
        worked = _dates(body.get("workdays", []), year, f"{path} workdays", where, problems)
        both = rest & worked
        if both:
            days = "、".join(day.isoformat() for day in sorted(both))
            problems.append(f"{where}：{path} 的 {days} 同时列为放假和上班")
        result[year] = YearArrangement(year, rest, worked, str(body.get("source", "")), str(mode))
    if problems:
        raise CalendarConfigError("\n".join(problems))
    return result


def _dates(items: object, year: int, path: str, where: str, problems: list[str]) -> frozenset[dt.date]:
    if not isinstance(items, list):
        problems.append(f"{where}：{path} 应为日期列表")
        return frozenset()
    found: set[dt.date] = set()
    for item in items:
        try:
            found.update(_expand_item(item))
        except (TypeError, ValueError):
            problems.append(
                f"{where}：{path} 中的 {item!r} 不是日期或日期区间（YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD）"
            )
            continue
    outside = sorted(day for day in found if day.year != year)
    if outside:
        problems.append(f"{where}：{path} 中的 {outside[0].isoformat()} 不在 {year} 年")
    return frozenset(found)


def _expand_item(item: object) -> Iterable[dt.date]:
    if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
        return [item]
    if not isinstance(item, str):
        raise TypeError(item)
    first_text, _, last_text = item.partition("..")
    first = dt.date.fromisoformat(first_text.strip())
    last = dt.date.fromisoformat(last_text.strip()) if last_text else first
    if last < first:
        raise ValueError(item)
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
