"""Count tables: OSPI labels, complementary suppression, and the audit as the proof."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datashare.disclosure.api import audit_table, suppress_table
from datashare.disclosure.errors import DisclosureError
from datashare.disclosure.spec import parse_spec

from .conftest import SMALL_SPEC, table_from_records


def _small() -> pd.DataFrame:
    recs = []
    layout = {("S1", "3"): 14, ("S1", "4"): 25, ("S2", "3"): 30, ("S2", "4"): 7, ("S3", "3"): 40,
              ("S3", "4"): 33}
    i = 0
    for (school, grade), n in layout.items():
        for _ in range(n):
            recs.append({"organization": school, "grade": grade,
                         "part:gender": "Female" if i % 3 else "Male",
                         "part:income": "Low Income" if i % 7 == 0 else "Not Low Income"})
            i += 1
    return table_from_records(recs, SMALL_SPEC)


def test_primary_complementary_and_labels() -> None:
    frame = _small()
    result = suppress_table(frame, SMALL_SPEC, count="count")
    out = result.table
    small = (frame["count"] > 0) & (frame["count"] < 10)
    assert (out.loc[small, "suppression"] == "primary").all()
    assert (out.loc[small, "display"] == "N<10").all()
    comp = out[out["suppression"] == "complementary"]
    assert len(comp) > 0
    assert set(comp["display"]) <= {"Cross Student Group - N<10", "Cross Grade Level - N<10",
                                    "Cross Organization - N<10"}
    assert out.loc[out["suppression"] != "", "count"].isna().all()
    shown = out[out["suppression"] == ""]
    assert (shown["display"] == shown["count"].astype(str).where(shown["count"] > 0,
                                                                 "No Students")).all()
    assert result.audit is not None and result.audit.ok
    # The grand total is never hidden here: smaller cells always do.
    total = out[(out.organization == "WA") & (out.student_group == "All Students")
                & (out.grade == "All Grades")]
    assert (total["suppression"] == "").all()
    assert audit_table(out, SMALL_SPEC, count="count").ok


def test_audit_catches_a_cell_recoverable_by_subtraction() -> None:
    frame = _small()
    out = suppress_table(frame, SMALL_SPEC, count="count").table
    # Publish every complementary cell again: the primaries become derivable.
    leaked = out.copy()
    comp = leaked["suppression"] == "complementary"
    leaked.loc[comp, "count"] = frame.loc[comp, "count"]
    leaked.loc[comp, "suppression"] = ""
    audit = audit_table(leaked, SMALL_SPEC, count="count")
    assert not audit.ok
    fail = audit.failures()[0]
    assert fail["max"] is not None and fail["max"] < 10


def test_exact_protection_hides_no_more_than_threshold() -> None:
    frame = _small()
    thr = suppress_table(frame, SMALL_SPEC, count="count", protection="threshold").table
    exact = suppress_table(frame, SMALL_SPEC, count="count", protection="exact").table
    assert (exact["suppression"] != "").sum() <= (thr["suppression"] != "").sum()
    assert audit_table(exact, SMALL_SPEC, count="count", protection="exact").ok


def test_intervals_are_exact_and_use_the_labels() -> None:
    # a = 3 is "N<10" (1..9); a complement says "0 or >= 10" and is never 0, so >= 10. With b
    # alone hidden, a + b = 15 and b >= 10 put a in 1..5: the attacker learns a <= 5. With c
    # alone hidden, a + c = 28 and c >= 10 leave a anything the label allows (c in 19..27):
    # one complement, the larger cell, is enough (the unhide pass publishes b).
    spec = {"g": {"T": {"p": ["a", "b", "c"]}}}
    frame = pd.DataFrame({"g": ["T", "a", "b", "c"], "count": [40, 3, 12, 25]})
    out = suppress_table(frame, spec, count="count").table.set_index("g")
    assert out.loc["a", "suppression"] == "primary"
    assert out.loc["c", "suppression"] == "complementary"
    assert out.loc["b", "suppression"] == "" and out.loc["b", "count"] == 12
    audit = audit_table(out.reset_index(), spec, count="count", intervals=True)
    ivs = sorted(audit.results["count"].intervals.values())
    assert ivs == [(1.0, 9.0), (19.0, 27.0)]


def test_next_smallest_preset_min5() -> None:
    spec = {"g": {"T": {"p": ["a", "b", "c"]}}}
    frame = pd.DataFrame({"g": ["T", "a", "b", "c"], "count": [40, 4, 12, 24]})
    out = suppress_table(frame, spec, count="count", policy="min5").table.set_index("g")
    assert out.loc["a", "display"] == "*" and out.loc["b", "display"] == "**"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"g": ["T", "a", "b"], "count": [10, 3, 8]}), "difference -1"),
        (pd.DataFrame({"g": ["T", "a", "b"], "count": [10, -3, 13]}), "non-negative integer"),
        (pd.DataFrame({"g": ["T", "a", "b"], "count": [10, 2.5, 7.5]}), "non-negative integer"),
        (pd.DataFrame({"g": ["T", "a", "z"], "count": [10, 3, 7]}), "'z'"),
    ],
)
def test_bad_tables_are_refused_with_one_clear_message(frame: pd.DataFrame, message: str) -> None:
    spec = {"g": {"T": {"p": ["a", "b"]}}}
    with pytest.raises(DisclosureError, match=message):
        suppress_table(frame, spec, count="count")


def test_inconsistent_total_names_the_cell() -> None:
    spec = {"g": {"T": {"p": ["a", "b"]}}, "k": {"All": {"ks": ["1", "2"]}}}
    rows = [("T", "All", 20), ("T", "1", 10), ("T", "2", 10), ("a", "All", 12), ("a", "1", 6),
            ("a", "2", 6), ("b", "All", 8), ("b", "1", 4), ("b", "2", 5)]
    frame = pd.DataFrame(rows, columns=["g", "k", "count"])
    with pytest.raises(DisclosureError, match=r"g=T, k=2 is 10 .*sums to 11 \(difference -1"):
        suppress_table(frame, spec, count="count")


def test_cycles_and_unknown_policies_are_refused() -> None:
    with pytest.raises(DisclosureError, match="cycle"):
        parse_spec({"o": {"A": {"x": ["B"]}, "B": {"y": ["A"]}}})
    with pytest.raises(DisclosureError, match="unknown policy"):
        suppress_table(pd.DataFrame({"g": ["T", "a"], "count": [1, 1]}),
                       {"g": {"T": {"p": ["a"]}}}, count="count", policy="nope")


def test_numerator_above_denominator_is_refused() -> None:
    spec = {"g": {"T": {"p": ["a", "b"]}}}
    frame = pd.DataFrame({"g": ["T", "a", "b"], "n": [20, 10, 10], "m": [12, 11, 1]})
    with pytest.raises(DisclosureError, match="above"):
        suppress_table(frame, spec, numerator="m", denominator="n")


def test_arrow_tables_are_accepted() -> None:
    pa = pytest.importorskip("pyarrow")
    frame = _small()
    out = suppress_table(pa.Table.from_pandas(frame), SMALL_SPEC, count="count").table
    assert len(out) == len(frame) and np.isin(["suppression", "display"], out.columns).all()
