"""Pure engine: disclosure avoidance (no Django).

Small-cell (primary), complementary and top/bottom suppression of aggregate tables, with an
LP audit that proves every hidden small cell can be neither derived nor bounded below the
policy's minimum N. Library entry points: :func:`suppress_table` and :func:`audit_table`.
"""

from datashare.disclosure.api import audit_table, suppress_table

__all__ = ["audit_table", "suppress_table"]
