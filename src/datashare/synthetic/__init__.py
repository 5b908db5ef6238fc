"""Pure engine: a synthetic statewide longitudinal student source (no Django).

``generate(out, scale, seed)`` writes a CEDARS-shaped source as Parquet, one table per file.
No record is real: names are syllable combinations, SSN-like numbers sit in the never-issued
900-999 area, and every value is drawn from a seeded generator.
"""

from __future__ import annotations

from .generate import SourceSummary, generate

__all__ = ["SourceSummary", "generate"]
