"""Reviewer deadlines skip weekends and Washington's state legal holidays."""

from __future__ import annotations

import datetime as dt

from datashare.intake.dates import add_business_days, washington_holidays


def test_a_comment_deadline_asked_before_thanksgiving_skips_both_holidays() -> None:
    # Thanksgiving (26 Nov 2026) and Native American Heritage Day (27 Nov) are closed days.
    assert add_business_days(dt.date(2026, 11, 24), 5) == dt.date(2026, 12, 3)


def test_deadlines_around_holidays_and_the_year_end() -> None:
    # Worked out by hand from a calendar, not from the function's own notion of a business day.
    assert add_business_days(dt.date(2026, 7, 2), 1) == dt.date(2026, 7, 6)  # Fri 3 Jul observed
    assert add_business_days(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 28)  # Christmas Fri
    assert add_business_days(dt.date(2027, 12, 23), 1) == dt.date(2027, 12, 27)  # Fri 24 observed
    # Fri 31 Dec 2027 is closed for New Year's Day 2028 (a Saturday).
    assert add_business_days(dt.date(2027, 12, 30), 1) == dt.date(2028, 1, 3)
    assert add_business_days(dt.date(2026, 1, 16), 1) == dt.date(2026, 1, 20)  # MLK Mon 19 Jan
    assert add_business_days(dt.date(2026, 12, 31), 5) == dt.date(2027, 1, 8)  # over New Year


def test_washington_holidays_for_2026_are_the_statute_list() -> None:
    assert washington_holidays(2026) == {
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 19),  # MLK Day, third Monday
        dt.date(2026, 2, 16),  # Presidents' Day
        dt.date(2026, 5, 25),  # Memorial Day, last Monday
        dt.date(2026, 6, 19),  # Juneteenth
        dt.date(2026, 7, 3),  # 4 July is a Saturday: observed Friday
        dt.date(2026, 9, 7),  # Labor Day
        dt.date(2026, 11, 11),
        dt.date(2026, 11, 26),
        dt.date(2026, 11, 27),
        dt.date(2026, 12, 25),
    }


def test_a_sunday_holiday_is_observed_on_monday_and_a_saturday_new_year_on_the_friday_before() -> None:
    assert dt.date(2027, 7, 5) in washington_holidays(2027)  # 4 July 2027 is a Sunday
    assert dt.date(2027, 12, 24) in washington_holidays(2027)  # Christmas 2027 is a Saturday
    assert dt.date(2027, 12, 31) in washington_holidays(2027)  # 1 Jan 2028 is a Saturday
    assert dt.date(2021, 6, 19) not in washington_holidays(2021)  # before Juneteenth was adopted
