"""Rate tables under the one attacker model (issue 12), property-based.

Random rate tables (a state of districts of schools, overlapping student-group partitions,
grades; each student in or out of the numerator, with 0% and 100% groups common) are
suppressed, then attacked by the independent MILP of ``milp_audit.py``: it reads only the
published file and knows met <= tested, the labels (N<10 is 1..9, a complement 0 or >= 10,
a coded rate's range, a hidden uncoded numerator in [3, N - 3]) and that counts are whole.
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashare.disclosure.api import audit_table, suppress_table

from . import milp_audit

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def rate_frame(records: list[dict[str, Any]], spec: dict[str, Any]) -> pd.DataFrame:
    """Aggregate student records (school, grade, one group per partition, ``hit``) into
    every cell: tested = students, met = students with ``hit``."""
    def ancestors(dim: str, code: str) -> list[str]:
        parents = {c: p for p, parts in spec[dim].items() for kids in parts.values() for c in kids}
        out = [code]
        while out[-1] in parents:
            out.append(parents[out[-1]])
        return out

    tested: dict[tuple[str, str, str], int] = {}
    met: dict[tuple[str, str, str], int] = {}
    for rec in records:
        groups = ["All Students", *rec["groups"]]
        for key in itertools.product(ancestors("organization", rec["school"]), groups,
                                     ancestors("grade", rec["grade"])):
            tested[key] = tested.get(key, 0) + 1
            met[key] = met.get(key, 0) + int(rec["hit"])
    rows = [{"organization": o, "student_group": g, "grade": k, "tested": n,
             "met": met[(o, g, k)]} for (o, g, k), n in sorted(tested.items())]
    return pd.DataFrame(rows)


@st.composite
def rate_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, Any]]:
    n_districts = draw(st.integers(1, 2))
    org: dict[str, Any] = {"ST": {"districts": [f"D{d}" for d in range(n_districts)]}}
    schools: list[str] = []
    for d in range(n_districts):
        kids = [f"S{d}{s}" for s in range(draw(st.integers(1, 3)))]
        org[f"D{d}"] = {"schools": kids}
        schools += kids
    parts = {f"p{i}": [f"g{i}{j}" for j in range(draw(st.integers(2, 3)))]
             for i in range(draw(st.integers(1, 2)))}
    grades = [f"G{k}" for k in range(draw(st.integers(1, 2)))]
    spec = {"organization": org, "student_group": {"All Students": parts},
            "grade": {"All Grades": {"grades": grades}}}
    # Per school a share in the numerator: none, all, or some (coded rates are common).
    share = {s: draw(st.sampled_from([0.0, 1.0, 0.5, 0.9, 0.1])) for s in schools}
    records = []
    for i in range(draw(st.integers(1, 90))):
        school = draw(st.sampled_from(schools))
        records.append({
            "school": school,
            "grade": draw(st.sampled_from(grades)),
            "groups": [kids[draw(st.sampled_from([0, 0, 0, 1, len(kids) - 1]))]
                       for kids in parts.values()],
            "hit": (i * 7919 % 100) < share[school] * 100,
        })
    return rate_frame(records, spec), spec


def _published_values_are_true(frame: pd.DataFrame, out: pd.DataFrame) -> None:
    for col in ("tested", "met"):
        shown = out[col].notna()
        assert (out.loc[shown, col].astype(int) == frame.loc[shown, col]).all()
    # A hidden group size hides its rate; a coded rate hides its numerator.
    assert out.loc[out["tested"].isna(), "met"].isna().all()
    assert out.loc[out["suppression"] == "top_bottom", "met"].isna().all()
    small = (frame["tested"] > 0) & (frame["tested"] < 10)
    assert (out.loc[small, "suppression"] == "primary").all()


@pytest.mark.parametrize("protection", ["threshold", "exact"])
@SETTINGS
@given(case=rate_tables())
def test_no_rate_table_output_gives_a_small_group_or_a_coded_numerator_away(
        protection: str, case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, spec = case
    result = suppress_table(frame, spec, numerator="met", denominator="tested",
                            protection=protection, seed=1)
    out = result.table
    assert result.audit is not None and result.audit.ok, result.audit.failures()[:5]
    _published_values_are_true(frame, out)
    assert audit_table(out, spec, numerator="met", denominator="tested",
                       protection=protection).ok
    verdict = milp_audit.check(out, spec, numerator="met", denominator="tested",
                               protection=protection, limit=30)
    assert verdict.exact == []  # no small group size, no hidden numerator, derived exactly
    assert verdict.below == []  # at threshold: no small group provably under its label's top


def test_a_table_of_full_rates_keeps_its_coded_numerators_in_their_range() -> None:
    # Every student met: each school's rate is 100%, coded ">Y%" wherever N >= 10. Hiding
    # the numerators alone is not enough when every sibling sits at its N (the numerators'
    # sums pin each at its maximum): group sizes must move too, which only the one model
    # (met <= tested) can see.
    spec = {"organization": {"ST": {"districts": ["D1"]}, "D1": {"schools": ["A", "B", "C"]}},
            "grade": {"All Grades": {"grades": ["1", "2"]}}}
    sizes = {"A": (12, 14), "B": (11, 3), "C": (20, 15)}
    records = [{"school": s, "grade": g, "groups": [], "hit": True}
               for s, (n1, n2) in sizes.items() for g, n in (("1", n1), ("2", n2))
               for _ in range(n)]
    full_spec = {**spec, "student_group": {"All Students": {"all": ["All"]}}}
    frame = rate_frame(records, full_spec)
    frame = frame[frame["student_group"] == "All Students"].drop(columns="student_group")
    result = suppress_table(frame, spec, numerator="met", denominator="tested")
    assert result.audit is not None and result.audit.ok
    assert audit_table(result.table, spec, numerator="met", denominator="tested").ok
    verdict = milp_audit.check(result.table, spec, numerator="met", denominator="tested")
    assert verdict.exact == [] and verdict.below == []
    assert result.report["audit"]["measures"]["met/tested"]["attacker_model"] == "labels-v2"
