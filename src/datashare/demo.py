"""The synthetic demo state `datashare demo` seeds.

Each app contributes one idempotent ``seed(out)`` function (a second run adds nothing); they run
in this order, each in its own transaction. No real student data: people and organizations are
invented, data come from ``datashare.synthetic``.
"""

from __future__ import annotations

SEEDERS: list[str] = [
    "datashare.accounts.demo.seed",
    "datashare.intake.demo.seed",
    "datashare.agreements.demo.seed",
    "datashare.results.demo.seed",
    "datashare.portal.demo.seed",
]
