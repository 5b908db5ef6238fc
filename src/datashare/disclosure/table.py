"""Long-format table -> dense cell arrays and the additive relations that bind them.

Every combination of codes (one per dimension) is a cell; a combination absent from the input
is a known zero. Each (dimension, parent, partition) crossed with every combination of the
other dimensions' codes gives one relation ``parent = sum(children)``. Relations are stored
CSR-style (``ptr``/``cells``/``coef``) so the engine can count, per relation, suppressed cells
with one ``np.add.reduceat`` instead of a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from datashare.disclosure.errors import DisclosureError
from datashare.disclosure.spec import Spec

Int = np.ndarray  # readability alias for integer index arrays


@dataclass
class CellSpace:
    spec: Spec
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    ptr: np.ndarray  # (R+1,) start of each relation in ``cells``
    cells: np.ndarray  # (E,) member cells; the first member of each relation is its total
    coef: np.ndarray  # (E,) +1 for the total, -1 for a child: sum(coef * x) == 0
    rel_dim: np.ndarray  # (R,) index of the dimension whose partition made the relation
    entry_rel: np.ndarray  # (E,) relation of each entry

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_relations(self) -> int:
        return len(self.ptr) - 1

    def key(self, cell: int) -> dict[str, str]:
        idx = np.unravel_index(int(cell), self.shape)
        return {d.name: d.codes[int(i)] for d, i in zip(self.spec.dimensions, idx, strict=True)}

    def describe(self, cell: int) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.key(cell).items())

    @cached_property
    def by_cell(self) -> tuple[np.ndarray, np.ndarray]:
        """(entry order grouped by cell, start of each cell's entries in that order): a
        cell's relations without scanning every entry (computed once per space)."""
        order = np.argsort(self.cells, kind="stable")
        return order, np.searchsorted(self.cells[order], np.arange(self.size + 1))

    @cached_property
    def cell_relations(self) -> csr_matrix:
        """(cell x relation) matrix of the coefficients: a row is the cell's relations, so
        ``movements @ cell_relations`` sums every relation for many movements at once,
        touching only the relations of the cells they move (computed once per space)."""
        order, start = self.by_cell
        return csr_matrix((self.coef[order].astype(np.float64), self.entry_rel[order], start),
                          shape=(self.size, self.n_relations))

    def entries(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``cells``, entry) for every relation entry of each of ``cells``."""
        by_cell, start = self.by_cell
        deg = start[cells + 1] - start[cells]
        owner = np.repeat(np.arange(len(cells)), deg)
        return owner, by_cell[start[cells][owner] + ramp(deg)]

    @cached_property
    def implied(self) -> np.ndarray:
        """Per relation: whether the others imply it, so an LP may leave it out (its point
        still checked against every relation). A relation along dimension A on a slice where
        a later dimension B is at a total T (the parent of a partition of B) is the sum of
        the same relation on T's children's slices plus B's relations at its members (T =
        sum of its children at each of them), and those are kept or implied in turn: the
        ones kept are those along A whose slice has every later dimension at a code that is
        no total. In a two-way table that drops the one redundant row; in a rate space
        (measure last) every group-size relation but tested = met + not met."""
        first = self.cells[self.ptr[:-1]]
        coords = np.unravel_index(first, self.shape)
        out = np.zeros(self.n_relations, dtype=bool)
        for b in range(len(self.shape)):
            total = np.zeros(self.shape[b], dtype=bool)
            total[coords[b][self.rel_dim == b]] = True
            out |= (self.rel_dim < b) & total[coords[b]]
        return out

    def relation_sums(self, values: np.ndarray) -> np.ndarray:
        """total - sum(children) per relation (0 everywhere for a consistent table)."""
        return np.add.reduceat(self.coef * values[self.cells], self.ptr[:-1])


def build_space(spec: Spec) -> CellSpace:
    shape = tuple(len(d.codes) for d in spec.dimensions)
    n = int(np.prod(shape))
    strides = tuple(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))
    grid = np.arange(n, dtype=np.int64).reshape(shape)
    blocks: list[np.ndarray] = []
    dims: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    for d, dim in enumerate(spec.dimensions):
        base = np.take(grid, 0, axis=d).ravel()  # flat index with this dimension's code = 0
        index = dim.index()
        for part in dim.partitions:
            members = np.array([index[part.parent], *(index[c] for c in part.children)])
            block = base[:, None] + members[None, :] * strides[d]
            blocks.append(block.ravel())
            sizes.append(np.full(len(base), len(members), dtype=np.int64))
            dims.append(np.full(len(base), d, dtype=np.int16))
    cells = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int64)
    size_arr = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    ptr = np.zeros(len(size_arr) + 1, dtype=np.int64)
    np.cumsum(size_arr, out=ptr[1:])
    coef = np.full(len(cells), -1, dtype=np.int64)
    coef[ptr[:-1]] = 1
    entry_rel = np.repeat(np.arange(len(size_arr), dtype=np.int64), size_arr)
    rel_dim = np.concatenate(dims) if dims else np.zeros(0, dtype=np.int16)
    return CellSpace(spec, shape, strides, ptr, cells, coef, rel_dim, entry_rel)


def locate_rows(space: CellSpace, frame: pd.DataFrame) -> np.ndarray:
    """Flat cell index of every input row; unknown codes and duplicate rows are errors."""
    flat = np.zeros(len(frame), dtype=np.int64)
    for dim, stride in zip(space.spec.dimensions, space.strides, strict=True):
        if dim.name not in frame.columns:
            raise DisclosureError(f"input has no column {dim.name!r} (a dimension of the spec)")
        col = frame[dim.name].astype(str)
        codes = pd.Index(dim.codes).get_indexer(col).astype(np.int64)
        if (codes < 0).any():
            bad = col[codes < 0].iloc[0]
            raise DisclosureError(f"code {bad!r} in column {dim.name!r} is not in the spec")
        flat += codes * stride
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        raise DisclosureError(f"duplicate rows for cell {space.describe(int(uniq[counts > 1][0]))}")
    return flat


def measure(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A measure column as non-negative integers, or a one-line error naming the row."""
    if column not in frame.columns:
        raise DisclosureError(f"input has no measure column {column!r}")
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | (values < 0) | (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DisclosureError(
            f"{column} must be a non-negative integer count; row {i + 2} has {raw.iloc[i]!r}"
        )
    return values.to_numpy(dtype=np.int64)


def dense(space: CellSpace, flat: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(space.size, dtype=np.int64)
    out[flat] = values
    return out


def check_consistent(space: CellSpace, values: np.ndarray, column: str,
                     hidden: np.ndarray | None = None) -> None:
    """Every parent equals the sum of each partition; name the first cell that does not.
    ``hidden`` (a published table): only the relations with no hidden member, which no LP
    sees (one with a hidden member is the LPs' to find infeasible)."""
    diff = space.relation_sums(values)
    if hidden is not None:
        diff[np.logical_or.reduceat(hidden[space.cells], space.ptr[:-1])] = 0
    bad = np.flatnonzero(diff)
    if len(bad) == 0:
        return
    r = int(bad[0])
    total = int(space.cells[space.ptr[r]])
    dim = space.spec.dimensions[int(space.rel_dim[r])]
    parent = dim.codes[np.unravel_index(total, space.shape)[int(space.rel_dim[r])]]
    part = _partition_of(space, r)
    raise DisclosureError(
        f"{column} of {space.describe(total)} is {int(values[total])} but its {part!r} "
        f"partition ({dim.name} children of {parent!r}) sums to "
        f"{int(values[total]) - int(diff[r])} (difference {int(diff[r])}; "
        f"{len(bad)} inconsistent total(s))"
    )


def _partition_of(space: CellSpace, r: int) -> str:
    d = int(space.rel_dim[r])
    dim = space.spec.dimensions[d]
    members = space.cells[space.ptr[r] : space.ptr[r + 1]]
    idx = dim.index()
    codes = {dim.codes[np.unravel_index(int(c), space.shape)[d]] for c in members[1:]}
    for part in dim.partitions:
        if set(part.children) == codes and idx[part.parent] is not None:
            return part.name
    return "?"


def ramp(lens: np.ndarray) -> np.ndarray:
    """0..len-1 for each length, concatenated: each element's position within its run (to
    expand CSR ranges without a Python loop)."""
    return np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
