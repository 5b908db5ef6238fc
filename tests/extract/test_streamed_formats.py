"""The Stata, SPSS and SAS files of a large data file are written a slice at a time and read
back as the Parquet they came from: every value, missing values, dates, labels; SPSS's
compressed rows and SAS's 80-byte records across slice boundaries."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest

from datashare.extract import fixedwidth, formats

ROWS = 120_000


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file shaped like an extract's (RIDs, years, codes, dates, flags, numbers) with
    missing values, and random RIDs so that SPSS's bytecode does not shrink them."""
    rng = np.random.default_rng(5)
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)
    rid = rng.choice(letters, size=(ROWS, 12)).view("S12").ravel().astype(str)
    days = rng.integers(0, 6000, ROWS)
    missing = rng.random(ROWS) < 0.1
    table = pa.table(
        {
            "rid": pa.array(rid),
            "school_year": pa.array(rng.choice(["2019-20", "2020-21", "2021-22"], ROWS)),
            "school_code": pa.array(
                [None if m else f"{c:04d}" for m, c in zip(missing, rng.integers(1, 9999, ROWS), strict=True)]
            ),
            "entry_date": pa.array(
                [None if m else dt.date(2008, 1, 1) + dt.timedelta(days=int(d)) for m, d in zip(missing, days, strict=True)],
                pa.date32(),
            ),
            "special_education": pa.array([None if m else bool(d % 2) for m, d in zip(missing, days, strict=True)]),
            "scale_score": pa.array(rng.integers(-200, 3000, ROWS), pa.int32()),
            "performance_level": pa.array(rng.integers(1, 5, ROWS), pa.int32()),
            "days_excluded": pa.array(
                [None if m else Decimal(int(d) % 4000) / 4 for m, d in zip(missing, days, strict=True)],
                pa.decimal128(6, 2),
            ),
        }
    )  # fmt: skip
    path = tmp_path_factory.mktemp("big") / "assessment.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    return path


def _expected(parquet: Path) -> dict[str, list[object]]:
    table = pq.read_table(parquet)
    return {name: table.column(name).to_pylist() for name in table.column_names}


@pytest.mark.parametrize("fmt", ["dta", "sav", "xpt"])
def test_a_large_file_reads_back_as_its_parquet(parquet: Path, tmp_path: Path, fmt: str) -> None:
    dest = tmp_path / f"assessment.{fmt}"
    formats.write_streamed(fmt, parquet, dest, file_label="Agreement X", chunk_rows=7_919)
    read = {"dta": pyreadstat.read_dta, "sav": pyreadstat.read_sav, "xpt": pyreadstat.read_xport}
    df, meta = read[fmt](str(dest))
    assert meta.number_rows in (ROWS, None) and len(df) == ROWS
    want = _expected(parquet)
    assert df["rid"].tolist() == want["rid"]
    assert df["school_code"].tolist() == [v or "" for v in want["school_code"]]
    assert df["scale_score"].tolist() == want["scale_score"]
    dates = [None if v != v or v is None else v for v in df["entry_date"].tolist()]
    dates = [d.date() if hasattr(d, "date") else d for d in dates]
    assert dates == want["entry_date"]
    flags = [None if v != v else bool(v) for v in df["special_education"].tolist()]
    assert flags == want["special_education"]
    excluded = [None if v != v else v for v in df["days_excluded"].tolist()]
    assert excluded == [None if v is None else float(v) for v in want["days_excluded"]]
    if fmt != "xpt":  # SAS transport has no value labels
        assert meta.variable_value_labels["special_education"] == {1: "Yes", 0: "No"}


@pytest.mark.parametrize("fmt", ["dta", "sav", "xpt"])
def test_a_large_file_in_many_slices_is_the_whole_file_writers_bytes(
    parquet: Path, tmp_path: Path, fmt: str
) -> None:
    """Slice boundaries fall anywhere in a row's compressed bytes (SPSS) or 80-byte records
    (SAS): still byte-for-byte what pyreadstat writes from the whole frame."""
    whole, sliced = tmp_path / "w" / f"assessment.{fmt}", tmp_path / "s" / f"assessment.{fmt}"
    whole.parent.mkdir()
    sliced.parent.mkdir()
    when = dt.date(2001, 2, 3)
    formats.write_extra(fmt, parquet, whole, "label", when, streamed=False)
    formats.write_streamed(fmt, parquet, sliced, file_label="label", chunk_rows=10_007)
    formats.pin_timestamps(fmt, sliced, when)
    assert sliced.read_bytes() == whole.read_bytes()


def test_sas_transport_numbers_are_exact_ibm_doubles() -> None:
    values = np.array([0.0, 1.0, -1.0, 0.5, 100.25, 1e-30, 123456789.0, np.nan, -0.0])
    encoded = fixedwidth.ibm_doubles(values)
    assert encoded[1].tobytes() == bytes.fromhex("4110000000000000")
    assert encoded[2].tobytes() == bytes.fromhex("C110000000000000")
    assert encoded[3].tobytes() == bytes.fromhex("4080000000000000")
    assert encoded[7].tobytes() == b"." + bytes(7)
    for raw, value in zip(encoded, values, strict=True):
        if value == value:
            sign = -1 if int(raw[0]) & 0x80 else 1
            exp = (int(raw[0]) & 0x7F) - 64
            frac = int.from_bytes(raw[1:].tobytes(), "big")
            assert sign * math.ldexp(frac, 4 * exp - 56) == value
