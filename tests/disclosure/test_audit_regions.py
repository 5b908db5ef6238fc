"""The file audit's region LPs keep a soft round's whole point as the witness.

Why it matters: in ``audit-table`` only hidden cells move, so a costlier point hides nothing
more; solving again for the cheapest movement (what the suppressor needs) was a quarter of
the audit's region solves at 201,535 rows. Every point kept must still be a whole witness
that re-verifies: one that does not is a proof lost (or, were it trusted, a false one).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from datashare.disclosure import audit, local
from datashare.disclosure.api import audit_table

from .conftest import suppressed_statewide


@pytest.fixture(scope="module")
def published() -> tuple[pd.DataFrame, dict[str, Any]]:
    # 5 districts of 8 schools: two of its soft rounds in the audit end at a fractional point.
    return suppressed_statewide(5, 8, 3000, 4, "threshold")


def _audit(published: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
           cheapest: bool) -> tuple[Any, int, int, int]:
    """(The audit, region solves, region points, points that re-verified)."""
    solves, points, verified = [0], [0], [0]
    run, repair, proofs = local._Region._run, audit.local_repair, audit._region_proofs

    def counted(self: Any) -> None:
        solves[0] += 1
        run(self)

    def repaired(*args: Any, **kwargs: Any) -> Any:
        got = repair(*args, **{**kwargs, "cheapest": cheapest})
        points[0] += len(got[0])
        return got

    def proven(*args: Any, **kwargs: Any) -> Any:
        # Without the block regions, so every point it checks is one ``repaired`` counted.
        got = proofs(*args, **{**kwargs, "blocks": False})
        verified[0] += len(got[1])
        return got

    with monkeypatch.context() as m:
        m.setattr(local, "THREADS", 1)
        m.setattr(local._Region, "_run", counted)
        m.setattr(audit, "local_repair", repaired)
        m.setattr(audit, "_region_proofs", proven)
        checked = audit_table(published[0], published[1], count="count",
                              protection="threshold")
    return checked, solves[0], points[0], verified[0]


@pytest.mark.parametrize("cheapest", [False, True])
def test_every_region_point_of_the_file_audit_is_a_whole_witness(
        published: tuple[pd.DataFrame, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        cheapest: bool) -> None:
    checked, solves, points, verified = _audit(published, monkeypatch, cheapest)

    assert checked.ok
    local_proofs = sum(r.proof_methods()["local_lp"] for r in checked.results.values())
    assert local_proofs > 0 and points > 0 and solves > 0
    assert verified == points, "a region point did not re-verify"
