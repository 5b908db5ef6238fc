"""Disclosure policy: thresholds, top/bottom coding and labels are configuration, not code.

Presets ship as YAML next to this module (``ospi``, ``min5``, ``min16``); a path to a YAML
file with the same keys is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datashare.disclosure.errors import DisclosureError

PRESET_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class TopBottom:
    method: str = "none"  # "counts" (OSPI: numerator or complement < k), "percent", "none"
    k: int = 3
    fuzzy: bool = True  # N' = N or N + 1 at random, seeded
    low: float = 5.0  # percent method: rate below ``low`` % shown as "<low%"
    high: float = 95.0


@dataclass(frozen=True)
class Policy:
    name: str
    min_n: int = 10
    zeros_disclosive: bool = False
    small_label: str = "N<10"
    zero_label: str = "No Students"
    complementary_labels: dict[str, str] = field(default_factory=dict)
    complementary_default: str = "Suppressed"
    top_bottom: TopBottom = field(default_factory=TopBottom)
    blank_coded_denominator: bool = False
    rate_decimals: int = 1

    def complementary_label(self, dimension: str) -> str:
        return self.complementary_labels.get(dimension.lower(), self.complementary_default)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_policy(name_or_path: str) -> Policy:
    path = PRESET_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        candidate = Path(name_or_path)
        if candidate.suffix in {".yaml", ".yml"} and candidate.is_file():
            path = candidate
        else:
            raise DisclosureError(
                f"unknown policy {name_or_path!r} (presets: {', '.join(preset_names())}, "
                "or a path to a policy .yaml)"
            )
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return policy_from_dict(raw)


def policy_from_dict(raw: Any) -> Policy:
    if not isinstance(raw, dict):
        raise DisclosureError("a policy must be a mapping")
    try:
        labels = raw.get("labels", {}) or {}
        comp = {str(k).lower(): str(v) for k, v in (labels.get("complementary") or {}).items()}
        default = comp.pop("default", "Suppressed")
        tb = raw.get("top_bottom", {}) or {}
        top_bottom = TopBottom(
            method=str(tb.get("method", "none")),
            k=int(tb.get("k", 3)),
            fuzzy=bool(tb.get("fuzzy", True)),
            low=float(tb.get("low", 5.0)),
            high=float(tb.get("high", 95.0)),
        )
        if top_bottom.method not in {"counts", "percent", "none"}:
            raise DisclosureError(f"unknown top_bottom method {top_bottom.method!r}")
        policy = Policy(
            name=str(raw.get("name", "custom")),
            min_n=int(raw.get("min_n", 10)),
            zeros_disclosive=bool(raw.get("zeros_disclosive", False)),
            small_label=str(labels.get("small", "N<10")),
            zero_label=str(labels.get("zero", "No Students")),
            complementary_labels=comp,
            complementary_default=default,
            top_bottom=top_bottom,
            blank_coded_denominator=bool(raw.get("blank_coded_denominator", False)),
            rate_decimals=int(raw.get("rate_decimals", 1)),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, DisclosureError):
            raise
        raise DisclosureError(f"bad policy: {exc}") from exc
    if policy.min_n < 1:
        raise DisclosureError("policy min_n must be at least 1")
    return policy
