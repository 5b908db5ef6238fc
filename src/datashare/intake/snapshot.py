"""The frozen, human-readable form of a request (a version), and the side-by-side diff of two."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from datashare.catalog.selectors import Catalog
from datashare.elements import format_school_year
from datashare.intake.models import DataRequest, delivery_formats_text
from datashare.intake.validation import CONTACT_FIELDS, STEP_TITLES, TABLES_STEP_TITLE

Snapshot = dict[str, list[str]]  # section title -> lines "Label: value"


def _years(years: list[int]) -> str:
    return ", ".join(format_school_year(y) for y in years)


def take(r: DataRequest, catalog: Catalog, attachments: list[Any]) -> Snapshot:
    names = {e.identifier: e.name for e in catalog.by_identifier.values()}
    snap: Snapshot = {}
    snap[STEP_TITLES["request"]] = [
        f"Title: {r.title}",
        f"Kind: {r.get_kind_display()}",
        f"FERPA exception: {r.get_ferpa_exception_display() if r.ferpa_exception else '-'}",
        f"FERPA explanation: {r.ferpa_explanation}",
        f"Legislative requirement: {'yes: ' + r.legislative_citation if r.legislative_requirement else 'no'}",
        f"Organization: {r.organization.name}",
    ]
    contacts = []
    for label, contact in (("Primary", r.primary_contact), ("Secondary", r.secondary_contact)):
        for key, name in CONTACT_FIELDS:
            contacts.append(f"{label} contact {name.lower()}: {(contact or {}).get(key, '')}")
    manager = r.data_manager
    contacts.append(f"Data manager: {manager.full_name + ' <' + manager.email + '>' if manager else '-'}")
    snap[STEP_TITLES["contacts"]] = contacts
    snap[STEP_TITLES["project"]] = [
        f"Purpose: {r.purpose}",
        f"Research questions: {r.research_questions}",
        f"Analyses: {r.analyses}",
        f"Benefit to education in the state: {r.benefit}",
        f"Expected products: {r.products}",
        f"How products will be shared: {r.sharing_plan}",
        f"Pledge to share before release: {'yes' if r.pledge_to_share else 'no'}",
        f"Start: {r.start_date or '-'}",
        f"End: {r.end_date or '-'}",
        f"Duration justification: {r.duration_justification}",
    ]
    data = [f"Tables requested: {r.tables_requested}"] if r.is_short_form else []
    for identifier, years in sorted(r.selections.items()):
        data.append(f"{names.get(identifier, identifier)}: {_years(years)}")
        if r.justifications.get(identifier):
            data.append(f"{names.get(identifier, identifier)} justification: {r.justifications[identifier]}")
    snap[TABLES_STEP_TITLE if r.is_short_form else STEP_TITLES["data"]] = data
    if not r.is_short_form:
        snap[STEP_TITLES["security"]] = [
            f"Storage: {r.storage_location}",
            f"Encryption at rest: {r.encryption_at_rest}",
            f"Encryption in transit: {r.encryption_in_transit}",
            f"Access controls: {r.access_controls}",
            f"Software: {r.software}",
            f"File formats: {delivery_formats_text(r.delivery_formats)}",
            f"People with access: {r.people_with_access}",
            f"IRB approval: {'yes, expires ' + str(r.irb_expires) if r.irb_approved else 'no'}",
            *[f"Attachment ({a.get_purpose_display()}): {a.original_name}" for a in attachments],
        ]
    return snap


@dataclass(frozen=True)
class DiffRow:
    left: str
    right: str
    change: str  # "same", "changed", "added", "removed"
    # A list answer (the school years of an element): the label and only what changed in it,
    # so a reader sees "added 2024-25" rather than two sixteen-year lists to compare by eye.
    label: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_list_change(self) -> bool:
        return bool(self.label) and self.change == "changed"


@dataclass(frozen=True)
class SectionDiff:
    title: str
    rows: list[DiffRow]

    @property
    def changed(self) -> bool:
        return any(r.change != "same" for r in self.rows)

    @property
    def changes(self) -> list[DiffRow]:
        return [r for r in self.rows if r.change != "same"]

    @property
    def unchanged_count(self) -> int:
        return sum(1 for r in self.rows if r.change == "same")


_YEAR = re.compile(r"^\d{4}-\d{2}$")


def _label(line: str) -> str:
    return line.split(": ", 1)[0] if ": " in line else ""


def _year_list(line: str) -> list[str] | None:
    """The school years of a data line ("Gender: 2009-10, 2010-11"), or None for any other line."""
    if ": " not in line:
        return None
    items = [x.strip() for x in line.split(": ", 1)[1].split(",")]
    return items if items and all(_YEAR.match(x) for x in items) else None


def _pair(left: list[str], right: list[str]) -> list[DiffRow]:
    """Lines replaced by others: the same label is a change of that answer; the rest were
    removed or added."""
    rows: list[DiffRow] = []
    by_label = {_label(x): x for x in right if _label(x)}
    used: set[str] = set()
    for line in left:
        label = _label(line)
        other = by_label.get(label) if label else None
        if other is None or label in used:
            rows.append(DiffRow(line, "", "removed"))
            continue
        used.add(label)
        old_years, new_years = _year_list(line), _year_list(other)
        if old_years is not None and new_years is not None:
            added = tuple(y for y in new_years if y not in old_years)
            removed = tuple(y for y in old_years if y not in new_years)
            rows.append(DiffRow(line, other, "changed", label=label, added=added, removed=removed))
        else:
            rows.append(DiffRow(line, other, "changed"))
    rows += [DiffRow("", x, "added") for x in right if not (_label(x) and _label(x) in used)]
    return rows


def diff(old: Snapshot, new: Snapshot) -> list[SectionDiff]:
    sections = list(dict.fromkeys([*old.keys(), *new.keys()]))
    result = []
    for title in sections:
        a, b = old.get(title, []), new.get(title, [])
        rows: list[DiffRow] = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag == "equal":
                rows += [DiffRow(x, x, "same") for x in a[i1:i2]]
            elif tag == "replace":
                rows += _pair(a[i1:i2], b[j1:j2])
            elif tag == "delete":
                rows += [DiffRow(x, "", "removed") for x in a[i1:i2]]
            else:
                rows += [DiffRow("", x, "added") for x in b[j1:j2]]
        result.append(SectionDiff(title, rows))
    return result
