"""A region's LP holds every relation that touches a cell free to move, and nothing else.

Why it matters: each local witness (the suppressor's and the file audit's) is the region's
rest point plus the LP's movement. A relation left out, or a member's sign flipped, lets a
"witness" break an additive relation, and a proof from it would be false. The region's
matrix is now read off the free cells' own relation entries instead of every member of every
relation they touch; this checks it against that definition, written out member by member.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure import audit, engine, joint, local
from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.model import rate_space
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, dense, locate_rows

from .conftest import random_tables, statewide_records


def _expected(space: Any, cells: np.ndarray) -> tuple[np.ndarray, set[tuple[int, int, float]]]:
    """(relations, {(row, column, coefficient)}) from the definition: every relation with a
    member among ``cells``, each row holding its members' up (+) and down (-) columns."""
    free = {int(c): i for i, c in enumerate(cells)}
    n = len(cells)
    rels: list[int] = []
    entries: set[tuple[int, int, float]] = set()
    for r in range(space.n_relations):
        members = [(int(space.cells[e]), float(space.coef[e]))
                   for e in range(space.ptr[r], space.ptr[r + 1])]
        if not any(c in free for c, _ in members):
            continue
        row = len(rels)
        rels.append(r)
        for c, coef in members:
            if c in free:
                entries |= {(row, free[c], coef), (row, free[c] + n, -coef)}
    return np.array(rels), entries


def _matrix(region: Any) -> tuple[int, set[tuple[int, int, float]]]:
    a = region.h.getLp().a_matrix_
    start, index, value = (np.asarray(x) for x in (a.start_, a.index_, a.value_))
    out = set()
    for j in range(a.num_col_):
        rows = index[start[j]:start[j + 1]]
        assert (np.diff(rows) > 0).all(), "each column's rows ascending, none twice"
        out |= {(int(r), j, float(v)) for r, v in zip(rows, value[start[j]:start[j + 1]],
                                                        strict=True)}
    return a.num_row_, out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables(), st.integers(0, 2**32 - 1), st.booleans())
def test_a_region_lp_holds_exactly_the_relations_its_free_cells_are_in(
        case: tuple[pd.DataFrame, dict[str, Any]], seed: int, small: bool) -> None:
    frame, spec = case
    space = build_space(parse_spec(spec))
    values = dense(space, locate_rows(space, frame), frame["count"].to_numpy())
    rng = np.random.default_rng(seed)
    hidden = rng.random(space.size) < 0.4
    blocked = rng.random(space.size) < 0.3  # may not move unless hidden (the audits)
    lo, hi = np.zeros(space.size), np.full(space.size, np.inf)
    regions = local.region_codes(space, small=small)
    for key in local._by_region(space, np.arange(space.size), regions):
        region = local._Region(space, values, hidden, local._region_cells(space, key), lo, hi,
                               blocked, [0])
        assert ((hidden | ~blocked)[region.cells]).all()
        rels, entries = _expected(space, region.cells)
        rows, got = _matrix(region)
        assert rows == len(rels)
        assert got == entries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables(), st.integers(0, 2**32 - 1))
def test_a_soft_round_over_targets_apart_rewards_no_two_sharing_a_relation(
        case: tuple[pd.DataFrame, dict[str, Any]], seed: int) -> None:
    # Two targets in one relation block each other in a soft round (Female up is Male down
    # under a published total); a count table's rounds reward a set apart: in the order
    # given, every target that shares no relation with one taken before it.
    frame, spec = case
    space = build_space(parse_spec(spec))
    values = dense(space, locate_rows(space, frame), frame["count"].to_numpy())
    rng = np.random.default_rng(seed)
    hidden = rng.random(space.size) < 0.5
    lo, hi = np.zeros(space.size), np.full(space.size, np.inf)
    for key in local._by_region(space, np.arange(space.size), local.region_codes(space)):
        region = local._Region(space, values, hidden, local._region_cells(space, key), lo, hi,
                               None, [0])
        _, entries = _expected(space, region.cells)
        rows_of: dict[int, set[int]] = {}
        for row, col, _ in entries:
            rows_of.setdefault(col % len(region.cells), set()).add(row)
        targets = rng.permutation(region.cells[region.hid])
        apart = region.apart(targets)
        expected, used = [], set()
        for cell in targets.tolist():
            mine = rows_of.get(int(region.pos(np.array([cell]))[0]), set())
            if not mine & used:
                expected.append(cell)
                used |= mine
        assert apart.tolist() == expected


def _repair_asked(monkeypatch: Any, module: Any, option: str = "apart",
                 default: bool = False) -> list[bool]:
    """Per call of ``module.local_repair`` from here on, whether it asked for rounds apart
    (or for another of its yes-or-no ``option``s, ``default`` where not given)."""
    asked: list[bool] = []
    repair = module.local_repair

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(bool(kwargs.get(option, default)))
        return repair(*args, **kwargs)

    monkeypatch.setattr(module, "local_repair", spy)
    return asked


def test_a_count_table_and_a_rate_tables_numerators_round_over_targets_apart(
        monkeypatch: Any) -> None:
    # Measured: a count table's suppression is faster and hides fewer cells with it (985,608
    # rows: 0.70 of the CPU), a rate table's numerators' pass as fast with 0.1-0.2% fewer
    # cells; its group sizes and joint rounds far slower (scale-0.05 chronic absence 1.6x).
    asked = _repair_asked(monkeypatch, engine)  # the suppressor's local LPs
    counts, spec = statewide_records(3, 4, 900, 7)
    suppress_table(counts, spec, count="count")
    assert asked and all(asked)
    asked.clear()
    numerators, others = _in_the_numerators_pass(monkeypatch, asked)
    assert numerators and all(numerators)
    assert others and not any(others)


def _in_the_numerators_pass(monkeypatch: Any, asked: list[bool],
                            ) -> tuple[list[bool], list[bool]]:
    """A rate table suppressed: what ``asked`` recorded of its calls made in the numerators'
    pass, and of the others (its group sizes and joint rounds)."""
    in_pass: list[int] = []
    numerator_pass = joint._numerator_pass

    def spy(*args: Any, **kwargs: Any) -> Any:
        first = len(asked)
        try:
            return numerator_pass(*args, **kwargs)
        finally:
            in_pass.extend(range(first, len(asked)))

    monkeypatch.setattr(joint, "_numerator_pass", spy)
    rates, spec = statewide_records(3, 4, 900, 7, met=0.3)
    suppress_table(rates, spec, numerator="met", denominator="tested")
    inside = set(in_pass)
    return ([asked[i] for i in in_pass],
            [a for i, a in enumerate(asked) if i not in inside])


def test_a_rate_tables_numerators_pass_goes_straight_to_the_whole_regions(
        monkeypatch: Any) -> None:
    # Measured: the small regions carried about 1,700 of the 94,000 numerator targets of
    # scale-1 discipline they were given; without them its pass took 0.66 of the seconds.
    # The group sizes (a count table's targets) still start small: there the small regions
    # carry most of what they are given, several times cheaper.
    small_first = _repair_asked(monkeypatch, engine, "small_first", True)
    numerators, others = _in_the_numerators_pass(monkeypatch, small_first)
    assert numerators and not any(numerators)
    assert others and all(others)


def test_the_file_audit_rounds_over_targets_apart_and_the_suppressors_own_audit_does_not(
        monkeypatch: Any) -> None:
    # The file audit hides nothing, so rounding apart only makes it faster (985,608-row
    # file, one thread: 115.0 -> 88.8 s); the suppressor's own audit proves the targets
    # that choose its pattern, so it keeps its rounds (and its patterns).
    asked = _repair_asked(monkeypatch, audit)
    counts, spec = statewide_records(3, 4, 900, 7)
    result = suppress_table(counts, spec, count="count")
    assert asked and not any(asked)  # the suppressor's own audit ran its region proofs
    asked.clear()
    assert audit_table(result.table, spec, count="count").ok
    assert asked and all(asked)


def test_a_cross_region_reaches_through_the_biggest_other_district_and_its_biggest_schools(
        monkeypatch: Any) -> None:
    # A small school of a small district has no room among its own schools: its cross region
    # adds the biggest other district and that district's biggest schools, where the
    # movement can go up through the state and back down.
    monkeypatch.setattr(local, "CROSS_CHILDREN", 1)
    spec = {"organization": {"ST": {"districts": ["D0", "D1", "D2"]},
                             "D0": {"schools": ["S00", "S01"]},
                             "D1": {"schools": ["S10", "S11", "S12"]},
                             "D2": {"schools": ["S20"]}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}
    space = build_space(parse_spec(spec))
    org = space.spec.dimensions[0]
    at = org.index()
    sizes = {"ST": 420, "D0": 100, "S00": 60, "S01": 40, "D1": 300, "S10": 50, "S11": 200,
             "S12": 50, "D2": 20, "S20": 20}
    values = np.zeros(space.shape, dtype=np.int64)
    for name, size in sizes.items():
        values[at[name], 0] = size  # at All Grades, where the sizes are read
    whole = local.region_codes(space)
    cross = local.cross_codes(space, values.ravel(), whole)

    def names(code: str) -> set[str]:
        return {org.codes[c] for c in cross[0][at[code]]}

    # A school of D0 or D2: the biggest other district (D1) and its biggest school (S11).
    assert names("S00") == {org.codes[c] for c in whole[0][at["S00"]]} | {"D1", "S11"}
    assert names("S20") >= {"D1", "S11"} and not names("S20") & {"S10", "S12", "D0"}
    # A district: the biggest of the others; D1's is D0 with S00, D0's and D2's is D1.
    assert names("D1") >= {"D0", "S00"} and "S01" not in names("D1")
    assert names("D2") >= {"D1", "S11"} and "D0" not in names("D2")
    assert cross[1] == whole[1]  # the grades have no children below them: unchanged


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables(), st.integers(0, 2**32 - 1))
def test_not_met_moves_at_no_cost_in_a_rate_space_region_and_every_other_cell_pays(
        case: tuple[pd.DataFrame, dict[str, Any]], seed: int) -> None:
    # "Not met" is hidden whenever either measure is and moves only with them, so their
    # costs pay for its movement; a count table has no such cell, and nothing else is free.
    _, spec = case
    base = parse_spec(spec)
    rspace = rate_space(base, "met", "tested")
    rng = np.random.default_rng(seed)
    for space in (build_space(base), rspace):
        values = rng.integers(0, 40, space.size)
        hidden = rng.random(space.size) < 0.5
        lo, hi = np.zeros(space.size), np.full(space.size, np.inf)
        rest = space is rspace
        for key in local._by_region(space, np.arange(space.size), local.region_codes(space)):
            region = local._Region(space, values, hidden, local._region_cells(space, key),
                                   lo, hi, None, [0])
            cost = np.asarray(region.h.getLp().col_cost_).reshape(2, -1)
            free = (region.cells % 3 == 2) if rest else np.zeros(len(region.cells), bool)
            paid = np.where(hidden[region.cells], local.HIDDEN_COST,
                            1.0 + local.VALUE_COST * values[region.cells])
            assert (cost == np.where(free, 0.0, paid)).all()
            # A cell a point moves is hidden from then on and pays as hidden; "not met"
            # still nothing.
            targets = region.targets(region.cells[~free & region.hid], np.ones(space.size))
            if len(targets) and region.carry(targets[:1], soft=False) is not None:
                cost = np.asarray(region.h.getLp().col_cost_).reshape(2, -1)
                paid = np.where(region.hid, local.HIDDEN_COST, paid)
                assert (cost == np.where(free, 0.0, paid)).all()
