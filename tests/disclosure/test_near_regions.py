"""The local LPs look for a big district's school witness among a few of its schools first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datashare.disclosure import local
from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space

from .conftest import statewide_records


def _one_district(schools: int) -> dict[str, Any]:
    return {"organization": {"ST": {"districts": ["D"]},
                             "D": {"schools": [f"S{i:02d}" for i in range(schools)]}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}


def test_a_school_of_a_big_district_looks_first_among_the_schools_hidden_alongside_it() -> None:
    space = build_space(parse_spec(_one_district(40)))
    org = space.spec.dimensions[0].index()
    hidden = np.zeros(space.shape, dtype=bool)
    # S00 hides grade 1; S30..S37 hide grade 1 too, S20 hides grade 2 (shares nothing).
    for name in ["S00", *(f"S{i}" for i in range(30, 38))]:
        hidden[org[name], 1] = True
    hidden[org["S20"], 2] = True
    small = local.region_codes(space, small=True)
    near = local.near_codes(space, hidden.ravel(), small)
    assert near is not None
    names = {space.spec.dimensions[0].codes[c] for c in near[0][org["S00"]]}
    assert names == {"S00", "D", *(f"S{i}" for i in range(30, 38))}
    assert len(small[0][org["S00"]]) == 41  # the district and all 40 schools
    assert near[1] == small[1]  # the grades are few: not narrowed


def test_small_districts_have_no_near_tier() -> None:
    space = build_space(parse_spec(_one_district(5)))
    hidden = np.ones(space.size, dtype=bool)
    assert local.near_codes(space, hidden, local.region_codes(space, small=True)) is None


@pytest.mark.parametrize("protection", ["threshold", "exact"])
def test_a_big_districts_small_cells_pass_both_audits_with_near_regions_first(
        protection: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # With NEAR_MAX at 3, the 8 schools of a district are a wide dimension: every school
    # target's region is narrowed to 2 of its siblings first (the real limit needs a district of
    # 25 schools, too slow for a unit test).
    monkeypatch.setattr(local, "NEAR_MAX", 3)
    monkeypatch.setattr(local, "NEAR_SIBLINGS", 2)
    narrowed: list[int] = []
    near_codes = local.near_codes

    def spy(space, hidden, regions):  # type: ignore[no-untyped-def]
        out = near_codes(space, hidden, regions)
        narrowed.append(out is not None)
        return out

    monkeypatch.setattr(local, "near_codes", spy)
    frame, spec = statewide_records(2, 8, 900, 3)
    result = suppress_table(frame, spec, count="count", method="cubes", protection=protection)
    assert result.report["protection_method"]["count"]["local_lp_witnesses"] > 0
    assert any(narrowed)
    assert result.audit is not None and result.audit.ok
    assert audit_table(result.table, spec, count="count", protection=protection, cubes=False).ok


def _rural_and_city() -> tuple[Any, np.ndarray]:
    """A one-school rural district (every cell small) beside a city district of two big
    schools; grade 1 and 2."""
    spec = {"organization": {"ST": {"districts": ["R", "C"]}, "R": {"schools": ["R1"]},
                             "C": {"schools": ["C1", "C2"]}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}
    space = build_space(parse_spec(spec))
    per_grade = {"R1": 1, "C1": 50, "C2": 40}
    per_grade |= {"R": 1, "C": 90, "ST": 91}
    values = np.zeros(space.shape)
    org = space.spec.dimensions[0].index()
    for name, v in per_grade.items():
        values[org[name]] = [2 * v, v, v]
    return space, values.ravel()


def test_a_rural_districts_small_cell_is_carried_through_the_biggest_other_district(
        monkeypatch: pytest.MonkeyPatch) -> None:
    space, values = _rural_and_city()
    primary = (values > 0) & (values < 10)
    lo = np.where(primary, 1.0, 10.0)
    hi = np.where(primary, 9.0, np.inf)
    grand = np.zeros(space.size, dtype=bool)
    grand[0] = True  # ST, All Grades: never moved while a smaller cell will do
    org = space.spec.dimensions[0].index()
    target = np.ravel_multi_index((org["R1"], 1), space.shape)
    need = np.zeros(space.size)
    need[target] = 7.0  # to 8: R1's total may reach 9, its grade 2 is at least 1
    # Within R and the state nothing can move: R1 is R, and the state's grade 1 can only
    # move with its total (kept) or its grade 2 (whose other district is held).
    monkeypatch.setattr(local, "cross_codes", lambda space, values, whole: whole)
    hidden = primary.copy()
    _, left = local.local_repair(space, values, hidden, np.array([target]), need, lo, hi, grand)
    assert left.tolist() == [target]
    monkeypatch.undo()
    hidden = primary.copy()
    points, left = local.local_repair(space, values, hidden, np.array([target]), need, lo, hi,
                                      grand)
    assert not len(left)
    cells, x, carried = points[-1]
    assert carried == target
    point = values.copy()
    point[cells] = x
    assert point[target] == 8
    assert not np.abs(space.relation_sums(point)).any()  # every relation still adds up
    assert ((point >= lo) & (point <= hi) | (point == values)).all()
    assert hidden[cells].all() and not hidden[0]  # moved cells hidden; the state total not
    codes = {space.spec.dimensions[0].codes[c] for c in np.unravel_index(cells, space.shape)[0]}
    assert "C" in codes and codes & {"C1", "C2"}  # through the city district's schools
