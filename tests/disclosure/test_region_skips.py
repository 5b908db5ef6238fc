"""The file audit's region LPs do not solve again for a target already moved.

Why it matters: at scale 1, the region LPs are most of a rate table's file audit, and many
of their solves were for targets a point found earlier (in another region, or in a wider
tier) already moves far enough; an exact target is proven by a move either way. The audit
checks every point against every target, so the skipped solves must not change what is
proven.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from datashare.disclosure import audit, local
from datashare.disclosure.api import audit_table

from .conftest import suppressed_statewide


@pytest.fixture(scope="module")
def exact_pattern() -> tuple[pd.DataFrame, dict[str, Any]]:
    return suppressed_statewide(5, 8, 3000, 4, "exact")


def test_the_region_lps_skip_targets_an_earlier_point_moved_and_prove_the_same_cells(
        exact_pattern: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    table, spec = exact_pattern
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    real, repair = audit._region_proofs, audit.local_repair

    def spy(*a: Any, **k: Any) -> Any:
        calls.append((a, k))
        return real(*a, **k)

    with mock.patch.object(audit, "_region_proofs", spy):
        assert audit_table(table, spec, count="count", protection="exact").ok
    assert calls

    def proofs(skip: bool) -> tuple[int, list[np.ndarray]]:
        solves = [0]
        run = local._Region._run

        def counted(self: Any) -> None:
            solves[0] += 1
            run(self)

        def no_skip(*a: Any, **k: Any) -> Any:
            return repair(*a, **{**k, "either_way": None})

        with (mock.patch.object(local, "THREADS", 1),
              mock.patch.object(local._Region, "_run", counted),
              mock.patch.object(audit, "local_repair", repair if skip else no_skip)):
            proven = [np.flatnonzero(real(*a, **k)[0]) for a, k in calls]
        return solves[0], proven

    fewer, skipped = proofs(True)
    every, solved = proofs(False)
    assert fewer < every
    for a, b in zip(skipped, solved, strict=True):
        assert np.array_equal(a, b)
