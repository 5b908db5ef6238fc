"""Top/bottom coding of rates (OSPI rule and a fixed-percent rule) and their display text.

OSPI: when the numerator is under k (3), or the denominator minus the numerator is under k,
the rate is shown as ``<X%`` with X = k/N' x 100, or ``>Y%`` with Y = (1 - k/N') x 100, where N'
is N or N + 1 chosen at random per cell (a "fuzzy denominator", so the published bound cannot
be inverted to the exact rule), seeded so the same input and seed give the same output. X and
Y carry 1 decimal for N in 10-100, 2 for 101-1,000, 3 for 1,001-10,000, and so on.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from datashare.disclosure.policy import TopBottom

LOW, HIGH = 1, 2


def decimals_for(n: int) -> int:
    """1 for N <= 100, 2 for 101-1,000, 3 for 1,001-10,000, ..."""
    return max(1, len(str(max(int(n), 1) - 1)) - 1)


def format_percent(value: float | Decimal, decimals: int) -> str:
    q = Decimal(1).scaleb(-decimals)
    return f"{Decimal(str(value)).quantize(q, rounding=ROUND_HALF_UP)}%"


def fuzzy_bit(seed: int, key: str) -> int:
    """0 or 1 from (seed, cell key): N' = N + bit. A hash, so it is stable across runs."""
    digest = hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).digest()
    return digest[0] & 1


def coding(num: np.ndarray, den: np.ndarray, rule: TopBottom, eligible: np.ndarray) -> np.ndarray:
    """0 (not coded), LOW or HIGH per cell; only ``eligible`` cells (published N) are coded."""
    out = np.zeros(len(num), dtype=np.int8)
    if rule.method == "counts":
        low = num < rule.k
        high = (den - num) < rule.k
    elif rule.method == "percent":
        # Exact integer comparisons: 100 * num < low * den, without float rounding.
        low = 100 * num < rule.low * den
        high = 100 * num > rule.high * den
    else:
        return out
    out[eligible & high] = HIGH
    out[eligible & low] = LOW
    return out


def coded_bounds(num_den: np.ndarray, code: np.ndarray, rule: TopBottom) -> tuple[np.ndarray, np.ndarray]:
    """What the public learns about a coded numerator from N and the (public) rule."""
    den = num_den.astype(np.float64)
    lower = np.zeros(len(den))
    upper = den.copy()
    if rule.method == "counts":
        upper = np.where(code == LOW, np.minimum(den, rule.k - 1), upper)
        lower = np.where(code == HIGH, np.maximum(den - (rule.k - 1), 0), lower)
    elif rule.method == "percent":
        upper = np.where(code == LOW, np.ceil(rule.low * den / 100) - 1, upper)
        lower = np.where(code == HIGH, np.floor(rule.high * den / 100) + 1, lower)
    return lower, upper


def coded_label(code: int, n: int, rule: TopBottom, bit: int) -> str:
    if rule.method == "percent":
        return f"<{rule.low:g}%" if code == LOW else f">{rule.high:g}%"
    n_prime = n + (bit if rule.fuzzy else 0)
    share = Decimal(rule.k) / Decimal(n_prime) * 100
    if code == LOW:
        return "<" + format_percent(share, decimals_for(n))
    return ">" + format_percent(Decimal(100) - share, decimals_for(n))
