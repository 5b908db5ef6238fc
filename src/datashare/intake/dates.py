"""Business days for reviewer deadlines (Monday to Friday; state holidays are not modelled)."""

from __future__ import annotations

import datetime as dt

DEFAULT_COMMENT_BUSINESS_DAYS = 5


def add_business_days(start: dt.date, days: int) -> dt.date:
    day = start
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day
