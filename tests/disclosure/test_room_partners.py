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
from datashare.disclosure.table import build_space
from datashare.disclosure.witness import SUPPORT_TOL


def _table() -> tuple[object, np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """D0 (one school, at the top of its range: hidden, may only go down), D1 the biggest
    district (every cell published), D2 small (every cell hidden, room both ways); the
    state's cells published."""
    spec = {"organization": {"ST": {"districts": ["D0", "D1", "D2"]},
                             "D0": {"schools": ["S00"]},
                             "D1": {"schools": ["S10", "S11"]},
                             "D2": {"schools": ["S20", "S21"]}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}
    space = build_space(parse_spec(spec))
    at = space.spec.dimensions[0].index()
    by_grade = {"D0": (20, 37), "S00": (20, 37), "S10": (150, 160), "S11": (140, 130),
                "S20": (12, 14), "S21": (15, 11)}
    values = np.zeros(space.shape, dtype=np.int64)
    for name, (g1, g2) in by_grade.items():
        values[at[name], 1:] = (g1, g2)
    for d, schools in (("D1", ("S10", "S11")), ("D2", ("S20", "S21"))):
        values[at[d], 1:] = sum(values[at[s], 1:] for s in schools)
    values[at["ST"], 1:] = values[[at["D0"], at["D1"], at["D2"]], 1:].sum(axis=0)
    values[:, 0] = values[:, 1:].sum(axis=1)
    hidden = np.zeros(space.shape, dtype=bool)
    for name in ("D0", "S00", "D2", "S20", "S21"):
        hidden[at[name]] = True
    values, hidden = values.ravel(), hidden.ravel()
    lower = np.zeros(space.size)
    upper = np.full(space.size, np.inf)
    top = hidden.reshape(space.shape).copy()
    top[[at["D2"], at["S20"], at["S21"]]] = False
    upper[top.ravel()] = values[top.ravel()]  # D0 and its school at the top of their range
    return space, values, hidden, lower, upper, at


def _repair(room: bool) -> tuple[list[tuple[np.ndarray, np.ndarray, int]], np.ndarray, int]:
    space, values, hidden, lower, upper, at = _table()
    target = int(np.ravel_multi_index((at["D0"], 0), space.shape))
    need = np.zeros(space.size)
    need[target] = 1
    exact = np.zeros(space.size, dtype=bool)
    exact[target] = True
    points, left = local.local_repair(space, values, hidden.copy(), np.array([target]), need,
                                      lower, upper, ~hidden, small_first=False,
                                      cheapest=False, either_way=exact, file_audit=room)
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
    _, left, target = _repair(room=False)
    assert list(left) == [target]  # its own region and the biggest district have no room
    points, left, target = _repair(room=True)
    assert not len(left)
    space, values, hidden, lower, upper, at = _table()
    moved, x, carried = points[-1]
    assert carried == target
    point = values.astype(np.float64)
    point[moved] = x
    # A whole point of the published table: every relation holds, published cells kept,
    # every bound kept, and the target one lower.
    assert np.all(point == np.round(point))
    assert not np.any(space.relation_sums(point))
    assert np.all(point[~hidden] == values[~hidden])
    assert np.all((point >= lower) & (point <= upper))
    assert point[target] == values[target] - 1
    d2 = np.zeros(space.shape, dtype=bool)
    d2[[at["D2"], at["S20"], at["S21"]]] = True
    assert np.any(point[d2.ravel()] != values[d2.ravel()])  # the movement went through D2


def test_an_exact_target_with_no_point_upwards_is_moved_down_in_its_own_district() -> None:
    # S00 has room upwards, but up it cannot go: its district's total is published and its
    # sibling S01 is at its lower bound. Down it can (S01 up). The file audit tries the
    # other way, as the block regions do; before, it went to the LPs over the component.
    spec = {"organization": {"ST": {"districts": ["D0", "D1"]},
                             "D0": {"schools": ["S00", "S01"]},
                             "D1": {"schools": ["S10", "S11"]}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}
    space = build_space(parse_spec(spec))
    at = space.spec.dimensions[0].index()
    values = np.zeros(space.shape, dtype=np.int64)
    for name, grades in {"S00": (4, 5), "S01": (13, 12), "S10": (30, 31), "S11": (40, 41)}.items():
        values[at[name], 1:] = grades
    for d, schools in (("D0", ("S00", "S01")), ("D1", ("S10", "S11"))):
        values[at[d], 1:] = values[at[schools[0]], 1:] + values[at[schools[1]], 1:]
    values[at["ST"], 1:] = values[at["D0"], 1:] + values[at["D1"], 1:]
    values[:, 0] = values[:, 1:].sum(axis=1)
    hidden = np.zeros(space.shape, dtype=bool)
    hidden[[at["S00"], at["S01"]]] = True
    values, hidden = values.ravel(), hidden.ravel()
    lower = np.where(hidden, values, 0).astype(np.float64)  # S01 at its lower bound
    lower[np.ravel_multi_index((at["S00"], np.arange(3)), space.shape)] = 0
    upper = np.full(space.size, np.inf)
    target = int(np.ravel_multi_index((at["S00"], 0), space.shape))
    need = np.zeros(space.size)
    need[target] = 1
    exact = np.zeros(space.size, dtype=bool)
    exact[target] = True

    def repair(file_audit: bool) -> tuple[list[tuple[np.ndarray, np.ndarray, int]], np.ndarray]:
        return local.local_repair(space, values, hidden.copy(), np.array([target]), need, lower,
                                  upper, ~hidden, small_first=False, cheapest=False,
                                  either_way=exact, file_audit=file_audit)

    assert list(repair(file_audit=False)[1]) == [target]
    points, left = repair(file_audit=True)
    assert not len(left)
    moved, x, _ = points[-1]
    point = values.astype(np.float64)
    point[moved] = x
    assert not np.any(space.relation_sums(point))
    assert np.all(point[~hidden] == values[~hidden])
    assert np.all((point >= lower) & (point <= upper))
    assert point[target] == values[target] - 1
