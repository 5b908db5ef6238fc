"""An independent attacker for the tests: a MILP written from the spec and the published
file alone, sharing no code with the engine or its audit (scipy's HiGHS MILP).

The attacker knows every published value, that absent rows are 0, that counts are whole
numbers, and what each label says: ``N<10`` is 1..9; a complementary label is 0 OR >= 10
(the true disjunction, with a binary per cell, not the engine's restriction); a rate's
``<X%`` / ``>Y%`` is a numerator in [0, 2] / [N - 2, N]; a hidden, uncoded numerator with N
published is in [3, N - 3]; met <= tested; numerators and denominators in one model.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

BIG = 10**6
T = 10
K = 3


@dataclass
class Verdict:
    exact: list[tuple[Any, ...]] = field(default_factory=list)  # determined hidden cells
    # Determined by the labels alone (every non-zero cell hidden, e.g. a state of 4 students
    # in one grade): no pattern protects them; the engine reports them (disclosed_by_labels).
    by_labels: list[tuple[Any, ...]] = field(default_factory=list)
    below: list[tuple[Any, ...]] = field(default_factory=list)  # max under the labels' own
    checked: int = 0


def _cells(spec: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    dims = list(spec)
    codes = []
    for d in dims:
        seen: list[str] = []
        for parent, parts in spec[d].items():
            for code in [str(parent), *(str(c) for kids in parts.values() for c in kids)]:
                if code not in seen:
                    seen.append(code)
        codes.append(seen)
    return dims, codes


def _relations(spec: dict[str, Any], dims: list[str], codes: list[list[str]]):
    """(parent key, [child keys]) for every partition crossed with the other dimensions."""
    for i, d in enumerate(dims):
        others = [codes[j] for j in range(len(dims)) if j != i]
        for parent, parts in spec[d].items():
            for kids in parts.values():
                for rest in itertools.product(*others):
                    def key(code: str, rest: tuple[str, ...] = rest, i: int = i) -> tuple:
                        r = list(rest)
                        r.insert(i, code)
                        return tuple(r)
                    yield key(str(parent)), [key(str(c)) for c in kids]


class Model:
    """Variables: one per (measure, cell) that is hidden, plus one binary per complementary
    cell for "0 or >= T". Published and absent cells are constants."""

    def __init__(self) -> None:
        self.index: dict[tuple, int] = {}
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, name: tuple, lo: float, hi: float) -> int:
        self.index[name] = len(self.lo)
        self.lo.append(lo)
        self.hi.append(hi)
        return self.index[name]

    def row(self, terms: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((terms, lo, hi))

    def solve(self, var: int, sense: float) -> float | None:
        n = len(self.lo)
        r, c, v, lb, ub = [], [], [], [], []
        for i, (terms, lo, hi) in enumerate(self.rows):
            for j, a in terms.items():
                r.append(i)
                c.append(j)
                v.append(a)
            lb.append(lo)
            ub.append(hi)
        cost = np.zeros(n)
        cost[var] = -sense
        cons = [LinearConstraint(coo_matrix((v, (r, c)), shape=(len(self.rows), n)), lb, ub)] \
            if self.rows else []
        res = milp(cost, constraints=cons, integrality=np.ones(n),
                   bounds=Bounds(np.array(self.lo), np.array(self.hi)),
                   options={"time_limit": 60})
        if res.status != 0:
            return None
        return float(res.x[var])


def _sum_row(model: Model, terms: list[tuple[float, Any]]) -> None:
    """sum(coef * item) == 0 where an item is a variable id (int) or a known number."""
    lin: dict[int, float] = {}
    const = 0.0
    for coef, item in terms:
        if isinstance(item, tuple):  # ("var", id)
            lin[item[1]] = lin.get(item[1], 0.0) + coef
        else:
            const += coef * float(item)
    if lin:
        model.row(lin, -const, -const)
    else:
        assert abs(const) < 1e-9, "published values do not add up"


def audit_published(published: pd.DataFrame, spec: dict[str, Any], measures: list[str],
                    numerator: str | None = None, denominator: str | None = None,
                    labels_only: bool = False) -> tuple[Model, dict[tuple, Any]]:
    """The attacker's model of a published count (``measures=[count]``) or rate table.
    ``labels_only``: every non-zero cell hidden, as if nothing were published but the labels
    (what the labels alone disclose: the threshold goal)."""
    dims, codes = _cells(spec)
    model = Model()
    rows = {tuple(str(r[d]) for d in dims): r for r in published.to_dict("records")}
    item: dict[tuple, Any] = {}  # (measure, key) -> number or ("var", id)
    for m in measures:
        for key in itertools.product(*codes):
            r = rows.get(key)
            if r is None:
                item[(m, key)] = 0
                continue
            value = r[m]
            status = str(r.get("suppression", ""))
            shown = str(r.get("display", ""))
            hidden = pd.isna(value)
            if labels_only and not hidden:
                hidden = int(value) != 0
                status = "published"  # not small, or it would carry the small label
            if not hidden:
                item[(m, key)] = int(value)
                continue
            is_den = m == denominator or numerator is None
            if is_den and status == "primary":
                item[(m, key)] = ("var", model.var((m, key), 1, T - 1))
            elif is_den and status == "published":
                item[(m, key)] = ("var", model.var((m, key), T, BIG))
            elif is_den:
                v = model.var((m, key), 0, BIG)
                b = model.var(("bin", m, key), 0, 1)
                model.row({v: 1.0, b: -T}, 0, np.inf)  # v >= T * b
                model.row({v: 1.0, b: -BIG}, -np.inf, 0)  # v <= BIG * b
                item[(m, key)] = ("var", v)
            else:  # a hidden numerator: its label bounds, with N published
                n = rows[key][denominator]
                lo, hi = 0, BIG
                if not pd.isna(n) and not labels_only:
                    n = int(n)
                    if status == "top_bottom" and shown.startswith("<"):
                        lo, hi = 0, min(K - 1, n)
                    elif status == "top_bottom" and shown.startswith(">"):
                        lo, hi = max(n - K + 1, 0), n
                    else:
                        lo, hi = K, n - K
                item[(m, key)] = ("var", model.var((m, key), lo, hi))
    for m in measures:
        for parent, kids in _relations(spec, dims, codes):
            _sum_row(model, [(1.0, item[(m, parent)]), *((-1.0, item[(m, k)]) for k in kids)])
    if numerator and denominator:
        for key in itertools.product(*codes):
            a, b = item[(numerator, key)], item[(denominator, key)]
            if isinstance(a, tuple) or isinstance(b, tuple):
                lin: dict[int, float] = {}
                const = 0.0
                for coef, it in ((1.0, a), (-1.0, b)):
                    if isinstance(it, tuple):
                        lin[it[1]] = lin.get(it[1], 0.0) + coef
                    else:
                        const += coef * it
                model.row(lin, -np.inf, -const)  # met - tested <= 0
    return model, item


def check(published: pd.DataFrame, spec: dict[str, Any], *, count: str | None = None,
          numerator: str | None = None, denominator: str | None = None,
          protection: str = "threshold", limit: int = 40) -> Verdict:
    """Check up to ``limit`` hidden cells that must be protected (spread over the table)."""
    measures = [count] if count else [denominator, numerator]
    model, item = audit_published(published, spec, measures, numerator, denominator)
    goals, _ = audit_published(published, spec, measures, numerator, denominator,
                               labels_only=True)
    statuses = {tuple(str(r[d]) for d in spec): str(r.get("suppression", ""))
                for r in published.to_dict("records")}
    out = Verdict()
    todo = []
    for (m, key), it in item.items():
        if not isinstance(it, tuple) or (isinstance(m, str) and m == "bin"):
            continue
        status = statuses.get(key, "")
        is_primary_den = status == "primary" and m == (count or denominator)
        if is_primary_den or (numerator is not None and m == numerator):
            todo.append(((m, key), it, is_primary_den))
    step = max(1, len(todo) // limit)
    for target, it, is_primary_den in todo[::step][:limit]:
        out.checked += 1
        hi = model.solve(it[1], +1)
        lo = model.solve(it[1], -1)
        assert hi is not None and lo is not None, f"attacker model infeasible at {target}"
        if round(hi) == round(lo):
            g_hi = goals.solve(goals.index[target], +1)
            g_lo = goals.solve(goals.index[target], -1)
            determined = g_hi is not None and g_lo is not None and round(g_hi) == round(g_lo)
            (out.by_labels if determined else out.exact).append(target)
        if protection == "threshold" and is_primary_den and round(hi) < T - 1:
            g = goals.solve(goals.index[target], +1)
            assert g is not None
            if round(hi) < min(round(g), T - 1):
                out.below.append(target)
    return out
