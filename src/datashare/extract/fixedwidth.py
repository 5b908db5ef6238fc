"""Fixed-width rows for the Stata, SPSS and SAS writers, encoded from Arrow a slice at a time.

ReadStat (through pyreadstat) writes a whole pandas frame at once, one Python value at a time:
at synthetic scale 1 that held each file in memory and took minutes per file. Here the rows
are built as one ``(rows, width)`` byte matrix per slice: strings copied from Arrow's buffers
by a compiled loop, numbers converted with NumPy. The compiled loops release the GIL.

Also here: SPSS's bytecode row compression (what ReadStat's ``sav_compress_row`` writes,
including its quirks, so the files are byte-for-byte ReadStat's) and the IEEE to IBM
floating-point conversion of SAS transport files.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

SAV_SYSMIS = np.uint64(0xFFEFFFFFFFFFFFFF)  # SPSS's system-missing value: -DBL_MAX
EIGHT_SPACES = np.uint64(0x2020202020202020)


@njit(nogil=True, cache=True)
def _copy_strings(
    offsets: np.ndarray, data: np.ndarray, out: np.ndarray, at: int, width: int
) -> int:
    """Copy each value's bytes into its row of ``out`` at column ``at``; returns the index
    of the first value longer than ``width``, or -1."""
    for i in range(offsets.shape[0] - 1):
        start, end = offsets[i], offsets[i + 1]
        if end - start > width:
            return i
        for j in range(end - start):
            out[i, at + j] = data[start + j]
    return -1


def put_strings(col: pa.Array | pa.ChunkedArray, out: np.ndarray, at: int, width: int) -> None:
    """Write ``col``'s UTF-8 bytes left-aligned into ``out[:, at:at+width]`` (whatever
    padding ``out`` was filled with stays after each value; a missing value is all padding)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    arr = arr.fill_null("")
    if len(arr) == 0:
        return
    _validity, offsets_buf, data_buf = arr.buffers()
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=kind)[arr.offset : arr.offset + len(arr) + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    bad = _copy_strings(offsets.astype(np.int64), data, out, at, width)
    if bad >= 0:
        raise ValueError(f"value {bad} is longer than the column's width {width}")


def numbers(col: pa.Array | pa.ChunkedArray, epoch: object | None = None) -> np.ndarray:
    """Float64 values with NaN where missing: booleans as 1/0, decimals as floats, dates as
    days since ``epoch`` (a datetime.date)."""
    if pa.types.is_date(col.type):
        col = pc.days_between(pa.scalar(epoch, col.type), col)
    elif pa.types.is_boolean(col.type):
        col = col.cast(pa.int8())
    return np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def ibm_doubles(values: np.ndarray) -> np.ndarray:
    """IEEE doubles as big-endian IBM System/360 doubles (SAS transport), ``(n, 8)`` bytes;
    NaN becomes SAS's '.' (0x2E then zeros).

    IBM: sign, a base-16 exponent biased by 64, a 56-bit fraction in [1/16, 1). The IEEE
    53-bit significand only moves left (by 3 minus the base-16 alignment shift), so the
    conversion is exact."""
    bits = values.view(np.uint64)
    sign = bits >> np.uint64(63)
    biased = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    fraction = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)
    e = biased - 1023 + 1  # value = fraction * 2**-53 * 2**e, the first factor in [0.5, 1)
    hex_exp = -((-e) // 4)  # ceil(e / 4)
    shift = (4 * hex_exp - e).astype(np.uint64)  # 0..3
    ibm_fraction = fraction << (np.uint64(3) - shift)
    zero = (bits & np.uint64(0x7FFFFFFFFFFFFFFF)) == 0
    missing = np.isnan(values)
    finite = ~zero & ~missing
    if np.any(finite & ((hex_exp + 64 < 0) | (hex_exp + 64 > 127) | (biased == 0))):
        raise ValueError("a number outside the SAS transport range")
    word = (
        (sign << np.uint64(63))
        | ((hex_exp + 64).astype(np.uint64) << np.uint64(56))
        | (ibm_fraction & np.uint64((1 << 56) - 1))
    )
    word = np.where(zero, np.uint64(0), word)
    word = np.where(missing, np.uint64(0x2E) << np.uint64(56), word)
    return word.astype(">u8").view(np.uint8).reshape(-1, 8)


@njit(nogil=True, cache=True)
def _sav_compress(
    words: np.ndarray, values: np.ndarray, is_string: np.ndarray, out: np.ndarray, last: bool
) -> int:
    n, segments = words.shape
    o = 0
    for i in range(n):
        control = o
        block = np.uint64(0)
        o += 1
        c = 0
        for s in range(segments):
            word = words[i, s]
            if is_string[s]:
                code = 254 if word == EIGHT_SPACES else 253
            elif word == SAV_SYSMIS:
                code = 255
            else:
                value = values[i, s]
                if value > -100.0 and value < 152.0 and int(value) == value:
                    code = int(value) + 100
                else:
                    code = 253
            block |= np.uint64(code) << np.uint64(8 * c)
            c += 1
            if code == 253:
                out[o] = word
                o += 1
            if c == 8:
                out[control] = block
                control = o
                block = np.uint64(0)
                o += 1
                c = 0
        if last and i == n - 1:
            block |= np.uint64(252) << np.uint64(8 * c)
        out[control] = block
    return o


def sav_compress(rows: np.ndarray, is_string: np.ndarray, last: bool) -> bytes:
    """SPSS bytecode compression of ``rows`` (n, 8 * segments bytes).

    As ReadStat writes it: each row starts its own 8-byte control block; a code per 8-byte
    segment (254 eight spaces, 255 system-missing, 1-251 a whole number between -99 and 151
    plus the bias of 100, 253 the raw 8 bytes, which follow the block); a new block starts as
    soon as one is full, so a row whose codes fill their last block ends with an empty one;
    252 (end of data) goes in the next free slot of the very last row.
    """
    n, width = rows.shape
    segments = width // 8
    words = np.ascontiguousarray(rows).view("<u8").reshape(n, segments)
    out = np.empty(n * (segments + segments // 8 + 1), dtype="<u8")
    used = _sav_compress(words, words.view("<f8"), is_string, out, last)
    return out[:used].tobytes()
