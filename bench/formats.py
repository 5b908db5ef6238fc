"""Memory and speed of the Stata, SPSS and SAS writers on one large data file.

    python bench/formats.py [--rows 5000000] [--formats dta,sav,xpt] [--whole]

Writes a Parquet file shaped like an extract's assessment file (random RIDs, school years,
codes, dates, flags, scores, missing values), then each format in its own process, streamed
(a million rows at a time; ``--whole`` also runs pyreadstat on the whole frame, the writer
before), and prints wall and CPU seconds, peak RSS and the file's size. The streamed
writer's peak should stay flat as ``--rows`` grows; the whole-frame writer's grows with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)
    with pq.ParquetWriter(path, _schema()) as w:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            missing = rng.random(n) < 0.05
            days = rng.integers(0, 6000, n)
            w.write_table(
                pa.table(
                    {
                        "rid": rng.choice(letters, size=(n, 12)).view("S12").ravel().astype(str),
                        "school_year": rng.choice(["2019-20", "2020-21", "2021-22"], n),
                        "test_subject": pa.array(rng.choice(["ELA", "Math", "Science"], n)),
                        "tested_grade": pa.array(
                            np.where(missing, None, rng.choice(["03", "05", "08", "10"], n))
                        ),
                        "entry_date": pa.array(
                            (np.datetime64("2008-01-01") + days).astype("datetime64[D]"),
                            pa.date32(),
                            mask=missing,
                        ),
                        "special_education": pa.array(days % 2 == 0, mask=missing),
                        "scale_score": pa.array(rng.integers(2000, 3000, n), pa.int32()),
                        "performance_level": pa.array(rng.integers(1, 5, n), pa.int32()),
                    },
                    schema=_schema(),
                )
            )


def _schema():  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.schema(
        [
            ("rid", pa.string()),
            ("school_year", pa.string()),
            ("test_subject", pa.string()),
            ("tested_grade", pa.string()),
            ("entry_date", pa.date32()),
            ("special_education", pa.bool_()),
            ("scale_score", pa.int32()),
            ("performance_level", pa.int32()),
        ]
    )


def phase(fmt: str, parquet: Path, whole: bool) -> dict[str, float]:
    from datashare.extract import formats

    dest = parquet.with_suffix(f".{fmt}")
    t0, c0 = time.monotonic(), time.process_time()
    formats.write_extra(fmt, parquet, dest, "bench", dt.date(2000, 1, 1), streamed=not whole)
    return {
        "seconds": time.monotonic() - t0,
        "cpu": time.process_time() - c0,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": dest.stat().st_size,
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--formats", default="dta,sav,xpt")
    p.add_argument("--whole", action="store_true", help="also the whole-frame pyreadstat writer")
    p.add_argument("--phase", help=argparse.SUPPRESS)
    p.add_argument("--parquet", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase:
        fmt, _, mode = args.phase.partition(":")
        print(json.dumps(phase(fmt, args.parquet, mode == "whole")))
        return 0
    with tempfile.TemporaryDirectory(dir="var") as tmp:
        parquet = Path(tmp) / "assessment.parquet"
        make(parquet, args.rows)
        print(f"{args.rows:,} rows, Parquet {parquet.stat().st_size / 1e6:.0f} MB")
        for fmt in args.formats.split(","):
            for mode in ("streamed", *(["whole"] if args.whole else [])):
                cmd = [
                    sys.executable,
                    __file__,
                    "--phase",
                    f"{fmt}:{mode}",
                    "--parquet",
                    str(parquet),
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(
                    f"  {fmt} {mode:<8} {r['seconds']:7.1f} s wall, {r['cpu']:7.1f} s CPU, "
                    f"peak {r['peak_mib']:6.0f} MiB, {r['bytes'] / 1e6:7.0f} MB"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
