"""Business days for reviewer deadlines: Monday to Friday, less Washington's state legal holidays.

The holidays are RCW 1.16.050's list, computed by rule so no yearly table goes stale. A holiday
on a Sunday is observed the following Monday and one on a Saturday the preceding Friday, as the
statute says for state offices, so a deadline never lands on a day the agency is closed.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

DEFAULT_COMMENT_BUSINESS_DAYS = 5

_MON, _THU, _FRI, _SAT, _SUN = 0, 3, 4, 5, 6


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == _SUN:
        return day + dt.timedelta(days=1)
    if day.weekday() == _SAT:
        return day - dt.timedelta(days=1)
    return day


@cache
def washington_holidays(year: int) -> frozenset[dt.date]:
    """The days Washington state offices are closed for legal holidays in ``year``."""
    thanksgiving = _nth_weekday(year, 11, _THU, 4)
    fixed = [
        dt.date(year, 1, 1),  # New Year's Day
        dt.date(year, 7, 4),  # Independence Day
        dt.date(year, 11, 11),  # Veterans Day
        dt.date(year, 12, 25),  # Christmas Day
    ]
    if year >= 2022:
        fixed.append(dt.date(year, 6, 19))  # Juneteenth, a state holiday since 2022
    moving = [
        _nth_weekday(year, 1, _MON, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, _MON, 3),  # Presidents' Day
        _last_weekday(year, 5, _MON),  # Memorial Day
        _nth_weekday(year, 9, _MON, 1),  # Labor Day
        thanksgiving,
        thanksgiving + dt.timedelta(days=1),  # Native American Heritage Day
    ]
    days = {_observed(day) for day in fixed} | set(moving)
    # New Year's Day on a Saturday is observed on Friday 31 December of the year before.
    next_new_year = dt.date(year + 1, 1, 1)
    if next_new_year.weekday() == _SAT:
        days.add(next_new_year - dt.timedelta(days=1))
    return frozenset(day for day in days if day.year == year)


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < _SAT and day not in washington_holidays(day.year)


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` business days after ``start`` (``start`` itself never counts)."""
    day = start
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day
