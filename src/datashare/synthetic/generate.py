"""Write the synthetic statewide source: one Parquet file per table, streamed year by year.

Only one school year's rows are in memory at a time (plus the static attributes of every
student, which become the ``students`` table at the end), so peak memory stays well under
the 8 GiB target at scale 1.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datashare.fsutil import atomic_folder

from . import geography, names, tables
from .population import FIRST_YEAR, GENDERS, LANGUAGES, LAST_YEAR, RACES, Population, Students

YEARLY_TABLES = (
    "enrollment",
    "programs",
    "assessment",
    "courses",
    "attendance",
    "discipline",
    "outcomes",
)
ROW_GROUP = 262_144  # several row groups per year so readers can parallelise and skip years


@dataclass
class SourceSummary:
    path: str
    scale: float
    seed: int
    first_year: int
    last_year: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class _Writers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table | None) -> None:
        if table is None or table.num_rows == 0:
            return
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(
                self.folder / f"{name}.parquet", table.schema, compression="zstd"
            )
            self.rows[name] = 0
        self.writers[name].write_table(table, row_group_size=ROW_GROUP)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def _unique_digits(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct random integers in [low, high): redraw collisions until none remain."""
    values = rng.integers(low, high, n, dtype=np.int64)
    while True:
        order = np.argsort(values, kind="stable")
        dup = np.zeros(n, bool)
        dup[order[1:]] = values[order[1:]] == values[order[:-1]]
        if not dup.any():
            return values
        values[dup] = rng.integers(low, high, int(dup.sum()), dtype=np.int64)


def students_table(rng: np.random.Generator, born: list[Students]) -> pa.Table:
    cols = {k: np.concatenate([b[k] for b in born]) for k in born[0].cols}
    n = len(cols["key"])
    keys = np.sort(cols["key"])
    if (keys[1:] == keys[:-1]).any():  # ~1e-6 at scale 1; refuse rather than merge two students
        raise RuntimeError("student_key collision: rerun with another seed")
    ssid = _unique_digits(rng, n, 1_000_000_000, 9_999_999_999)
    # SSN-like numbers in area 900-999, which the SSA never issues: they cannot be a real SSN.
    area = rng.integers(900, 1000, n)
    group = rng.integers(1, 100, n)
    serial = rng.integers(1, 10000, n)

    def pad(a: np.ndarray, w: int) -> pa.Array:
        return pc.utf8_lpad(pc.cast(pa.array(a), pa.string()), w, "0")

    birth = pa.array(cols["birth"], pa.date32())
    return pa.table(
        {
            "student_key": cols["key"],
            "state_student_id": pc.cast(pa.array(ssid), pa.string()),
            "legal_first_name": names.first_names(rng, n),
            "legal_last_name": names.last_names(rng, n),
            "birth_date": birth,
            "ssn": pc.binary_join_element_wise(pad(area, 3), pad(group, 2), pad(serial, 4), "-"),
            "street_address": names.street_addresses(rng, n),
            "gender": tables._dict(cols["gender"], GENDERS),
            "race_ethnicity": tables._dict(cols["race"], RACES),
            "birth_year": pc.year(birth).cast(pa.int32()),
            "home_language": tables._dict(cols["lang"], LANGUAGES),
        }
    )


def generate(out: Path, scale: float, seed: int) -> SourceSummary:
    """Generate the source into ``out`` (created; must not exist). Reproducible from the seed."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists")
    started = time.monotonic()
    with atomic_folder(out) as work:
        rng = np.random.default_rng(seed)
        geo = geography.build(rng, scale)
        writers = _Writers(work)
        writers.write("districts", geo.districts_table())
        writers.write("schools", geo.schools_table())
        population = Population(rng, geo, scale)
        for year in population.years():
            writers.write("enrollment", tables.enrollment(year, geo))
            writers.write("programs", tables.programs(year, geo, rng))
            writers.write("assessment", tables.assessment(year, rng))
            writers.write("courses", tables.courses(year, rng))
            writers.write("attendance", tables.attendance(year, rng))
            writers.write("discipline", tables.discipline(year, rng))
            writers.write("outcomes", tables.outcomes(year))
        writers.write("students", students_table(rng, population.born))
        writers.close()
        summary = SourceSummary(str(out), scale, seed, FIRST_YEAR, LAST_YEAR, dict(writers.rows))
        summary.seconds = round(time.monotonic() - started, 2)
        meta = {
            **asdict(summary),
            "seconds": None,
            "path": None,
            "kind": "datashare synthetic CEDARS-like source",
        }
        (work / "source.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return summary
