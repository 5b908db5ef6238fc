"""The DuckDB engine's gather path gives what the SQL gives, in an order with nothing of the
source's order in it, the same on every run."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from datashare.extract import engines, gather, kernels, rid, sql
from datashare.extract import spec as spec_module
from datashare.extract.api import ExtractResult, run_extract
from datashare.extract.errors import ExtractError
from datashare.extract.mapping import load

from .conftest import assert_same_files, crosswalk_map, every_element_spec

SOME_YEARS = {"from": "2012-13", "to": "2019-20"}


def test_gather_path_and_sql_path_give_the_same_files(
    source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_module.parse(
        every_element_spec(school_years=SOME_YEARS, formats=["parquet", "csv"])
    )
    fast = run_extract(spec, source, tmp_path / "fast", key)
    monkeypatch.setattr(gather, "MEMORY_BUDGET", 0)  # nothing fits: every file through the SQL
    slow = run_extract(
        spec,
        source,
        tmp_path / "sql",
        key,
        reuse_crosswalk=fast.crosswalk,
        crosswalk_out=tmp_path / "sql.enc",
    )
    assert fast.rows == slow.rows
    assert fast.students == slow.students and slow.reused_rids == slow.students
    assert_same_files(fast, slow, spec.files, ("csv",))
    assert fast.risk == slow.risk


def test_rows_follow_rid_then_year_then_source_position(
    full_extract: ExtractResult, source: Path, key: bytes
) -> None:
    rid_of = crosswalk_map(full_extract.crosswalk, key, "DSA-TEST-0001")
    with duckdb.connect() as con:
        src = con.execute(
            "SELECT student_key, school_year, file_row_number FROM read_parquet(?, file_row_number = true)",
            [str(source / "enrollment.parquet")],
        ).fetchall()
    expected = sorted((rid_of[k], f"{y - 1}-{y % 100:02d}", n) for k, y, n in src)
    out = pq.read_table(full_extract.out / "enrollment.parquet", columns=["rid", "school_year"])
    got = list(
        zip(out.column("rid").to_pylist(), out.column("school_year").to_pylist(), strict=True)
    )
    assert got == [(r, y) for r, y, _ in expected]
    # And that order is not the source's: the source rows' positions come out shuffled.
    positions = np.array([n for _, _, n in expected])
    assert abs(np.corrcoef(positions, np.arange(len(positions)))[0, 1]) < 0.1


def test_each_row_group_dictionary_is_its_own_values_sorted(full_extract: ExtractResult) -> None:
    # A dictionary in the source's first-seen order would say which value the source met
    # first (its first student by name, say); each row group's is its own values, sorted.
    path = full_extract.out / "enrollment.parquet"
    pf = pq.ParquetFile(path, read_dictionary=["rid", "school_code", "grade_level"])
    assert pf.metadata.num_rows > 0
    for i in range(pf.metadata.num_row_groups):
        group = pf.read_row_group(i)
        for name in ("rid", "school_code", "grade_level"):
            column = group.column(name).combine_chunks()
            values = sorted(v for v in set(column.dictionary.take(column.indices).to_pylist()) if v)
            assert column.dictionary.to_pylist() == values, (i, name)
    plain = pq.read_table(path)
    assert plain.schema.field("rid").type == "string"  # readers see plain text


def test_a_column_of_another_type_goes_through_the_sql(source: Path, tmp_path: Path) -> None:
    spec = spec_module.parse(every_element_spec(school_years=SOME_YEARS))
    copy = tmp_path / "enrollment.parquet"
    table = pq.read_table(source / "enrollment.parquet")
    i = table.schema.get_field_index("entry_date")
    pq.write_table(table.set_column(i, "entry_date", table.column(i).cast(pa.string())), copy)
    query = sql.file_query(spec, load("synthetic"), "enrollment")
    plan = gather.Plan(
        copy, query.student_key, query.year, query.years, query.sources, query.schema
    )
    assert not gather.supported(plan)
    assert gather.supported(
        gather.Plan(
            source / "enrollment.parquet",
            query.student_key,
            query.year,
            query.years,
            query.sources,
            query.schema,
        )
    )


def test_rows_packed_into_one_word_or_spread_over_many_give_the_same_bytes(
    source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At this scale every file's codes fit beside the sort key in one word, so the sort
    # moves one word a row; force a word per column and the sort moves many. Same bytes.
    spec = spec_module.parse(
        every_element_spec(school_years=SOME_YEARS, formats=["parquet", "csv"])
    )
    widths: list[int] = []
    real_sort = kernels.sort_rows

    def spy(
        words: list[np.ndarray],
        rank: tuple[int, int, int],
        year: tuple[int, int, int] | None,
        year_ordered: bool = False,
    ) -> np.ndarray:
        n = len(words[0])
        rows = real_sort(words, rank, year, year_ordered)
        if n > 4:  # not the engine's warm-up call
            widths.append(rows.shape[1])
        return rows

    monkeypatch.setattr(kernels, "sort_rows", spy)
    packed = run_extract(spec, source, tmp_path / "packed", key)
    assert 1 in widths, "no file fit one word: the comparison below would not be one"
    widths.clear()
    monkeypatch.setattr(gather._Packer, "_slot", lambda self, width: None)
    spread = run_extract(
        spec,
        source,
        tmp_path / "spread",
        key,
        reuse_crosswalk=packed.crosswalk,
        crosswalk_out=tmp_path / "spread.enc",
    )
    assert min(widths) > 1
    for f in spec.files:
        name = f"{f}.parquet"
        assert (packed.out / name).read_bytes() == (spread.out / name).read_bytes(), f


def test_a_source_out_of_year_order_is_sorted_by_year_too(
    source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Most of the synthetic source is written a year at a time, and there the sort skips
    # the year's pass; with every year file's rows shuffled it must not, and the package
    # is still the SQL's.
    shuffled = tmp_path / "shuffled"
    shutil.copytree(source, shuffled)
    mapping = load("synthetic")
    rng = np.random.default_rng(5)
    in_year_order: dict[str, bool] = {}
    for fm in mapping.files.values():
        if fm.year is None:
            continue
        table = pq.read_table(shuffled / f"{fm.table}.parquet")
        years = table.column(fm.year).to_numpy()
        in_year_order[fm.table] = bool((years[1:] >= years[:-1]).all())
        pq.write_table(table.take(rng.permutation(table.num_rows)), shuffled / f"{fm.table}.parquet")
    assert any(in_year_order.values()) and not all(in_year_order.values())
    spec = spec_module.parse(every_element_spec(formats=["parquet", "csv"]))
    real_finish = gather.finish
    runs = {}
    for name, folder in {"source": source, "shuffled": shuffled}.items():
        seen: dict[str, bool] = {}

        def spy(packed: gather.Packed, *args: object, seen: dict[str, bool] = seen) -> gather.Prepared:
            if packed.plan.year is not None:
                seen[packed.plan.path.stem] = packed.year_ordered
            return real_finish(packed, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(gather, "finish", spy)
        runs[name] = run_extract(spec, folder, tmp_path / f"{name}-package", key)
        expected = in_year_order if name == "source" else dict.fromkeys(in_year_order, False)
        assert seen == expected
    monkeypatch.setattr(gather, "finish", real_finish)
    monkeypatch.setattr(gather, "MEMORY_BUDGET", 0)  # every file through the SQL's ORDER BY
    slow = run_extract(
        spec,
        shuffled,
        tmp_path / "sql",
        key,
        reuse_crosswalk=runs["shuffled"].crosswalk,
        crosswalk_out=tmp_path / "sql.enc",
    )
    assert_same_files(runs["shuffled"], slow, spec.files, ("csv",))


@pytest.mark.parametrize("type_", [pa.uint8(), pa.uint16(), pa.uint32(), pa.int16(), pa.date32()])
def test_an_integer_column_with_nulls_and_zeros_keeps_both_apart(type_: pa.DataType) -> None:
    # An unsigned column whose minimum is 0 has no room below it for the null code's value.
    data = pa.chunked_array([pa.array([0, None, 7, 0, None, 3], pa.int32()).cast(type_)])
    field = gather._encode("x", data, type_)
    for codes in (numpy_codes(field, data.chunk(0)), packed_codes(field, data)):
        assert codes.astype(np.int64).tolist() == [1, 0, 8, 1, 0, 4]


BOOL_CODES = np.array([1, 2, 0], np.uint64)  # false, true, null (filled as 2)


def numpy_codes(field: gather._Field, piece: pa.Array) -> np.ndarray:
    """The codes of one piece of a column by plain NumPy: what the compiled packing must give."""
    if field.kind == "dict":
        assert field.code_of is not None
        if piece.null_count:
            return field.code_of[piece.indices.fill_null(-1).to_numpy() + 1].astype(np.uint64)
        return field.code_of[1:][piece.indices.to_numpy()].astype(np.uint64)
    if field.kind == "bool":
        return BOOL_CODES[piece.cast(pa.uint8()).fill_null(2).to_numpy()]
    codes = gather._int_values(field, piece).astype(np.int64)
    codes -= field.offset
    return codes.view(np.uint64)


def packed_codes(field: gather._Field, data: pa.ChunkedArray) -> np.ndarray:
    """The codes of a column as the engine packs them, read back from the word."""
    packer = gather._Packer(len(data))
    packer.add(field)
    return gather._codes_of(field, packer.words[field.word])


def test_a_failure_while_files_are_read_ahead_leaves_nothing_behind(
    source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine starts reading files before the crosswalk exists; if the crosswalk never
    # comes, those threads must end, and the run must leave no folder behind.
    def fail(self: engines.DuckDBEngine, sql: str) -> np.ndarray:
        raise ExtractError("the population query failed")

    monkeypatch.setattr(engines.DuckDBEngine, "student_keys", fail)
    spec = spec_module.parse(every_element_spec(school_years=SOME_YEARS))
    with pytest.raises(ExtractError, match="population query failed"):
        run_extract(spec, source, tmp_path / "out", key)
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith(("gather", "write"))]


def test_the_ranked_crosswalk_lists_its_rids_in_rid_order() -> None:
    keys = np.random.default_rng(1).permutation(1000).astype(np.int64) * 7919
    population = gather.Population(files=1)
    population.add(keys, np.ones(len(keys), bool), np.empty(len(keys), np.int32))
    population.file_added()
    table, _ = rid.crosswalk(population.keys.members())
    texts = table.column("rid").to_pylist()
    rank_of_text = {t: i for i, t in enumerate(sorted(texts))}
    rank_of_key = dict(
        zip(table.column("student_key").to_pylist(), map(rank_of_text.get, texts), strict=True)
    )
    expected = [rank_of_key[k] for k in keys.tolist()]
    for members in (population.keys.members(), None):  # ranks by id from a sort, or probed
        ranked = gather.RankedCrosswalk(table, members)
        assert ranked.rids.to_pylist() == sorted(texts)
        if members is not None:  # a row's packed code is its rank + 1, at its id + 1
            assert ranked.codes_by_id().tolist() == [0, *(r + 1 for r in expected)]
        assert ranked.ranks(keys).tolist() == expected


def test_population_found_while_reading_or_by_duckdb_gives_the_same_bytes(
    source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every file here goes through the gather path, so the population is collected as the
    # files are read; over the budget, DuckDB's query finds it and the keys are looked up.
    spec = spec_module.parse(every_element_spec(school_years=SOME_YEARS))
    read = run_extract(spec, source, tmp_path / "read", key)
    found: list[bool] = []
    real = engines.DuckDBEngine.student_keys

    def spy(self: engines.DuckDBEngine, sql: str) -> np.ndarray:
        found.append(self._population is None)
        return real(self, sql)

    monkeypatch.setattr(engines.DuckDBEngine, "student_keys", spy)
    monkeypatch.setattr(engines, "POPULATION_BUDGET", 0)
    queried = run_extract(
        spec,
        source,
        tmp_path / "queried",
        key,
        reuse_crosswalk=read.crosswalk,
        crosswalk_out=tmp_path / "queried.enc",
    )
    assert found == [True]
    assert queried.students == read.students == queried.reused_rids
    for f in spec.files:
        name = f"{f}.parquet"
        assert (read.out / name).read_bytes() == (queried.out / name).read_bytes(), f


@pytest.mark.parametrize(
    "data",
    [
        pa.chunked_array([pa.array(["b", None, "a", "c", "a"]).dictionary_encode()]),
        pa.chunked_array([pa.array(["z", "y", "z"]).dictionary_encode()] * 2),
        pa.chunked_array([pa.array([0, None, 7, 0, None, 3], pa.uint8())]),
        pa.chunked_array([pa.array([-5, 9, 2], pa.int16()), pa.array([4], pa.int16())]),
        pa.chunked_array([pa.array([18000, None, 17000], pa.int32()).cast(pa.date32())]),
        pa.chunked_array([pa.array([True, False, None] * 7, pa.bool_()).slice(3, 13)]),
        pa.chunked_array([pa.array([True, False, False] * 5).slice(5), pa.array([False, True])]),
        pa.chunked_array([pa.array([True, None, False, True] * 9, pa.bool_()).slice(11, 19)]),
    ],
    ids=[
        "dict-nulls",
        "dict-chunks",
        "uint-nulls-zeros",
        "int16",
        "date-nulls",
        "bool-nulls-offset",
        "bool-chunks",
        "bool-nulls-offset-past-a-byte",
    ],
)
def test_compiled_packing_gives_numpys_words(data: pa.ChunkedArray) -> None:
    target = pa.string() if pa.types.is_dictionary(data.type) else data.type
    words = []
    for compiled in (True, False):
        packer = gather._Packer(len(data))
        for i in range(3):  # a word's first field (set), a filler, a later field (OR-ed)
            if i == 1:
                ones = pa.chunked_array([pa.array([1] * len(data), pa.int8())])
                filler = gather._encode("filler", ones, pa.int8())
                packer.add(filler, (numpy_codes(filler, p) for p in gather._pieces(ones)))
                continue
            field = gather._encode("x", data, target)
            if compiled:
                packer.add(field)
            else:
                packer.add(field, (numpy_codes(field, p) for p in gather._pieces(data)))
        words.append([w.copy() for w in packer.words])
    assert [w.tolist() for w in words[0]] == [w.tolist() for w in words[1]]


def test_null_keys_and_years_are_no_students_on_every_route(
    source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row without a student key belongs to no student, and one without a year to no
    # selected year: the population collected while reading, DuckDB's population query
    # and the SQL path all leave them out, and give the same package.
    holey = tmp_path / "holey"
    shutil.copytree(source, holey)
    rng = np.random.default_rng(3)
    for name, cols in {
        "enrollment": ["student_key", "school_year"],
        "programs": ["student_key"],
        "students": ["student_key"],
    }.items():
        table = pq.read_table(holey / f"{name}.parquet")
        for col in cols:
            i = table.schema.get_field_index(col)
            values = table.column(i).combine_chunks()
            hole = pa.array(rng.random(len(values)) < 0.05)
            table = table.set_column(i, col, pc.if_else(hole, pa.nulls(1, values.type)[0], values))
        pq.write_table(table, holey / f"{name}.parquet")
    spec = spec_module.parse(every_element_spec(formats=["parquet", "csv"]))
    read = run_extract(spec, holey, tmp_path / "read", key)
    runs = {}
    for route, budget in {
        "queried": ("POPULATION_BUDGET", engines),
        "sql": ("MEMORY_BUDGET", gather),
    }.items():
        monkeypatch.setattr(budget[1], budget[0], 0)
        runs[route] = run_extract(
            spec,
            holey,
            tmp_path / route,
            key,
            reuse_crosswalk=read.crosswalk,
            crosswalk_out=tmp_path / f"{route}.enc",
        )
    mapping = load("synthetic")
    population: set[int] = set()
    for f in {"enrollment", *spec.files}:
        fm = mapping.files[f]
        if fm.year is not None:
            t = pq.read_table(holey / f"{fm.table}.parquet", columns=[mapping.student_key, fm.year])
            t = t.filter(pc.and_(pc.is_valid(t.column(0)), pc.is_valid(t.column(1))))
            population.update(t.column(0).to_pylist())
    assert read.students == len(population)
    for result in runs.values():
        assert result.students == result.reused_rids == read.students
        assert result.rows == read.rows
        assert_same_files(read, result, spec.files, ("csv",))


@pytest.mark.parametrize("step", ["pack", "finish", "write_prepared"])
def test_a_failure_in_a_worker_thread_stops_the_extract_and_leaves_nothing(
    step: str, source: Path, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = getattr(gather, step)

    def fail_on_programs(*args: object, **kwargs: object) -> object:
        target = args[0]
        plan = getattr(target, "plan", target)
        if "programs" in str(getattr(plan, "path", "")) or (
            step == "write_prepared" and "programs" in str(args[2])
        ):
            raise OSError(f"disk gone while in {step}")
        return real(*args, **kwargs)

    monkeypatch.setattr(gather, step, fail_on_programs)
    spec = spec_module.parse(every_element_spec(school_years=SOME_YEARS))
    with pytest.raises(OSError, match=f"disk gone while in {step}"):
        run_extract(spec, source, tmp_path / "out", key)
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith(("gather", "write"))]


def test_the_population_is_sized_by_the_share_of_rows_in_selected_years(tmp_path: Path) -> None:
    # The key set is sized before any key is read, from the student file's rows times the
    # share of enrollment's row groups that can hold a selected year: two of four years here.
    years = np.repeat(np.arange(2011, 2015, dtype=np.int16), 100)
    path = tmp_path / "enrollment.parquet"
    pq.write_table(
        pa.table({"student_key": np.arange(400), "school_year": years}), path, row_group_size=100
    )
    plan = gather.Plan(path, "student_key", "school_year", (2012, 2013), (), pa.schema([]))
    assert gather.selected_share(plan) == 0.5
    every_year = (2011, 2012, 2013, 2014)
    assert gather.selected_share(
        gather.Plan(path, "student_key", "school_year", every_year, (), pa.schema([]))
    ) == 1.0
