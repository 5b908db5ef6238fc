"""The compiled loops of the gather path against plain NumPy on arbitrary inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from datashare.extract import gather, kernels, rid


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3000),
    rank_bits=st.integers(1, 40),
    year_bits=st.integers(0, 5),
    width=st.integers(1, 3),
    year_ordered=st.booleans(),
    data=st.data(),
)
def test_sort_rows_is_a_stable_sort_by_key_without_dropped_rows(
    seed: int,
    n: int,
    rank_bits: int,
    year_bits: int,
    width: int,
    year_ordered: bool,
    data: st.DataObject,
) -> None:
    rng = np.random.default_rng(seed)
    # The rank and the year wherever the packer put them, other codes around them.
    rank_at = (data.draw(st.integers(0, width - 1)), data.draw(st.integers(0, 64 - rank_bits)))
    year_at = (
        data.draw(st.integers(0, width - 1)),
        data.draw(st.integers(0, 64 - max(year_bits, 1))),
    )
    assume(
        year_bits == 0
        or rank_at[0] != year_at[0]
        or rank_at[1] + rank_bits <= year_at[1]
        or year_at[1] + year_bits <= rank_at[1]
    )
    # Few distinct keys spread over the whole range (so every digit varies), ties common
    # (a student's rows in one year), some zeros (dropped rows).
    choices = np.append(rng.integers(0, 2**rank_bits, 40, dtype=np.uint64), np.uint64(0))
    rank = rng.choice(choices, n).astype(np.uint64)
    year = (
        rng.integers(0, 2**year_bits, n).astype(np.uint64) if year_bits else np.zeros(n, np.uint64)
    )
    if year_ordered:  # a source written a year at a time: the sort skips the year's pass
        year.sort()
    payload = [rng.integers(0, 2**64, n, dtype=np.uint64) for _ in range(width)]
    fields = [(rank_at, rank_bits, rank)] + ([(year_at, year_bits, year)] if year_bits else [])
    for (w, shift), bits, values in fields:
        payload[w] &= ~np.uint64(((1 << bits) - 1) << shift)
        payload[w] |= values << np.uint64(shift)
    words = [w.copy() for w in payload]
    keep = (rank > 0) & ((year > 0) if year_bits else True)
    kept = np.flatnonzero(keep)
    order = kept[np.argsort((rank * np.uint64(2**year_bits) + year)[kept], kind="stable")]
    expected = np.stack([w[order] for w in payload], axis=1).reshape(-1, width)
    key = [(w, shift, bits) for (w, shift), bits, _ in fields]
    got = kernels.sort_rows(words, key[0], key[1] if year_bits else None, year_ordered)
    assert words == []  # handed over: the caller's copies are freed as the sort goes
    assert got.shape == expected.shape
    assert (got == expected).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 2000))
def test_crosswalk_lookup_finds_every_key_and_only_those(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(-(2**62), 2**62, n))
    codes = rid.draw_unique(len(keys))
    crosswalk = pa.table(
        {"student_key": keys, "rid": rid.to_text(codes), "rid_order": pa.array(codes)}
    )
    ranks = np.argsort(np.argsort(codes)).astype(np.int32)  # each RID's place in RID order
    strangers = rng.integers(-(2**62), 2**62, 500)
    strangers = strangers[~np.isin(strangers, keys)]
    probe = np.concatenate([keys, strangers, keys[: len(keys) // 2]])
    rng.shuffle(probe)
    out = gather.RankedCrosswalk(crosswalk).ranks(probe)
    rank_of = dict(zip(keys.tolist(), ranks.tolist(), strict=True))
    assert out.tolist() == [rank_of.get(k, -1) for k in probe.tolist()]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 2000),
    top=st.integers(1, 300),
    shift=st.integers(0, 50),
)
@example(seed=1, n=2000, top=127, shift=3)  # the widest 8-bit index, and the narrowest 32-bit
@example(seed=1, n=2000, top=128, shift=3)
def test_compact_codes_index_the_used_values_in_order(
    seed: int, n: int, top: int, shift: int
) -> None:
    rng = np.random.default_rng(seed)
    width = top.bit_length()
    codes = rng.integers(0, top + 1, n).astype(np.uint64)  # 0: null
    noise = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    noise &= ~np.uint64(((1 << width) - 1) << shift)
    word = noise | (codes << np.uint64(shift))
    index = np.empty(n, np.int8 if top <= 127 else np.int32)  # the two index types written
    used = kernels.compact_codes(word, shift, width, top, index)
    values = sorted(set(codes.tolist()) - {0})
    assert used.tolist() == [c in values for c in range(1, top + 1)]
    assert index.tolist() == [values.index(c) if c else -1 for c in codes.tolist()]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 2000), shift=st.integers(0, 40))
def test_rank_runs_give_one_dictionary_entry_per_run(seed: int, n: int, shift: int) -> None:
    rng = np.random.default_rng(seed)
    ranks = np.sort(rng.integers(0, 100, n)).astype(np.uint64)
    word = ((ranks + np.uint64(1)) << np.uint64(shift)) | np.uint64((1 << shift) - 1)
    index, firsts = kernels.rank_runs(word, shift, 7)
    assert firsts.tolist() == sorted(set(ranks.tolist()))
    assert firsts[index].tolist() == ranks.tolist()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3000), pieces=st.integers(1, 4))
def test_key_set_gives_each_key_one_id_in_order_first_met_across_growth(
    seed: int, n: int, pieces: int
) -> None:
    rng = np.random.default_rng(seed)
    pool = rng.integers(-(2**63), 2**63 - 1, max(1, n // 3), dtype=np.int64)
    keys = rng.choice(pool, n)
    take = rng.random(n) < 0.8
    keyset = kernels.KeySet(bits=2)  # grows many times, resuming mid-piece
    ids = np.empty(n, np.int32)
    for part in np.array_split(np.arange(n), pieces):
        if len(part):
            keyset.add(keys[part], take[part], ids[part[0] : part[-1] + 1])
    expected: dict[int, int] = {}
    for k, t in zip(keys.tolist(), take.tolist(), strict=True):
        if t:
            expected.setdefault(k, len(expected))
    pairs = zip(keys.tolist(), take.tolist(), strict=True)
    assert keyset.members().tolist() == list(expected)
    assert ids.tolist() == [expected[k] if t else -1 for k, t in pairs]
    strangers = rng.integers(-(2**63), 2**63 - 1, 100, dtype=np.int64)
    probe = np.concatenate([keys, strangers])
    found = np.empty(len(probe), np.int32)
    keyset.find(probe, found)
    assert found.tolist() == [expected.get(k, -1) for k in probe.tolist()]


@settings(max_examples=60, deadline=None)
@given(
    years=st.lists(st.integers(2000, 2030), max_size=300),
    first=st.integers(2005, 2025),
    count=st.integers(1, 16),
    previous=st.integers(2000, 2030),
)
def test_year_codes_clip_look_up_and_see_the_order(
    years: list[int], first: int, count: int, previous: int
) -> None:
    code = np.zeros(count + 2, np.uint64)  # first - 1 and first + count: not selected
    code[1:-1] = np.arange(1, count + 1)
    y = np.array(years, np.int16)
    clipped = np.clip(y.astype(np.int64), first - 1, first + count)
    low = first - 1
    got, ordered, last = kernels.year_codes(y, first, code, max(min(previous, first + count), low))
    assert got.tolist() == code[clipped - low].tolist()
    sequence = [max(min(previous, first + count), low), *clipped.tolist()]
    assert ordered == all(a <= b for a, b in itertools.pairwise(sequence))
    assert last == sequence[-1]
