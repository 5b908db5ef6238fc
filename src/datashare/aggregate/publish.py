"""Suppress and audit a built table with the disclosure engine; the certificate that proves it.

Each part (a slice such as a test subject, or the whole table) is protected on its own with
``datashare.disclosure.api.suppress_table`` (policy ``ospi`` by default, with its LP proof).
Then the published CSV is written once (``Published.csv``: the exact bytes a portal stores and
serves) and every part is audited again *from that file alone*, read the way ``datashare
audit-table`` reads a file (codes as text, a blank measure is hidden), with ``audit_table``:
what anyone holding the download and the spec can check. A part whose audit fails makes the
whole table fail, and a failed table is never released.

The certificate also records, per measure, the attacker model the proof used, read from the
disclosure engine's report (:func:`proof_models`), with a plain-language sentence saying what
it covers and what it does not yet cover.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from datashare.disclosure import api as disclosure
from datashare.disclosure.cores import cores

from .build import Built
from .definitions import COUNT

ENGINE = "datashare.disclosure"


@dataclass
class Published:
    built: Built
    table: pd.DataFrame  # every row, with suppression and display; hidden measures are <NA>
    certificate: dict[str, Any] = field(default_factory=dict)
    csv: bytes = b""  # the published file, exactly as audited (empty when not audited)

    @property
    def passed(self) -> bool:
        return bool(self.certificate.get("passed"))


def _measure_args(built: Built) -> dict[str, Any]:
    if built.definition.kind == COUNT:
        return {"count": "count"}
    return {"numerator": "numerator", "denominator": "denominator"}


# A table's parts share no relation (a test subject's cells never sum with another's), so the
# parts of a big table are protected in separate processes, as many at once as there are
# cores: each part's pattern is its own, whichever process runs it. Below PARALLEL_MIN_ROWS a
# process's start (importing the engine: about 2 s) costs more than it saves.
PARALLEL_MIN_ROWS = 100_000


@dataclass
class _PartResult:
    """What ``suppress`` keeps of one part's ``suppress_table`` (sent back from a process)."""

    table: pd.DataFrame
    report: dict[str, Any]
    ok: bool
    proof: disclosure.Proof | None
    seconds: float


def _suppress_part(frame: pd.DataFrame, spec: Any, policy: str, seed: int,
                   args: dict[str, Any]) -> _PartResult:
    t0 = time.perf_counter()
    result = disclosure.suppress_table(frame, spec, policy=policy, seed=seed, **args)
    return _PartResult(result.table, result.report, bool(result.audit and result.audit.ok),
                       result.proof, time.perf_counter() - t0)


def _processes(built: Built) -> int:
    """How many processes protect ``built``'s parts: one, or for a big table of several parts
    as many as there are parts and cores."""
    if len(built.parts) < 2 or sum(len(p.frame) for p in built.parts) < PARALLEL_MIN_ROWS:
        return 1
    return min(len(built.parts), cores())


def exit_with_parent(parent: int) -> None:
    """In a child process (a part's; a benchmark's table): exit when the process that started
    it is gone (a stopped worker or benchmark must not leave its parts running)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _suppress_parts(built: Built, policy: str, seed: int,
                    args: dict[str, Any]) -> list[_PartResult]:
    """``_suppress_part`` for every part, in order; the biggest parts start first."""
    n = _processes(built)
    if n <= 1:
        return [_suppress_part(p.frame, p.spec, policy, seed, args) for p in built.parts]
    order = sorted(range(len(built.parts)), key=lambda i: -len(built.parts[i].frame))
    # "spawn": the caller may hold threads (DuckDB's, the web worker's) that fork would copy
    # mid-lock.
    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"),
                             initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
        running = {i: pool.submit(_suppress_part, built.parts[i].frame, built.parts[i].spec,
                                  policy, seed, args) for i in order}
        return [running[i].result() for i in range(len(built.parts))]


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def published_csv(table: pd.DataFrame) -> bytes:
    """The published file: hidden measures are blank."""
    return table.to_csv(index=False).encode("utf-8")


def read_published_csv(data: bytes, measures: list[str]) -> pd.DataFrame:
    """A published CSV as ``datashare audit-table`` reads it: every code stays text ("01" is
    not 1), a blank measure is a hidden cell; nothing from the builder's memory is used."""
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    for col in measures:
        if col in frame.columns:
            frame[col] = frame[col].replace("", None)
    return frame


def audit_file(data: bytes, built: Built, *, policy: str = "ospi",
               hints: Sequence[disclosure.Proof | None] | None = None,
               ) -> list[disclosure.TableAudit]:
    """Audit every part of ``built`` from the published file ``data`` alone (one audit per part:
    each slice is protected on its own, so each is audited on its own).

    ``hints`` (per part, the suppressor's ``Proof``): its witnesses are re-verified against
    the model read from the file before the audit searches for its own (``audit_table``);
    a hint that does not verify proves nothing."""
    args = _measure_args(built)
    frame = read_published_csv(data, list(args.values()))
    slice_col = built.definition.slice_name
    out = []
    for i, part in enumerate(built.parts):
        rows = frame if part.slice is None else frame[frame[slice_col] == str(part.slice)]
        out.append(disclosure.audit_table(rows.reset_index(drop=True), part.spec,
                                          policy=policy, hints=hints[i] if hints else None,
                                          **args))
    return out


# --- the attacker model a proof used -------------------------------------------------------

# The model name an audit reports when it had no labels to read (the engine's rate work
# adds it as api.NO_LABELS; the default keeps this module working before it lands).
NO_LABELS = str(getattr(disclosure, "NO_LABELS", "structure-only"))


def proof_models(report: dict[str, Any], audited: dict[str, str | None],
                 measures: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per measure: the attacker model the proof used, and whether it accounts for what the
    suppression labels reveal, read from the disclosure engine's report.

    ``audited``: each audit that was run (its key in the audit summary's ``measures``) and
    the model it names, if it names one; else the report's ``attacker_model`` (a string for
    the table, or a mapping per measure) stands. Counts: a named model other than
    ``NO_LABELS`` reads the labels. Rates: the labels (and ``met <= tested``) are only in the
    proof when numerators and denominators were audited as ONE model, which the engine
    reports as one audit keyed ``numerator/denominator`` (``api.RATE_KEY``), or when the
    report names a model for the rate measures themselves. Two audits keyed ``numerator``
    and ``denominator`` are the label-blind two-table audit: never overclaimed.
    Data-driven on purpose: when the engine's rate model lands, the text follows by itself."""
    raw = report.get("attacker_model")
    out: dict[str, dict[str, Any]] = {}
    if "count" in measures:
        name = measures["count"]
        model = audited.get(name) or (raw.get(name) if isinstance(raw, dict) else raw)
        labels = bool(model) and model != NO_LABELS
        out[name] = {"attacker_model": model, "audit": "one table", "labels": labels,
                     "text": _count_text(str(model)) if labels else _unknown_text()}
        return out
    num, den = measures["numerator"], measures["denominator"]
    joint = disclosure.RATE_KEY.format(numerator=num, denominator=den)
    together = joint in audited
    for name in (den, num):
        named = isinstance(raw, dict) and (name in raw or joint in raw)
        if together and audited[joint]:
            model = audited[joint]
        elif isinstance(raw, dict):
            model = raw.get(name, raw.get(joint))
        else:
            model = audited.get(name) or raw
        labels = bool(model) and model != NO_LABELS and (together or named)
        out[name] = {
            "attacker_model": model,
            "audit": "numerators and denominators together" if together
            else "numerators and denominators as two separate tables",
            "labels": labels,
            "text": _rate_text(str(model)) if labels else _rate_blind_text(model),
        }
    return out


def _count_text(model: str) -> str:
    return (f"Checked against an attacker (model “{model}”) who knows every published number, "
            "that the rows add up to their totals, that counts are whole numbers, and what "
            "each suppression label says (“N<10” is 1 to 9 students; a “Cross … - N<10” "
            "cell is 10 or more).")


def _rate_text(model: str) -> str:
    return (f"Numerators and denominators were checked together against an attacker (model "
            f"“{model}”) who knows every published number, that the rows add up, that no "
            "numerator is above its denominator, and what each suppression label and coded "
            "rate says.")


def _rate_blind_text(model: str | None) -> str:
    named = f" The engine reports attacker model “{model}” for this table, but" if model else ""
    return ("This rate table's proof does not yet account for what the suppression labels "
            "reveal." + (named + " its" if named else " Its")
            + " numerators and denominators were each checked as a separate table, against "
            "an attacker who knows the published numbers and that rows add up, but not that "
            "“N<10” means 1 to 9, what a coded rate's range implies, or that a numerator "
            "cannot exceed its denominator. Someone who uses those facts may narrow some "
            "hidden cells further. A stronger check is in progress (disclosure engine, "
            "issue 12).")


def _unknown_text() -> str:
    return ("The disclosure report did not name the attacker model of this proof, so it is not "
            "known to account for what the suppression labels reveal.")


def labels_accounted(certificate: dict[str, Any]) -> bool:
    """Whether every measure's proof accounts for the labels (False for a certificate from
    before models were recorded: not known is not claimed)."""
    models = certificate.get("attacker_model") or {}
    return bool(models) and all(m.get("labels") for m in models.values())


def suppress(built: Built, *, policy: str = "ospi", seed: int = 0,
             independent: bool = True) -> Published:
    """Protect every part of ``built``, write the published CSV, and audit it from the file.

    ``independent=False`` skips the audit from the published file (the benchmark times it
    separately); the table then does not pass, so it can never be released that way. The
    suppressor's own LP proof always runs."""
    started = time.perf_counter()
    args = _measure_args(built)
    frames: list[pd.DataFrame] = []
    parts: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    passed = True
    # The suppressor's proofs (true values and witnesses): the file audit re-verifies them
    # against the published file first. In memory only: they hold the hidden values.
    proofs: list[disclosure.Proof | None] = []
    for part, result in zip(built.parts, _suppress_parts(built, policy, seed, args),
                            strict=True):
        proofs.append(result.proof)
        ok = result.ok
        passed &= ok
        frames.append(result.table)
        reports.append(result.report)
        parts.append({
            "slice": part.slice,
            "rows": len(part.frame),
            "cells_by_status": result.report.get("cells_by_status", {}),
            "grand_total_published": result.report.get("grand_total_published"),
            "attacker_model": result.report.get("attacker_model"),
            "suppressor_audit": result.report.get("audit"),
            "independent_audit": None,
            "passed": ok,
            "seconds": {"suppress": round(result.seconds, 3), "audit": 0.0},
            "spec_sha256": _digest(part.spec),
            "rows_sha256": _digest(result.table.astype(str).to_numpy().tolist()),
        })
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    data = published_csv(table)
    audited: dict[str, str | None] = {}  # audit key -> the model it names (if it names one)
    if independent and built.parts:
        t1 = time.perf_counter()
        audits = audit_file(data, built, policy=policy, hints=proofs)
        audit_s = time.perf_counter() - t1
        for entry, second in zip(parts, audits, strict=True):
            entry["independent_audit"] = second.summary()
            entry["passed"] = bool(entry["passed"] and second.ok)
            entry["seconds"]["audit"] = round(audit_s / len(audits), 3)
            for key, summary in second.summary()["measures"].items():
                audited.setdefault(key, summary.get("attacker_model"))
            passed &= second.ok
    else:
        passed = False  # not audited from the published file: never releasable
    for report in reports:  # the suppressor's own audits tell the same story
        for key, summary in ((report.get("audit") or {}).get("measures") or {}).items():
            audited.setdefault(key, summary.get("attacker_model"))
    models = proof_models(reports[0] if reports else {}, audited, args)
    certificate = {
        "engine": ENGINE,
        # Same table, policy, seed and engine version: the same pattern (see the engine's
        # ENGINE_VERSION); a re-publication with another version may publish another one.
        "engine_version": reports[0].get("engine_version") if reports else None,
        "solver": reports[0].get("solver") if reports else None,
        "table": built.definition.key,
        "school_year": built.request.year,
        "policy": policy,
        "protection": "threshold",
        "seed": seed,
        "student_groups": built.partitions,
        "attacker_model": models,
        "labels_accounted": bool(models) and all(m["labels"] for m in models.values()),
        "audited_from": "the published CSV file" if independent else None,
        "csv_sha256": hashlib.sha256(data).hexdigest(),
        "parts": parts,
        "rows": len(table),
        "cells_suppressed": int(sum(
            n for p in parts for k, n in p["cells_by_status"].items() if k != "published")),
        "passed": bool(passed and built.parts),
        # The whole table's wall seconds, its parts side by side: the portal queues the
        # next year's builds longest first by it (``portal.services.year_order``).
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Published(built, table, certificate, data if independent else b"")


def notes(published: Published, *, totals: bool = True) -> list[str]:
    """The suppression notes in plain language, for a dataset page and a delivered file
    (``totals=False``: without the line counting suppressed cells, for a caller that
    combines several years)."""
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
    if totals:
        lines.append(audit_line(cert, cert["cells_suppressed"], cert["rows"]))
    seen: set[str] = set()
    for model in (cert.get("attacker_model") or {}).values():
        if model["text"] not in seen:  # a rate table's two measures usually say the same
            seen.add(model["text"])
            lines.append(model["text"])
    if not cert.get("attacker_model"):
        lines.append(_unknown_text())
    return lines


def audit_line(cert: dict[str, Any], suppressed: int, rows: int) -> str:
    """How many cells are hidden and what the audit showed, without overclaiming."""
    labels = labels_accounted(cert)
    return (
        f"{suppressed:,} of {rows:,} cells are suppressed. Every hidden "
        "cell was checked by a linear-programming audit of the published file: "
        + (("no small group can be worked out exactly, nor narrowed beyond what its label "
            "already says, by the attacker described below." if labels else
            "no small group can be worked out exactly or shown to be below 10 from the "
            "published numbers and sums alone (see the limits below).") if cert["passed"]
           else "THE AUDIT FAILED; this table must not be released."))


def failure_reason(certificate: dict[str, Any]) -> str:
    """Why a table may not be released, in one line a steward can act on: which part and
    which audit failed, how many cells, and the first one."""
    if not certificate.get("parts"):
        return "the table has no audited parts"
    for part in certificate["parts"]:
        if part.get("passed"):
            continue
        where = f" ({part['slice']})" if part.get("slice") else ""
        for name, summary in (("the suppressor's own audit", part.get("suppressor_audit")),
                              ("the audit of the published file", part.get("independent_audit"))):
            if summary is None or summary.get("passed"):
                continue
            rows = summary.get("failures") or []
            total = sum(int(m.get("failures", 0)) for m in summary.get("measures", {}).values())
            first = ""
            if rows:
                r = rows[0]
                cell = ", ".join(f"{k}={v}" for k, v in r.items()
                                 if k not in ("measure", "min", "max", "rule"))
                first = (f"; first: {r.get('measure')} at {cell} ({r.get('rule')}, "
                         f"could be {r.get('min')}..{r.get('max')})")
            return (f"{name}{where} failed for {total or len(rows)} cell"
                    f"{'s' if (total or len(rows)) != 1 else ''}{first}")
    if not certificate.get("audited_from"):
        return "the published file was not audited, so it may not be released"
    return "the disclosure audit failed"
