"""Coarsenings applied to a package's delivered values: the re-cut a steward chooses when the
risk report's coarsened alternative is the one to release (``risk.apply_coarsening``).

The same definitions as the risk report's alternative (``risk._qi_expr``), so the re-cut
delivers exactly the release whose risk the steward reviewed: race's two smallest categories
become ``OT``; a birth year becomes the first year of its three-year cohort; a school code
becomes its district's code. Each Parquet file is rewritten row group by row group (memory
bounded by a row group), rows in the same order, before any other format is derived from it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import gather
from .errors import ExtractError
from .mapping import Mapping
from .spec import ExtractSpec

SMALL_RACES = ("AI", "NH")
OTHER_RACE = "OT"
# Which column each coarsening changes.
COLUMNS = {"race": "race_ethnicity", "birth_year": "birth_year", "school": "school_code"}


def applied_to(column: str, spec: ExtractSpec) -> str:
    """How ``column``'s delivered values were coarsened, in words ('' when they were not)."""
    from .spec import COARSENINGS

    if not spec.apply_coarsening:
        return ""
    return next((COARSENINGS[c] for c in spec.coarsen if COLUMNS[c] == column), "")


def _school_districts(mapping: Mapping, source: Path) -> pa.Table:
    sd = mapping.school_districts
    path = source / f"{sd.get('table')}.parquet"
    if not sd or not path.is_file():
        raise ExtractError("coarsening school codes to districts needs the source's school list")
    table = pq.read_table(path, columns=[sd["school"], sd["district"]])
    return pa.table({"school": table.column(0).cast(pa.string()), "district": table.column(1).cast(pa.string())})


def _coarsen_batch(table: pa.Table, spec: ExtractSpec, districts: pa.Table | None) -> pa.Table:
    for c in spec.coarsen:
        name = COLUMNS[c]
        if name not in table.column_names:
            continue
        col = table.column(name)
        if c == "race":
            new = pc.if_else(pc.is_in(col, pa.array(SMALL_RACES)), pa.scalar(OTHER_RACE), col)
        elif c == "birth_year":
            new = pc.multiply(pc.divide(col, pa.scalar(3, col.type)), pa.scalar(3, col.type))
        else:
            assert districts is not None
            at = pc.index_in(col.cast(pa.string()), value_set=districts.column("school"))
            new = pc.coalesce(pc.take(districts.column("district"), at), col.cast(pa.string()))
        new = new.cast(col.type)
        table = table.set_column(table.column_names.index(name), name, new)
    return table


def apply(spec: ExtractSpec, mapping: Mapping, package: Path, source: Path) -> None:
    """Coarsen the delivered values of every Parquet file of ``package`` in place (each file
    replaced by a rename once its coarsened copy is whole)."""
    if not spec.apply_coarsening:
        return
    districts = _school_districts(mapping, source) if "school" in spec.coarsen else None
    changed = {COLUMNS[c] for c in spec.coarsen}
    for f in spec.files:
        path = package / f"{f}.parquet"
        if not changed & set(pq.read_schema(path).names):
            continue
        gather.rewrite_in_place(path, lambda t: _coarsen_batch(t, spec, districts), "coarsened")
