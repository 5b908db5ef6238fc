"""The attacker who reads the labels (issue 12): the engine's audit uses what the labels say,
and every output is checked by an independent MILP attacker (``milp_audit.py``)."""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure import model
from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.model import ATTACKER_MODEL

from . import milp_audit
from .conftest import dense_counts, random_tables

HAND_SPEC: dict[str, Any] = {
    "organization": {"D": {"schools": ["S1", "S2"]}},
    "student_group": {"All Students": {"gender": ["Female", "Male"]}},
    "grade": {"All Grades": {"grades": ["3", "4"]}},
}
HAND_LEAVES = {("S1", "Female", "3"): 1, ("S1", "Male", "3"): 10, ("S1", "Female", "4"): 20,
               ("S1", "Male", "4"): 20, ("S2", "Female", "3"): 15, ("S2", "Male", "3"): 15,
               ("S2", "Female", "4"): 30, ("S2", "Male", "4"): 30}


def hand_table() -> pd.DataFrame:
    """The issue's example: school S1's grade-3 All Students = 11, Female 1, Male 10."""
    cells: dict[tuple[str, str, str], int] = {}
    for (o, g, k), v in HAND_LEAVES.items():
        for key in itertools.product((o, "D"), (g, "All Students"), (k, "All Grades")):
            cells[key] = cells.get(key, 0) + v
    return pd.DataFrame([{"organization": o, "student_group": g, "grade": k, "count": v}
                         for (o, g, k), v in sorted(cells.items())])


def test_the_issues_hand_example_fails_the_new_audit_as_the_old_engine_published_it() -> None:
    # What the engine published before issue 12 (its LP method, verbatim): S1's grade-3 All
    # Students (11) stays published, Female 3 is "N<10" (1..9) and Male 3 a complement
    # (0 or >= 10; >= 2 from the sum, so >= 10): Female = 1 and Male = 10 exactly.
    out = hand_table()
    old_hidden = {("S1", "Female", "3"): "primary", ("S1", "Female", "4"): "complementary",
                  ("S1", "Male", "3"): "complementary", ("S1", "Male", "4"): "complementary",
                  ("S2", "Female", "3"): "complementary", ("S2", "Female", "4"): "complementary",
                  ("S2", "Male", "3"): "complementary", ("S2", "Male", "4"): "complementary"}
    keys = list(zip(out["organization"], out["student_group"], out["grade"], strict=True))
    out["suppression"] = [old_hidden.get(k, "") for k in keys]
    out["display"] = [{"primary": "N<10", "complementary": "Cross Student Group - N<10"}
                      .get(old_hidden.get(k, ""), "") for k in keys]
    out["count"] = out["count"].astype("Int64").mask(out["suppression"] != "")
    result = audit_table(out, HAND_SPEC, count="count")
    assert not result.ok
    failing = {(f["organization"], f["student_group"], f["grade"]) for f in result.failures()}
    assert ("S1", "Female", "3") in failing
    row = next(f for f in result.failures() if f["student_group"] == "Female")
    assert (row["min"], row["max"]) == (1.0, 1.0)  # derived exactly
    # The independent attacker agrees.
    assert ("count", ("S1", "Female", "3")) in milp_audit.check(out, HAND_SPEC, count="count").exact


def test_the_issues_hand_example_is_protected_now() -> None:
    for method in ("lp", "cubes"):
        for protection in ("threshold", "exact"):
            result = suppress_table(hand_table(), HAND_SPEC, count="count", method=method,
                                    protection=protection)
            assert result.audit is not None and result.audit.ok
            assert audit_table(result.table, HAND_SPEC, count="count", protection=protection).ok
            verdict = milp_audit.check(result.table, HAND_SPEC, count="count",
                                       protection=protection)
            assert verdict.checked == 1 and not verdict.exact and not verdict.below
            assert result.report["attacker_model"] == ATTACKER_MODEL


def _published_values_right(frame: pd.DataFrame, out: pd.DataFrame, columns: list[str]) -> None:
    for col in columns:
        shown = out[col].notna()
        assert (out.loc[shown, col].astype(int) == frame.loc[shown, col].astype(int)).all()


def _no_zero_complements(frame: pd.DataFrame, out: pd.DataFrame, column: str) -> None:
    comp = out["suppression"].eq("complementary") & out[column].isna()
    assert (frame.loc[comp, column] >= 10).all()


# Bounded so the suite stays fast: each example is a few dozen small MILPs.
PROPS = settings(max_examples=10, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPS
@given(random_tables(), st.sampled_from(["threshold", "exact"]))
def test_count_tables_are_safe_against_the_independent_milp_attacker(case, protection) -> None:
    _safe_against_the_milp_attacker(case, protection)


@settings(PROPS, max_examples=6)
@given(random_tables(), st.sampled_from(["threshold", "exact"]))
def test_big_tables_that_refine_only_the_goals_left_over_are_safe_too(case, protection) -> None:
    """Above REFINE_MAX_CELLS the exact goals are computed only for the cells the cubes and
    local LPs leave (the suppressor) and the cells that fail the propagated goals
    (audit-table); the two must still agree, and the MILP attacker still finds nothing."""
    with mock.patch.object(model, "REFINE_MAX_CELLS", 0):
        _safe_against_the_milp_attacker(case, protection)


def test_the_hand_example_is_protected_with_goals_refined_lazily() -> None:
    with mock.patch.object(model, "REFINE_MAX_CELLS", 0):
        _safe_against_the_milp_attacker((hand_table(), HAND_SPEC), "threshold")


def _safe_against_the_milp_attacker(case: tuple[pd.DataFrame, dict[str, Any]],
                                    protection: str) -> None:
    frame, spec = case
    result = suppress_table(frame, spec, count="count", protection=protection)
    assert result.audit is not None and result.audit.ok
    out = result.table
    _published_values_right(frame, out, ["count"])
    _no_zero_complements(frame, out, "count")
    verdict = milp_audit.check(out, spec, count="count", protection=protection)
    assert not verdict.exact, verdict.exact
    assert not verdict.below, verdict.below
    if verdict.by_labels:  # no pattern can protect them: the report must say so
        stats = result.report["protection_method"]["count"]
        assert stats["disclosed_by_labels"] >= len(verdict.by_labels)
    assert audit_table(out, spec, count="count", protection=protection).ok


def test_labels_that_contradict_the_values_fail_the_audit_not_crash_it() -> None:
    # A zero cell labelled complementary under an "N<10" total: the old engine did this.
    spec = {"g": {"T": {"p": ["a", "b"]}}}
    out = pd.DataFrame({"g": ["T", "a", "b"], "count": [None, None, None],
                        "suppression": ["primary", "primary", "complementary"],
                        "display": ["N<10", "N<10", "Cross Organization - N<10"]})
    result = audit_table(out, spec, count="count")
    assert not result.ok
    assert all("contradict" in f["rule"] for f in result.failures())


def _label_goal_of(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[Any, Any, Any]:
    from datashare.disclosure.model import label_goal
    from datashare.disclosure.policy import load_policy

    space, values, _, primary = dense_counts(frame, spec)
    goal = label_goal(space, primary, (values == 0) & ~primary, load_policy("ospi"))
    return space, primary, goal


def test_the_labels_bound_a_small_group_through_a_complement_in_another_partition() -> None:
    # A school grade of 12: both income groups are "N<10" (so All Students is at most 18),
    # Students without Disabilities (11) is a complement (>= 10): Students with Disabilities
    # (1) is at most 8 from the labels alone, so 8 is its threshold goal, not 9.
    spec = {"student_group": {"All": {"income": ["LI", "NLI"], "disability": ["SWD", "SWOD"]}}}
    frame = pd.DataFrame({"student_group": ["All", "LI", "NLI", "SWD", "SWOD"],
                          "count": [12, 3, 9, 1, 11]})
    space, _, goal = _label_goal_of(frame, spec)
    at = {space.key(c)["student_group"]: goal[c] for c in range(space.size)}
    assert (at["SWD"], at["LI"], at["NLI"]) == (8.0, 9.0, 9.0)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_tables())
def test_the_goal_is_never_below_what_the_labels_alone_allow(case) -> None:
    # The goal is an upper bound of the labels-only maximum (interval propagation is a
    # relaxation): a goal below it would ask less than the attacker model does.
    frame, spec = case
    space, primary, goal = _label_goal_of(frame, spec)
    small = (frame["count"] > 0) & (frame["count"] < 10)
    out = frame.assign(suppression=small.map({True: "primary", False: ""}),
                       count=frame["count"].astype("Int64").mask(small))
    model, item = milp_audit.audit_published(out, spec, ["count"], labels_only=True)
    dims = list(spec)
    cells = [c for c in range(space.size) if primary[c]][:12]
    for c in cells:
        key = tuple(space.key(c)[d] for d in dims)
        best = model.solve(item[("count", key)][1], +1)
        assert best is not None and goal[c] >= round(best)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_tables())
def test_a_goal_the_region_lps_decide_is_the_one_the_whole_table_gives(case) -> None:
    # The suppressor of a big table decides most lazy goals from two LPs over the cell's
    # region; audit-table asks the LP over the whole table. Where the regions decide, the
    # numbers must be the same, or the two sides would disagree on what protects a cell.
    import numpy as np

    from datashare.disclosure.local import region_goals
    from datashare.disclosure.model import _labels_only_bounds, labels_disclose, refine_goal
    from datashare.disclosure.policy import load_policy
    from datashare.disclosure.table import dense, locate_rows

    frame, spec = case
    space, primary, goal = _label_goal_of(frame, spec)
    values = dense(space, locate_rows(space, frame), frame["count"].to_numpy())
    zero = (values == 0) & ~primary
    policy = load_policy("ospi")
    exact = refine_goal(space, values, primary, zero, goal, policy, True)
    cells = np.flatnonzero(primary)
    lo, hi = _labels_only_bounds(primary, zero, goal, policy)
    decided, got, determined = region_goals(space, values, zero, lo, hi, cells, goal)
    assert (got[decided] == exact[cells[decided]]).all()
    # A cell at its own value is decided as determined exactly where the labels alone pin it.
    pinned = labels_disclose(space, values, primary, zero, exact, policy, True)
    assert (pinned[cells] & decided == determined).all()
