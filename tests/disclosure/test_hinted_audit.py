"""The publisher's audit of the published file, given the suppressor's proof (`Proof`: the
true values and the witnesses). It re-verifies each witness against the model it reads from
the file and searches only for what they leave, so its verdicts must be the verdicts it
reaches without them, and no witness may make a leaking file pass: a witness that moves a
cell the file publishes, breaks a relation or leaves a bound proves nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from datashare.disclosure.api import Proof, audit_table, suppress_table
from datashare.disclosure.spec import parse_spec
from datashare.disclosure.table import build_space, locate_rows
from datashare.disclosure.witness import Witnesses

from . import milp_audit
from .conftest import random_tables, statewide_records
from .test_publisher_audit import examples, failing
from .test_rate_properties import rate_tables


def republished(out: pd.DataFrame, truth: pd.DataFrame, every: int) -> pd.DataFrame | None:
    """``out`` with every ``every``-th complementary cell published again at its true value:
    a weaker pattern than the one the suppressor's witnesses prove (None: no complement)."""
    again = np.flatnonzero((out["suppression"] == "complementary").to_numpy())[::every]
    if not len(again):
        return None
    weaker = out.copy()
    rows = weaker.index[again]
    weaker.loc[rows, "suppression"] = ""
    weaker.loc[rows, "count"] = truth["count"].to_numpy()[again]
    weaker.loc[rows, "display"] = weaker.loc[rows, "count"].astype(str)
    return weaker


def cells(spec: dict[str, Any], out: pd.DataFrame, hidden: bool) -> np.ndarray:
    """The flat cells of ``out``'s hidden (or published) rows."""
    space = build_space(parse_spec(spec))
    return locate_rows(space, out[out["count"].isna() == hidden])


@examples(8)
@given(random_tables(), st.sampled_from(["threshold", "exact"]))
def test_the_suppressors_witnesses_give_the_file_audit_its_own_verdicts(
        case: tuple[pd.DataFrame, dict[str, Any]], protection: str) -> None:
    frame, spec = case
    result = suppress_table(frame, spec, count="count", protection=protection)
    assert result.proof is not None
    hinted = audit_table(result.table, spec, count="count", protection=protection,
                         hints=result.proof)
    plain = audit_table(result.table, spec, count="count", protection=protection)
    assert hinted.ok == plain.ok
    assert failing(hinted) == failing(plain)
    assert plain.results["count"].hinted == 0


def test_most_small_cells_of_a_statewide_table_are_proven_by_the_suppressors_witnesses() -> None:
    frame, spec = statewide_records(3, 4, 900, 2)
    result = suppress_table(frame, spec, count="count")
    hinted = audit_table(result.table, spec, count="count", hints=result.proof).results["count"]
    plain = audit_table(result.table, spec, count="count").results["count"]
    assert hinted.ok and plain.ok
    assert hinted.hinted > hinted.targets // 2
    assert hinted.proof_methods()["suppressor_witness"] == hinted.hinted
    assert hinted.summary()["proven_by_suppressor_witnesses"] == hinted.hinted
    assert plain.hinted == 0 and plain.proof_methods()["suppressor_witness"] == 0


@examples(10)
@given(rate_tables())
def test_a_rate_tables_file_audit_with_the_suppressors_witnesses_has_its_own_verdicts(
        case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    frame, spec = case
    args = dict(numerator="met", denominator="tested")
    result = suppress_table(frame, spec, **args)
    assert result.proof is not None
    hinted = audit_table(result.table, spec, hints=result.proof, **args)
    plain = audit_table(result.table, spec, **args)
    assert hinted.ok == plain.ok
    assert {tuple(f.values()) for f in hinted.failures()} == {
        tuple(f.values()) for f in plain.failures()}


@examples(8)
@given(random_tables(), st.integers(1, 3))
def test_witnesses_of_a_safe_pattern_cannot_pass_a_weaker_published_file(
        case: tuple[pd.DataFrame, dict[str, Any]], every: int) -> None:
    # The file publishes complementary cells the witnesses move: those witnesses are no
    # points of the file's model, so they prove nothing, and whatever now leaks fails.
    frame, spec = case
    result = suppress_table(frame, spec, count="count")
    weaker = republished(result.table, frame, every)
    if weaker is None:
        return
    hinted = audit_table(weaker, spec, count="count", hints=result.proof)
    plain = audit_table(weaker, spec, count="count")
    assert failing(hinted) == failing(plain)
    verdict = milp_audit.check(weaker, spec, count="count")
    pinned = {key for _, key in verdict.exact + verdict.below}
    assert pinned <= failing(hinted)


def test_a_statewide_file_weaker_than_its_witnesses_fails_where_it_leaks() -> None:
    # Some witnesses still verify (they move only cells the file still hides) and prove their
    # cells; the file fails exactly where it fails without them, and where the attacker pins.
    frame, spec = statewide_records(2, 3, 400, 0)
    result = suppress_table(frame, spec, count="count")
    weaker = republished(result.table, frame, 2)
    assert weaker is not None
    hinted = audit_table(weaker, spec, count="count", hints=result.proof)
    plain = audit_table(weaker, spec, count="count")
    assert hinted.results["count"].hinted > 0 and not hinted.ok
    assert failing(hinted) == failing(plain)
    verdict = milp_audit.check(weaker, spec, count="count")
    assert {key for _, key in verdict.exact + verdict.below} <= failing(hinted)


def test_a_witness_that_breaks_a_relation_or_moves_a_published_cell_proves_nothing() -> None:
    frame, spec = statewide_records(2, 3, 600, 0)
    result = suppress_table(frame, spec, count="count")
    proof = result.proof
    assert proof is not None
    hid, shown = cells(spec, result.table, True), cells(spec, result.table, False)
    # One witness per small hidden cell below 9 carrying it alone to 9: hidden, whole and
    # within its label's 1-9, but every relation it is in breaks. Then one per hidden cell
    # moving a published cell with it, claiming to carry the cell far.
    small = hid[(proof.values[hid] >= 1) & (proof.values[hid] < 9)]
    assert len(small)
    n = len(small)
    bogus = Witnesses()
    bogus.add(np.arange(n), small, 9.0 - proof.values[small], small, np.arange(n), n,
              Witnesses.LP)
    m = min(n, len(shown))
    pairs = np.repeat(np.arange(m), 2)
    both = np.column_stack([hid[:m], shown[:m]]).ravel()
    bogus.add(pairs, both, np.tile([5.0, -5.0], m), hid[:m], np.arange(m), m, Witnesses.LP)
    fooled = audit_table(result.table, spec, count="count",
                         hints=Proof(proof.values, bogus)).results["count"]
    assert fooled.hinted == 0
    assert fooled.ok


def test_hints_whose_values_are_not_a_point_of_the_file_are_not_used() -> None:
    frame, spec = statewide_records(2, 3, 600, 0)
    result = suppress_table(frame, spec, count="count")
    proof = result.proof
    assert proof is not None
    wrong = proof.values.copy()
    wrong[cells(spec, result.table, True)[0]] += 1  # its relations no longer add up
    shown_wrong = proof.values.copy()
    shown_wrong[cells(spec, result.table, False)[0]] += 1  # not what the file says
    for values in (wrong, shown_wrong, proof.values[:-1]):
        got = audit_table(result.table, spec, count="count",
                          hints=Proof(values, proof.witnesses)).results["count"]
        assert got.hinted == 0
        assert got.ok

