"""The extract spec: what one agreement lets one researcher receive.

YAML, documented in docs/extract.md. Validation is strict and happens before anything is
written, so a bad spec never leaves a partial package behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datashare import elements

from .errors import ExtractError

EXTRA_FORMATS = ("dta", "sav", "xpt")  # Parquet and CSV are always written
FORMATS = ("parquet", "csv", *EXTRA_FORMATS)
COARSENINGS = {
    "race": "collapse the smallest race categories (American Indian/Alaskan Native, Native Hawaiian/Other Pacific Islander) into OT",
    "birth_year": "birth year to three-year birth cohorts",
    "school": "school code to its district",
}
RISK_FILES = ("student", "enrollment", "programs")  # where quasi-identifiers may come from
# The default release threshold: a delivered file with more than 5% of its records in
# quasi-identifier groups under 5 is flagged for the steward, who must acknowledge it.
DEFAULT_THRESHOLD_K = 5
DEFAULT_THRESHOLD_SHARE = 0.05


@dataclass(frozen=True)
class ExtractSpec:
    agreement: str
    files: dict[str, list[str]]  # file -> requested elements (catalog order)
    school_years: list[int]  # ending years, ascending: every year of the extract
    # Elements approved for fewer years than ``school_years`` (the agreement's Exhibit A may
    # give each element its own years): element -> its ending years, ascending. An element not
    # listed has every year of the extract. Its values in other years are delivered blank.
    element_years: dict[str, list[int]] = field(default_factory=dict)
    formats: list[str] = field(default_factory=lambda: ["parquet", "csv"])
    quasi_identifiers: list[str] = field(default_factory=list)
    coarsen: list[str] = field(default_factory=list)
    # True: the coarsenings are applied to the delivered values (a re-cut the steward chose);
    # False: they are only reported, as the alternative the steward could choose.
    apply_coarsening: bool = False
    threshold_k: int = DEFAULT_THRESHOLD_K
    threshold_share: float = DEFAULT_THRESHOLD_SHARE
    deidentified: bool = True
    title: str = ""
    recipient: str = ""
    terms: list[str] = field(default_factory=list)
    destroy_by: str = ""
    prepared_on: str = ""  # written into README/manifest only if given: keeps packages reproducible
    mapping: str = "synthetic"
    base_dir: Path | None = None  # folder of the spec file (relative mapping paths)

    @property
    def elements(self) -> list[str]:
        return [e for els in self.files.values() for e in els]

    def years_of(self, element: str) -> list[int]:
        """The ending years ``element``'s values are delivered for."""
        return self.element_years.get(element, self.school_years)

    def file_years(self, file: str) -> list[int]:
        """The years a yearly file has rows for: those of any of its elements (a year none of
        them is approved for has no row: even a row's existence says the student was there)."""
        els = self.files.get(file) or []
        if not els or not any(e in self.element_years for e in els):
            return self.school_years
        return sorted({y for e in els for y in self.years_of(e)})


def _check_keys(value: dict[Any, Any], known: set[str], where: str) -> None:
    """Refuse unknown keys at every level: a typo (``quasi_identifers``) must not silently
    drop a condition such as the whole risk assessment."""
    unknown = sorted(str(k) for k in set(value) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ExtractError(
            f"the spec has unknown key {prefix}{unknown[0]!r} (known: {', '.join(sorted(known))})"
        )


def _years(value: Any, where: str = "school_years") -> list[int]:
    if isinstance(value, dict):
        _check_keys(value, {"from", "to"}, where)
        first, last = (
            elements.parse_school_year(str(value["from"])),
            elements.parse_school_year(str(value["to"])),
        )
        if last < first:
            raise ExtractError(f"{where}: {value['to']} is before {value['from']}")
        return list(range(first, last + 1))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ExtractError(
            f"{where} must be a list like ['2018-19', '2019-20'] or {{from: ..., to: ...}}"
        )
    return sorted({elements.parse_school_year(str(v)) for v in value})


def _element_years(
    value: Any, files: dict[str, list[str]], years: list[int]
) -> dict[str, list[int]]:
    """``element_years``: {element: its years}, each a requested element and a subset of
    ``school_years``. Elements given every year of the extract are not kept (no masking)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ExtractError(
            "element_years must map an element to its school years, like {gpa: ['2019-20']}"
        )
    requested = {e for els in files.values() for e in els}
    out: dict[str, list[int]] = {}
    for e, raw in value.items():
        where = f"element_years.{e}"
        if not isinstance(e, str) or e not in requested:
            raise ExtractError(f"{where}: {e!r} is not an element of this extract's files")
        try:
            own = _years(raw, where)
        except elements.SchoolYearError as exc:
            raise ExtractError(f"{where}: {exc}") from None
        except KeyError as exc:
            raise ExtractError(f"{where} needs {exc.args[0]!r}") from None
        outside = [y for y in own if y not in years]
        if outside:
            raise ExtractError(
                f"{where}: {elements.format_school_year(outside[0])} is not one of the spec's school_years"
            )
        if own != years:
            out[e] = own
    if out:
        covered = {y for e in requested for y in out.get(e, years)}
        idle = [y for y in years if y not in covered]
        if idle:
            raise ExtractError(
                f"school_years: {elements.format_school_year(idle[0])} is in element_years of no element"
            )
    return out


def _str_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExtractError(f"{what} must be a list of names")
    return list(value)


def parse(data: Any, base_dir: Path | None = None) -> ExtractSpec:
    if not isinstance(data, dict):
        raise ExtractError("the spec must be a YAML mapping with agreement, school_years and files")
    for required in ("agreement", "school_years", "files"):
        if required not in data:
            raise ExtractError(f"the spec has no {required!r}")
    known = {
        "agreement",
        "title",
        "recipient",
        "deidentified",
        "school_years",
        "element_years",
        "files",
        "formats",
        "risk",
        "terms",
        "destroy_by",
        "prepared_on",
        "mapping",
    }
    _check_keys(data, known, "")
    try:
        years = _years(data["school_years"])
    except elements.SchoolYearError as exc:
        raise ExtractError(str(exc)) from None
    except KeyError as exc:
        raise ExtractError(f"school_years needs {exc.args[0]!r}") from None

    raw_files = data["files"]
    if not isinstance(raw_files, dict) or not raw_files:
        raise ExtractError("files must map a file name to its list of elements")
    files: dict[str, list[str]] = {}
    for f, els in raw_files.items():
        if f not in elements.FILES_BY_ID:
            raise ExtractError(
                f"unknown data file {f!r} (known: {', '.join(elements.FILES_BY_ID)})"
            )
        requested = _str_list(els, f"files.{f}")
        for e in requested:
            if e not in elements.ELEMENTS_BY_ID:
                raise ExtractError(f"unknown data element {e!r} in file {f!r}")
            if elements.ELEMENTS_BY_ID[e].file != f:
                raise ExtractError(
                    f"element {e!r} belongs to file {elements.ELEMENTS_BY_ID[e].file!r}, not {f!r}"
                )
        # school_year is written in every yearly file anyway; catalog order, no duplicates.
        wanted = set(requested) - {"school_year"}
        files[f] = [e.identifier for e in elements.elements_in(f) if e.identifier in wanted]

    element_years = _element_years(data.get("element_years"), files, years)

    deidentified = data.get("deidentified", True)
    if not isinstance(deidentified, bool):
        raise ExtractError("deidentified must be true or false")
    all_requested = [e for els in files.values() for e in els]
    direct = elements.direct_identifiers_in(all_requested)
    if direct and deidentified:
        # The whole point of a de-identified extract: refuse rather than silently drop.
        raise ExtractError(f"direct identifier {direct[0]!r} cannot be in a de-identified extract")
    if not deidentified:
        raise ExtractError("only de-identified extracts are supported (deidentified: true)")

    formats = _str_list(data.get("formats"), "formats") or ["parquet", "csv"]
    for fmt in formats:
        if fmt not in FORMATS:
            raise ExtractError(f"unknown output format {fmt!r} (known: {', '.join(FORMATS)})")
    formats = [f for f in FORMATS if f in {"parquet", "csv", *formats}]

    risk = data.get("risk") or {}
    if not isinstance(risk, dict):
        raise ExtractError("risk must be a mapping with quasi_identifiers and coarsen")
    _check_keys(risk, {"quasi_identifiers", "coarsen", "apply_coarsening", "threshold"}, "risk")
    qis = _str_list(risk.get("quasi_identifiers"), "risk.quasi_identifiers")
    for q in qis:
        el = elements.ELEMENTS_BY_ID.get(q)
        if el is None:
            raise ExtractError(f"unknown quasi-identifier {q!r}")
        if el.file not in RISK_FILES:
            raise ExtractError(
                f"quasi-identifier {q!r} must come from the student, enrollment or programs file"
            )
        if q not in all_requested:
            raise ExtractError(f"quasi-identifier {q!r} is not an element of this extract")
    coarsen = _str_list(risk.get("coarsen"), "risk.coarsen")
    for c in coarsen:
        if c not in COARSENINGS:
            raise ExtractError(f"unknown coarsening {c!r} (known: {', '.join(COARSENINGS)})")
    apply_coarsening = risk.get("apply_coarsening", False)
    if not isinstance(apply_coarsening, bool):
        raise ExtractError("risk.apply_coarsening must be true or false")
    if apply_coarsening and not coarsen:
        raise ExtractError("risk.apply_coarsening needs the coarsenings to apply in risk.coarsen")
    threshold = risk.get("threshold") or {}
    if not isinstance(threshold, dict):
        raise ExtractError("risk.threshold must be a mapping like {k: 5, max_share: 0.05}")
    _check_keys(threshold, {"k", "max_share"}, "risk.threshold")
    k = threshold.get("k", DEFAULT_THRESHOLD_K)
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= 100:
        raise ExtractError("risk.threshold.k must be a whole number from 2 to 100")
    share = threshold.get("max_share", DEFAULT_THRESHOLD_SHARE)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ExtractError("risk.threshold.max_share must be a number from 0 to 1")

    def text(key: str) -> str:
        value = data.get(key, "")
        return value.isoformat() if isinstance(value, dt.date) else str(value or "")

    return ExtractSpec(
        agreement=str(data["agreement"]).strip(),
        files=files,
        school_years=years,
        element_years=element_years,
        formats=formats,
        quasi_identifiers=qis,
        coarsen=coarsen,
        apply_coarsening=apply_coarsening,
        threshold_k=k,
        threshold_share=float(share),
        deidentified=True,
        title=text("title"),
        recipient=text("recipient"),
        terms=[str(t) for t in _str_list(data.get("terms"), "terms")],
        destroy_by=text("destroy_by"),
        prepared_on=text("prepared_on"),
        mapping=text("mapping") or "synthetic",
        base_dir=base_dir,
    )


def load(path: Path) -> ExtractSpec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ExtractError(f"cannot read spec {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExtractError(f"spec {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    spec = parse(data, Path(path).resolve().parent)
    if not spec.agreement:
        raise ExtractError("the spec's agreement number is empty")
    return spec
