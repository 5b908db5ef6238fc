"""The worst bug is a leaked identity: scan every byte of every output file for every
direct identifier of the source (names, birth dates in several formats, SSNs with and
without dashes, state and district student IDs, addresses), and the decoded values too."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

from datashare import elements
from datashare.extract.api import ExtractResult

TEXT_SUFFIXES = {".csv", ".json", ".html", ".txt", ""}  # "" is SHA256SUMS
LETTERS = re.compile(rb"[A-Za-z]+")
DIGITS = re.compile(rb"[0-9][0-9/-]*[0-9]")
ADDRESS = re.compile(rb"[0-9]+ [A-Za-z]+ [A-Za-z]+")  # house number, street, suffix


def _date_forms(dates: list) -> set[str]:
    forms: set[str] = set()
    for d in dates:
        forms |= {
            d.isoformat(),
            f"{d.month}/{d.day}/{d.year}",
            f"{d.month:02d}/{d.day:02d}/{d.year}",
            d.strftime("%Y%m%d"),
        }
    return forms


def _identifiers(source: Path) -> tuple[set[str], set[str], set[str]]:
    """(names and addresses, numbers: SSNs/IDs, birth dates not also legitimate event dates)."""
    st = pq.read_table(source / "students.parquet")
    names = set(st.column("legal_first_name").to_pylist()) | set(
        st.column("legal_last_name").to_pylist()
    )
    addresses = set(st.column("street_address").to_pylist())
    ssn = set(st.column("ssn").to_pylist())
    numbers = (
        ssn | {s.replace("-", "") for s in ssn} | set(st.column("state_student_id").to_pylist())
    )
    numbers |= set(
        pq.read_table(source / "enrollment.parquet", columns=["district_student_id"])
        .column(0)
        .to_pylist()
    )
    births = _date_forms(st.column("birth_date").to_pylist())
    # A birth date that is also some school day (an entry, exit, incident or outcome date in the
    # source) may legitimately appear as that event: exclude those coincidences, and make sure
    # they are few so the scan keeps its power.
    events: set = set()
    for table, cols in {
        "enrollment": ["entry_date", "exit_date"],
        "discipline": ["incident_date"],
        "outcomes": ["outcome_date"],
    }.items():
        t = pq.read_table(source / f"{table}.parquet", columns=cols)
        for c in cols:
            events |= {d for d in t.column(c).to_pylist() if d is not None}
    coincident = _date_forms(sorted(events))
    assert len(births & coincident) < 0.2 * len(births)
    return names | addresses, numbers, births - coincident


def findings(path: Path, words: set[str], numbers: set[str], births: set[str]) -> list[str]:
    """Every identifier found in the bytes of one file."""
    found: list[str] = []
    data = path.read_bytes()
    text = path.suffix in TEXT_SUFFIXES
    longest = max(len(n) for n in numbers)
    for raw in set(LETTERS.findall(data)):
        token = raw.decode()
        if token in words:
            found.append(f"name {token!r}")
        if text:  # substrings too: a name glued to other letters is still a name
            starts = [
                i for i in range(len(token) - 4) if token[i].isupper() and token[i + 1].islower()
            ]
            found += [
                f"name {token[i:j]!r}"
                for i in starts
                for j in range(i + 5, min(len(token), i + 20) + 1)
                if token[i:j] in words
            ]
    for raw in set(DIGITS.findall(data)):
        token = raw.decode()
        if token in births:
            found.append(f"birth date {token!r}")
        run = token.replace("-", "").replace("/", "")
        if token in numbers:
            found.append(f"identifier {token!r}")
        for n in range(8, min(len(run), longest) + 1):
            found += [
                f"identifier {run[i : i + n]!r}"
                for i in range(len(run) - n + 1)
                if run[i : i + n] in numbers
            ]
    found += [
        f"address {raw.decode()!r}" for raw in set(ADDRESS.findall(data)) if raw.decode() in words
    ]
    return found


def test_no_direct_identifier_in_any_byte(full_extract: ExtractResult, source: Path) -> None:
    words, numbers, births = _identifiers(source)
    assert len(words) > 100 and len(numbers) > 1000 and len(births) > 1000
    files = sorted(full_extract.out.iterdir())
    assert {p.suffix for p in files} >= {
        ".parquet",
        ".csv",
        ".dta",
        ".sav",
        ".xpt",
        ".json",
        ".html",
        ".txt",
    }
    assert sum(p.stat().st_size for p in files) > 1_000_000
    for path in files:
        assert findings(path, words, numbers, births) == [], path.name


def test_the_scan_finds_a_planted_leak(source: Path, tmp_path: Path) -> None:
    """The scanner itself works: identifiers planted in a CSV and a Parquet file are caught."""
    words, numbers, births = _identifiers(source)
    st = pq.read_table(source / "students.parquet").slice(0, 3).to_pylist()
    planted = tmp_path / "leak.csv"
    planted.write_text(
        f"rid,x\nBCDF,{st[0]['legal_last_name']}\nBCDG,{st[1]['ssn'].replace('-', '')}\n"
        f"BCDH,{st[2]['state_student_id']}\nBCDJ,{st[0]['street_address']}\n"
    )
    found = findings(planted, words, numbers, births)
    assert len(found) >= 4
    table = pq.read_table(source / "students.parquet", columns=["legal_first_name", "ssn"]).slice(
        0, 5
    )
    pq.write_table(table, tmp_path / "leak.parquet", compression="none")
    assert findings(tmp_path / "leak.parquet", words, numbers, births)


def test_no_direct_identifier_in_decoded_values(full_extract: ExtractResult, source: Path) -> None:
    words, numbers, births = _identifiers(source)
    needles = words | numbers | births
    for path in sorted(full_extract.out.glob("*.parquet")):
        table = pq.read_table(path)
        assert not set(table.column_names) & elements.DIRECT_IDENTIFIERS
        for name in table.column_names:
            col = table.column(name)
            values = {str(v) for v in pc.unique(col).to_pylist() if v is not None}
            assert not values & needles, f"{path.name}:{name} holds a source identifier"
    readers = {
        ".dta": pyreadstat.read_dta,
        ".sav": pyreadstat.read_sav,
        ".xpt": pyreadstat.read_xport,
    }
    for suffix, read in readers.items():
        for path in sorted(full_extract.out.glob(f"*{suffix}")):
            df, _meta = read(str(path))
            for name in df.columns:
                values = {str(v) for v in df[name].dropna().unique()}
                assert not values & needles, f"{path.name}:{name} holds a source identifier"
