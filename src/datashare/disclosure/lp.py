"""A thin HiGHS model over one batch of suppressed cells (the audit's only solver contact).

Variables are the suppressed cells; rows are the published relations that touch them
(``sum(coef * x) == sum(coef * true value)`` over the suppressed members, because the
published members are known). The model is built once per batch; the audit then only changes
costs and bounds and re-solves, which HiGHS warm-starts from the previous basis.

Every HiGHS model of the engine comes from ``new_highs`` and is solved with ``run``. No solve
may stop on time: the same table (with the same policy, options and ``api.ENGINE_VERSION``)
must give the same pattern and the same verdict on every run, whatever the machine's load.
Two patterns of one table, published at two times (a corrected release, a rebuilt portal
version), can be combined by an attacker to narrow small cells that each protects alone. So
the MILPs stop on branch-and-bound *nodes* (``mip_max_nodes``, counted by HiGHS the same way
on every run), HiGHS runs on one thread (its solvers are deterministic then), and the wall
clock is only a guard against a solver that hangs (``GUARD_SECONDS``, far above any solve of
a normal run): reaching it raises ``SolverGuardError`` instead of changing the pattern.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import highspy
import numpy as np

from datashare.disclosure.errors import SolverGuardError

INF = float(highspy.kHighsInf)
# The solver a pattern was chosen with, named beside ENGINE_VERSION in every report: another
# HiGHS release may branch differently within the same node limits, so the same table under
# the same engine version reproduces its pattern only with the same solver (uv.lock pins it).
SOLVER = f"HiGHS (highspy {metadata.version('highspy')})"
# One integer solve of the audit (a per-cell extreme, a whole starting point): past this many
# branch-and-bound nodes the cell counts as unproven (never as proof).
MILP_NODES = 1_000
FEASIBLE = 2  # HiGHS's kSolutionStatusFeasible
PRESOLVE_DEPENDENT_EQUATIONS = 1 << 10  # its bit in HiGHS's presolve_rule_off
# A guard, not a limit: one solve's wall-clock seconds past which the run stops with an error.
# The largest solves of a normal run take seconds (a whole-component LP at 45,730 rows).
GUARD_SECONDS = 3600.0


def new_highs() -> highspy.Highs:
    # The plain core object: the Python wrapper prints a banner on stdout when constructed,
    # which would pollute the CLI's output.
    core = getattr(highspy, "_Highs", None) or highspy.Highs
    h = core()
    h.setOptionValue("output_flag", False)
    # The batched rounds change many bounds at once and start from scratch: interior point
    # (with crossover, so the point is a vertex that pushes cells to their caps) was 2.5x
    # faster than dual simplex on a 12,000-cell component (measured 2026-11-29); single-cell
    # solves switch to warm-started simplex (BatchLP.prefer_warm_start).
    h.setOptionValue("presolve", "on")
    h.setOptionValue("solver", "ipm")
    # One thread: the MIP solver's parallel parts (symmetry detection, clique queries) and
    # the parallel dual simplex are not used, and every run takes the same path.
    h.setOptionValue("threads", 1)
    h.setOptionValue("parallel", "off")
    h.setOptionValue("time_limit", GUARD_SECONDS)
    return h


def run(h: highspy.Highs) -> None:
    """``h.run()``; a solve stopped by the wall-clock guard raises ``SolverGuardError``
    (treating it as "no point found" would make the pattern depend on the load)."""
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
        raise SolverGuardError(
            f"a HiGHS solve ran past the {GUARD_SECONDS:.0f}-second guard; nothing was "
            "published, since stopping it early would make the pattern depend on the "
            "machine's load (re-run on a less loaded machine, or report the table)")


def whole_point(lp: highspy.HighsLp, gap: float | None = None,
                nodes: int = MILP_NODES) -> np.ndarray | None:
    """``lp`` as a MILP (every variable whole), stopped after ``nodes`` branch-and-bound
    nodes; its point, or one found before the node limit (any whole point that verifies is a
    witness), else None. ``gap``: the relative gap it stops at (None: HiGHS's)."""
    m = new_highs()
    m.setOptionValue("solver", "choose")
    m.setOptionValue("mip_max_nodes", nodes)
    if gap is not None:
        m.setOptionValue("mip_rel_gap", gap)
    m.passModel(lp)
    m.changeColsIntegrality(lp.num_col_, np.arange(lp.num_col_, dtype=np.int32),
                            np.full(lp.num_col_, highspy.HighsVarType.kInteger))
    run(m)
    if (m.getModelStatus() != highspy.HighsModelStatus.kOptimal
            and m.getInfo().primal_solution_status != FEASIBLE):
        return None
    return np.round(np.asarray(m.getSolution().col_value))


def equality_model(n_cols: int, rows: np.ndarray, cols: np.ndarray, coefs: np.ndarray,
                   rhs: np.ndarray, cost: np.ndarray, lower: np.ndarray,
                   upper: np.ndarray) -> highspy.HighsLp:
    """The LP ``A x == rhs``, ``lower <= x <= upper``, cost ``cost``; A given as (row, col,
    coef) triplets, passed to HiGHS column-wise."""
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = len(rhs)
    lp.col_cost_ = cost.astype(np.float64)
    lp.col_lower_ = lower.astype(np.float64)
    lp.col_upper_ = upper.astype(np.float64)
    lp.row_lower_ = rhs.astype(np.float64)
    lp.row_upper_ = rhs.astype(np.float64)
    start, index, value = colwise(n_cols, rows, cols, coefs)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = len(rhs)
    return lp


def pass_equality_model(h: highspy.Highs, n_cols: int, rows: np.ndarray, cols: np.ndarray,
                        coefs: np.ndarray, rhs: np.ndarray, cost: np.ndarray,
                        lower: np.ndarray, upper: np.ndarray) -> None:
    """``h.passModel(equality_model(...))`` without the ``HighsLp``: its matrix setters copy
    element by element (3 ms per 50,000 entries), where passing the arrays is one copy (a
    region LP is built for each of thousands of regions)."""
    start, index, value = colwise(n_cols, rows, cols, coefs)
    b = rhs.astype(np.float64)
    h.passModel(n_cols, len(rhs), len(index), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0, cost.astype(np.float64),
                lower.astype(np.float64), upper.astype(np.float64), b, b, start,
                index, value, np.zeros(n_cols, dtype=np.int32))  # every column continuous


def colwise(n_cols: int, rows: np.ndarray, cols: np.ndarray, coefs: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, index, value) of the triplets, column by column, rows ascending in each."""
    # A stable sort by column gives that alone when each column's rows come in ascending
    # order (a region LP's do: built relation by relation), several times faster than the
    # two-key sort it falls back to.
    order = np.argsort(cols, kind="stable")
    r, c = rows[order], cols[order]
    if not ((r[1:] > r[:-1]) | (c[1:] != c[:-1])).all():
        order = np.lexsort((rows, cols))
    start = np.zeros(n_cols + 1, dtype=np.int32)
    np.cumsum(np.bincount(cols, minlength=n_cols), out=start[1:])
    return (start, rows[order].astype(np.int32),
            coefs[order].astype(np.float64))


class BatchLP:
    def __init__(
        self,
        n_cols: int,
        rows: np.ndarray,
        cols: np.ndarray,
        coefs: np.ndarray,
        rhs: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> None:
        self.n = n_cols
        self.lower = lower.astype(np.float64)
        self.upper = upper.astype(np.float64)
        self.h = new_highs()
        pass_equality_model(self.h, n_cols, rows, cols, coefs, rhs, np.zeros(n_cols),
                            self.lower, self.upper)
        self._cost_cols = np.zeros(0, dtype=np.int32)
        self.solves = 0

    def prefer_warm_start(self) -> None:
        """For many small objective changes: primal simplex from the last optimal basis (still
        primal feasible after a cost change), without presolve, which would discard it.
        Measured about 10x faster per single-cell solve than dual simplex with presolve."""
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("solver", "simplex")
        self.h.setOptionValue("simplex_strategy", 4)

    def skip_dependent_rows(self) -> None:
        """Presolve without its search for linearly dependent equations: on the whole-start
        LP at 985,608 rows (601,658 rows, 736,724 columns) it ran 4.7 s and stopped on its
        own time estimate without removing a row (the relations the others imply are left
        out before: ``CellSpace.implied``); 34.6 -> 29.2 s for the solve."""
        self.h.setOptionValue("presolve_rule_off", PRESOLVE_DEPENDENT_EQUATIONS)

    def crossover(self, on: bool) -> None:
        """Interior point without crossover stops near the centre of the optimal face; with a
        zero objective that is a feasible point strictly inside the bounds where possible,
        which leaves hidden cells room to move for the audit's cube certificates."""
        self.h.setOptionValue("run_crossover", "on" if on else "off")

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        if len(cols):
            self.h.changeColsBounds(
                len(cols), cols.astype(np.int32), lower.astype(np.float64), upper.astype(np.float64)
            )

    def reset_bounds(self, cols: np.ndarray) -> None:
        self.set_bounds(cols, self.lower[cols], self.upper[cols])

    def maximize(self, cols: np.ndarray, weights: np.ndarray, integer: bool = False,
                 nodes: int = MILP_NODES) -> tuple[str, float, np.ndarray]:
        """Maximise sum(weights * x[cols]); returns (status, objective, x). ``integer``: the
        same model with every variable integral (a MILP, stopped after ``nodes``
        branch-and-bound nodes), for an LP optimum that is not a whole-number point; the
        model is continuous again afterwards."""
        if integer:
            every = np.arange(self.n, dtype=np.int32)
            self.h.changeColsIntegrality(self.n, every,
                                         np.full(self.n, highspy.HighsVarType.kInteger))
            got: Any = self.h.getOptionValue("presolve")
            # highspy returns (status, value) here; older versions the value alone.
            presolve = str(got[-1] if isinstance(got, tuple) else got)
            # The LP's basis, for the next LP after the MILP (which leaves none): a cold
            # start over a 32,000-cell component took 12 s, warm 0.0 s.
            basis = self.h.getBasis()
            self.h.setOptionValue("presolve", "on")
            self.h.setOptionValue("mip_max_nodes", nodes)
            try:
                return self.maximize(cols, weights)
            finally:
                self.h.setOptionValue("presolve", presolve)
                self.h.changeColsIntegrality(self.n, every,
                                             np.full(self.n, highspy.HighsVarType.kContinuous))
                if basis.valid:
                    self.h.setBasis(basis)
        if len(self._cost_cols):
            self.h.changeColsCost(
                len(self._cost_cols), self._cost_cols, np.zeros(len(self._cost_cols))
            )
        self._cost_cols = cols.astype(np.int32)
        self.h.changeColsCost(len(cols), self._cost_cols, weights.astype(np.float64))
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        run(self.h)
        self.solves += 1
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            x = np.asarray(self.h.getSolution().col_value)
            return "optimal", float(self.h.getInfo().objective_function_value), x
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return "unbounded", INF, np.zeros(0)
        return status.name if hasattr(status, "name") else str(status), float("nan"), np.zeros(0)
