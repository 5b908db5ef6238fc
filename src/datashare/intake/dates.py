"""Moved to ``datashare.core.dates`` (every app's deadlines share one calendar); kept as an alias."""

from datashare.core.dates import (  # noqa: F401
    DEFAULT_COMMENT_BUSINESS_DAYS,
    add_business_days,
    is_business_day,
    washington_holidays,
)
