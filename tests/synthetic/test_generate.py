"""The synthetic source: reproducible, CEDARS-shaped, realistic enough to test against."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from datashare.cli import main
from datashare.synthetic import generate

TABLES = [
    "districts",
    "schools",
    "students",
    "enrollment",
    "programs",
    "assessment",
    "courses",
    "attendance",
    "discipline",
    "outcomes",
]


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "src"
    generate(out, scale=0.002, seed=11)
    return out


def q(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def con(src: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for t in TABLES:
        c.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{src / (t + '.parquet')}')")  # noqa: S608
    return c


def test_one_parquet_file_per_table(src: Path) -> None:
    assert sorted(p.stem for p in src.glob("*.parquet")) == sorted(TABLES)
    assert (src / "source.json").is_file()


def test_same_seed_same_source(src: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", scale=0.002, seed=11)
    for t in TABLES:
        assert pq.read_table(src / f"{t}.parquet").equals(
            pq.read_table(tmp_path / "again" / f"{t}.parquet")
        ), t
    other = generate(tmp_path / "other", scale=0.002, seed=12)
    assert not pq.read_table(src / "students.parquet").equals(
        pq.read_table(tmp_path / "other" / "students.parquet")
    )
    assert again.rows["enrollment"] > 0 and other.rows["enrollment"] > 0


def test_years_grades_and_cohorts(con: duckdb.DuckDBPyConnection) -> None:
    years = [r[0] for r in q(con, "SELECT DISTINCT school_year FROM enrollment ORDER BY 1")]
    assert years == list(range(2010, 2026))
    grades = {r[0] for r in q(con, "SELECT DISTINCT grade_level FROM enrollment")}
    assert grades == {"K", *[f"{g:02d}" for g in range(1, 13)]}
    # One enrollment per student and year; students progress a grade a year.
    assert q(
        con,
        "SELECT count(*) FROM (SELECT student_key, school_year FROM enrollment GROUP BY ALL HAVING count(*) > 1)",
    ) == [(0,)]
    promoted = q(
        con,
        """SELECT avg(((CASE WHEN b.grade_level = 'K' THEN 0 ELSE b.grade_level::INT END)
                     - (CASE WHEN a.grade_level = 'K' THEN 0 ELSE a.grade_level::INT END) = 1)::INT)
           FROM enrollment a JOIN enrollment b ON a.student_key = b.student_key AND b.school_year = a.school_year + 1
           WHERE a.grade_level <> '12'""",
    )[0][0]
    assert 0.95 < promoted < 1.0
    # Students enter, leave, drop out and graduate; some move district.
    reasons = dict(q(con, "SELECT exit_reason, count(*) FROM enrollment GROUP BY 1"))
    assert {"G", "D", "O", "T"} <= set(reasons)
    outcomes = dict(q(con, "SELECT outcome, count(*) FROM outcomes GROUP BY 1"))
    assert outcomes["Graduated"] > 2 * outcomes["Dropped out"] > 0


def test_identifiers_are_unique_and_fake(con: duckdb.DuckDBPyConnection) -> None:
    n, keys, ssids, ssns = q(
        con,
        "SELECT count(*), count(DISTINCT student_key), count(DISTINCT state_student_id), count(DISTINCT ssn) FROM students",
    )[0]
    assert n == keys == ssids
    assert ssns > 0.99 * n
    # Area 900-999 is never issued: these cannot be anyone's SSN.
    assert q(con, "SELECT min(ssn[1:3]::INT) FROM students")[0][0] >= 900
    assert q(
        con,
        "SELECT count(*) FROM students WHERE NOT regexp_full_match(state_student_id, '[0-9]{10}')",
    ) == [(0,)]


def test_shares_and_correlations(con: duckdb.DuckDBPyConnection) -> None:
    genders = dict(q(con, "SELECT gender, count(*) FROM students GROUP BY 1"))
    assert set(genders) <= {"F", "M", "X"} and genders["F"] > 0.4 * sum(genders.values())
    races = {r[0] for r in q(con, "SELECT DISTINCT race_ethnicity FROM students")}
    assert races == {"AI", "AS", "BL", "HI", "NH", "TW", "WH"}
    low, sped, ell = q(
        con,
        "SELECT avg(low_income::INT), avg(special_education::INT), avg(english_learner::INT) FROM programs",
    )[0]
    assert 0.35 < low < 0.55 and 0.09 < sped < 0.18 and 0.05 < ell < 0.2
    # Scores are lower for low-income students and for students with an IEP.
    by = dict(
        q(
            con,
            "SELECT p.low_income, avg(a.scale_score) FROM assessment a JOIN programs p USING (student_key, school_year) WHERE a.test_subject = 'Math' GROUP BY 1",
        )
    )
    assert by[True] < by[False] - 20
    levels = {r[0] for r in q(con, "SELECT DISTINCT performance_level FROM assessment")}
    assert levels == {1, 2, 3, 4}
    assert q(
        con, "SELECT count(*) FROM programs WHERE school_year < 2017 AND foster_care IS NOT NULL"
    ) == [(0,)]


def test_small_schools_are_really_small(con: duckdb.DuckDBPyConnection) -> None:
    smallest = q(
        con,
        "SELECT min(n) FROM (SELECT school_code, count(*) n FROM enrollment WHERE school_year = 2020 GROUP BY 1)",
    )[0][0]
    assert smallest < 10


def test_cli_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["synth", "--scale", "0", "--out", str(tmp_path / "x")]) == 2
    assert main(["synth", "--scale", "abc", "--out", str(tmp_path / "x")]) == 2
    (tmp_path / "exists").mkdir()
    assert main(["synth", "--out", str(tmp_path / "exists")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error:") for line in err)
    assert not (tmp_path / "x").exists()
