"""Suppress and audit a built table with the disclosure engine; the certificate that proves it.

Each part (a slice such as a test subject, or the whole table) is protected on its own with
``datashare.disclosure.api.suppress_table`` (policy ``ospi`` by default, with its LP proof), then
audited again from the published cells alone with ``audit_table`` (what anyone holding the
file can check; it reads the ``suppression`` and ``display`` labels, so the engine's
label-aware attacker model applies to it as soon as the engine has it). The certificate records both results per part, the policy, the spec and a
hash of the published rows; a part whose audit fails makes the whole table fail.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datashare.disclosure import api as disclosure

from .build import Built
from .definitions import COUNT

ENGINE = "datashare.disclosure"


@dataclass
class Published:
    built: Built
    table: pd.DataFrame  # every row, with suppression and display; hidden measures are <NA>
    certificate: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.certificate.get("passed"))


def _measure_args(built: Built) -> dict[str, Any]:
    if built.definition.kind == COUNT:
        return {"count": "count"}
    return {"numerator": "numerator", "denominator": "denominator"}


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def suppress(built: Built, *, policy: str = "ospi", seed: int = 0,
             independent: bool = True) -> Published:
    """Protect every part of ``built``; the certificate says whether every audit passed.

    ``independent=False`` skips the second audit from the published cells (the benchmark
    times it separately); the suppressor's own LP proof always runs."""
    args = _measure_args(built)
    frames: list[pd.DataFrame] = []
    parts: list[dict[str, Any]] = []
    passed = True
    for part in built.parts:
        t0 = time.perf_counter()
        result = disclosure.suppress_table(part.frame, part.spec, policy=policy, seed=seed, **args)
        protect_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        second = (disclosure.audit_table(result.table, part.spec, policy=policy, **args)
                  if independent else None)
        audit_s = time.perf_counter() - t1
        ok = bool(result.audit and result.audit.ok) and (second is None or second.ok)
        passed &= ok
        frames.append(result.table)
        statuses = result.report.get("cells_by_status", {})
        parts.append({
            "slice": part.slice,
            "rows": len(part.frame),
            "cells_by_status": statuses,
            "grand_total_published": result.report.get("grand_total_published"),
            "suppressor_audit": result.report.get("audit"),
            "independent_audit": second.summary() if second else None,
            "passed": ok,
            "seconds": {"suppress": round(protect_s, 3), "audit": round(audit_s, 3)},
            "spec_sha256": _digest(part.spec),
            "rows_sha256": _digest(result.table.astype(str).to_numpy().tolist()),
        })
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    certificate = {
        "engine": ENGINE,
        "table": built.definition.key,
        "school_year": built.request.year,
        "policy": policy,
        "protection": "threshold",
        "seed": seed,
        "student_groups": built.partitions,
        "parts": parts,
        "rows": len(table),
        "cells_suppressed": int(sum(
            n for p in parts for k, n in p["cells_by_status"].items() if k != "published")),
        "passed": passed,
    }
    return Published(built, table, certificate)


def notes(published: Published) -> list[str]:
    """The suppression notes in plain language, for a dataset page and a delivered file."""
    cert = published.certificate
    rate = published.built.definition.kind != COUNT
    lines = [
        "Groups of 1 to 9 students are shown as “N<10”, and groups of none as “No Students”, "
        "so that no small group of students can be identified (WAC 392-117-060).",
        "Some larger cells are hidden too (“Cross Student Group”, “Cross Grade Level” or "
        "“Cross Organization - N<10”) because a small group could otherwise be worked out "
        "by subtracting the cells around it.",
    ]
    if rate:
        lines.append(
            "Rates near 0% or 100% (fewer than 3 students in or out of the numerator) are "
            "shown as a range such as “<5.0%” or “>95.0%”, and their numerator is left blank.")
    lines.append(
        f"{cert['cells_suppressed']:,} of {cert['rows']:,} cells are suppressed. Every hidden "
        "cell was checked by a linear-programming audit of the published numbers: "
        + ("none can be worked out exactly or proven below 10." if cert["passed"]
           else "THE AUDIT FAILED; this table must not be released."))
    return lines
