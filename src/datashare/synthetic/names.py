"""Fake names and addresses built from syllables.

Names are drawn from short built-in syllable lists so that no real person's record is ever
copied: a name is a random combination, not a row of any roster. Syllables are chosen so the
results look like names but rarely spell English words, which keeps the identifier-leak test
(that greps every output byte for every source name) free of false alarms.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FIRST_HEAD = [
    "Ka",
    "Mi",
    "Jo",
    "Ra",
    "Sa",
    "Lu",
    "Ta",
    "Ne",
    "Da",
    "Vi",
    "Ba",
    "Ze",
    "Ari",
    "Eli",
    "Oma",
    "Ilo",
    "Ya",
    "Fe",
    "Ro",
    "Ha",
]
_FIRST_TAIL = [
    "lani",
    "reth",
    "vyn",
    "dora",
    "mira",
    "quin",
    "sola",
    "tavi",
    "zel",
    "nith",
    "brey",
    "coro",
    "wen",
    "lix",
    "rune",
    "vessa",
    "thos",
    "yani",
]
_LAST_HEAD = [
    "Bar",
    "Quel",
    "Thorn",
    "Vard",
    "Kess",
    "Mor",
    "Stav",
    "Dren",
    "Holt",
    "Yar",
    "Pell",
    "Grav",
    "Zan",
    "Wex",
    "Lorr",
    "Fenn",
    "Osk",
    "Tarr",
]
_LAST_MID = ["", "a", "i", "o", "e", "u"]
_LAST_TAIL = [
    "wick",
    "stad",
    "mire",
    "vick",
    "dahl",
    "quist",
    "rell",
    "zor",
    "thwaite",
    "brook",
    "lund",
    "gast",
    "nox",
    "vane",
]
_STREETS = [
    "Alder",
    "Cascade",
    "Olympic",
    "Rainier",
    "Madrona",
    "Cedar",
    "Hemlock",
    "Sitka",
    "Columbia",
    "Yakima",
    "Skagit",
    "Palouse",
]
_SUFFIXES = ["St", "Ave", "Way", "Pl", "Ct", "Rd", "Blvd", "Ln"]


def pick(rng: np.random.Generator, n: int, words: list[str]) -> pa.Array:
    """n random choices from ``words`` as an Arrow string array (dictionary take: fast)."""
    indices = pa.array(rng.integers(0, len(words), n).astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(words, pa.string())).cast(pa.string())


def _combine(rng: np.random.Generator, n: int, parts: list[list[str]]) -> pa.Array:
    """Concatenate one random syllable from each list, vectorised through Arrow."""
    return pc.binary_join_element_wise(*[pick(rng, n, part) for part in parts], "")


def first_names(rng: np.random.Generator, n: int) -> pa.Array:
    return _combine(rng, n, [_FIRST_HEAD, _FIRST_TAIL])


def last_names(rng: np.random.Generator, n: int) -> pa.Array:
    return _combine(rng, n, [_LAST_HEAD, _LAST_MID, _LAST_TAIL])


def street_addresses(rng: np.random.Generator, n: int) -> pa.Array:
    number = pc.cast(pa.array(rng.integers(100, 29999, n)), pa.string())
    return pc.binary_join_element_wise(number, pick(rng, n, _STREETS), pick(rng, n, _SUFFIXES), " ")
