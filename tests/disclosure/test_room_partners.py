"""The file audit's region LPs show an exact target not exact where its own way has no point.

Why it matters: a coded numerator at ">95%" with every student tested sits at the top of its
range, so the file audit must find a whole point where it is one lower. With the state's
total published, another district's numerator must then go one higher, and every group and
grade with it. The cross regions reach through the biggest other district, whose groups are
big enough to be published: nothing there may move. Before the room partners, each such cell
went to the LPs over its whole component (scale-1 assessment participation: 70 numerators,
207 s over 661,000 cells). Here the audit's last region tier reaches through the district
whose cells are hidden with room, and its point is checked like every other. And a target
with room upwards but no point there is tried downwards, as the block regions try it.
"""

from __future__ import annotations

import numpy as np

from datashare.disclosure import local
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import CellSpace, build_space
from datashare.disclosure.witness import SUPPORT_TOL

Points = list[tuple[np.ndarray, np.ndarray, int]]


def _org_by_grade(districts: dict[str, list[str]], schools: dict[str, tuple[int, int]],
                  ) -> tuple[CellSpace, np.ndarray, dict[str, int]]:
    """(space, values, organization index) of a state ST of ``districts`` by two grades, the
    schools' counts per grade given and every total summed from them."""
    spec = {"organization": {"ST": {"districts": list(districts)},
                             **{d: {"schools": s} for d, s in districts.items()}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}
    space = build_space(parse_spec(spec))
    at = space.spec.dimensions[0].index()
    values = np.zeros(space.shape, dtype=np.int64)
    for name, grades in schools.items():
        values[at[name], 1:] = grades
    for d, members in districts.items():
        values[at[d], 1:] = values[[at[m] for m in members], 1:].sum(axis=0)
    values[at["ST"], 1:] = values[[at[d] for d in districts], 1:].sum(axis=0)
    values[:, 0] = values[:, 1:].sum(axis=1)
    return space, values.ravel(), at


def _moved_down(space: CellSpace, values: np.ndarray, hidden: np.ndarray, lower: np.ndarray,
                upper: np.ndarray, points: Points, target: int) -> np.ndarray:
    """The last point, checked as a whole point of the published table with ``target`` one
    lower: every relation holds, published cells and every bound kept."""
    moved, x, carried = points[-1]
    assert carried == target
    point = values.astype(np.float64)
    point[moved] = x
    assert np.all(point == np.round(point))
    assert not np.any(space.relation_sums(point))
    assert np.all(point[~hidden] == values[~hidden])
    assert np.all((point >= lower) & (point <= upper))
    assert point[target] == values[target] - 1
    return point


def _exact_target(space: CellSpace, at: dict[str, int], org: str,
                  ) -> tuple[int, np.ndarray, np.ndarray]:
    """(target, need, either-way mask) for ``org``'s All Grades cell, to move by 1."""
    target = int(np.ravel_multi_index((at[org], 0), space.shape))
    need = np.zeros(space.size)
    need[target] = 1
    exact = np.zeros(space.size, dtype=bool)
    exact[target] = True
    return target, need, exact


def _table() -> tuple[CellSpace, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                      dict[str, int]]:
    """D0 (one school, at the top of its range: hidden, may only go down), D1 the biggest
    district (every cell published), D2 small (every cell hidden, room both ways); the
    state's cells published."""
    space, values, at = _org_by_grade(
        {"D0": ["S00"], "D1": ["S10", "S11"], "D2": ["S20", "S21"]},
        {"S00": (20, 37), "S10": (150, 160), "S11": (140, 130), "S20": (12, 14),
         "S21": (15, 11)})
    hidden = np.zeros(space.shape, dtype=bool)
    hidden[[at[name] for name in ("D0", "S00", "D2", "S20", "S21")]] = True
    top = np.zeros(space.shape, dtype=bool)
    top[[at["D0"], at["S00"]]] = True
    hidden, top = hidden.ravel(), top.ravel()
    lower = np.zeros(space.size)
    upper = np.where(top, values, np.inf)  # D0 and its school at the top of their range
    return space, values, hidden, lower, upper, at


def _repair(file_audit: bool) -> tuple[Points, np.ndarray, int]:
    space, values, hidden, lower, upper, at = _table()
    target, need, exact = _exact_target(space, at, "D0")
    points, left = local.local_repair(space, values, hidden.copy(), np.array([target]), need,
                                      lower, upper, ~hidden, small_first=False,
                                      cheapest=False, either_way=exact, file_audit=file_audit)
    return points, left, target


def test_the_partner_with_room_is_the_district_whose_cells_may_move() -> None:
    space, values, hidden, lower, upper, at = _table()
    whole = local.region_codes(space)
    org = space.spec.dimensions[0]
    room = hidden & (values - lower >= 1 - SUPPORT_TOL) & (upper - values >= 1 - SUPPORT_TOL)
    by_size = local.cross_codes(space, values, whole)
    by_room = local.cross_codes(space, values, whole, room=room)
    names = {org.codes[c] for c in by_size[0][at["S00"]]}
    assert {"D1", "S10", "S11"} <= names and "D2" not in names  # the biggest other district
    names = {org.codes[c] for c in by_room[0][at["S00"]]}
    assert {"D2", "S20", "S21"} <= names and "D1" not in names  # the one with room


def test_a_cell_at_the_top_of_its_range_is_moved_down_through_the_district_with_room() -> None:
    _, left, target = _repair(file_audit=False)
    assert list(left) == [target]  # its own region and the biggest district have no room
    points, left, target = _repair(file_audit=True)
    assert not len(left)
    space, values, hidden, lower, upper, at = _table()
    point = _moved_down(space, values, hidden, lower, upper, points, target)
    d2 = np.zeros(space.shape, dtype=bool)
    d2[[at["D2"], at["S20"], at["S21"]]] = True
    assert np.any(point[d2.ravel()] != values[d2.ravel()])  # the movement went through D2


def test_an_exact_target_with_no_point_upwards_is_moved_down_in_its_own_district() -> None:
    # S00 has room upwards, but up it cannot go: its district's total is published and its
    # sibling S01 is at its lower bound. Down it can (S01 up). The file audit tries the
    # other way, as the block regions do; before, it went to the LPs over the component.
    space, values, at = _org_by_grade(
        {"D0": ["S00", "S01"], "D1": ["S10", "S11"]},
        {"S00": (4, 5), "S01": (13, 12), "S10": (30, 31), "S11": (40, 41)})
    hidden = np.zeros(space.shape, dtype=bool)
    hidden[[at["S00"], at["S01"]]] = True
    hidden = hidden.ravel()
    lower = np.where(hidden, values, 0).astype(np.float64)  # S01 at its lower bound
    lower[np.ravel_multi_index((at["S00"], np.arange(3)), space.shape)] = 0
    upper = np.full(space.size, np.inf)
    target, need, exact = _exact_target(space, at, "S00")

    def repair(file_audit: bool) -> tuple[Points, np.ndarray]:
        return local.local_repair(space, values, hidden.copy(), np.array([target]), need, lower,
                                  upper, ~hidden, small_first=False, cheapest=False,
                                  either_way=exact, file_audit=file_audit)

    assert list(repair(file_audit=False)[1]) == [target]
    points, left = repair(file_audit=True)
    assert not len(left)
    _moved_down(space, values, hidden, lower, upper, points, target)
