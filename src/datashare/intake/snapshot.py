"""The frozen, human-readable form of a request (a version), and the side-by-side diff of two."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from datashare.catalog.selectors import Catalog
from datashare.elements import format_school_year
from datashare.intake.models import DataRequest
from datashare.intake.validation import CONTACT_FIELDS, STEP_TITLES

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
    data = []
    for identifier, years in sorted(r.selections.items()):
        data.append(f"{names.get(identifier, identifier)}: {_years(years)}")
        if r.justifications.get(identifier):
            data.append(f"{names.get(identifier, identifier)} justification: {r.justifications[identifier]}")
    snap[STEP_TITLES["data"]] = data
    if not r.is_short_form:
        snap[STEP_TITLES["security"]] = [
            f"Storage: {r.storage_location}",
            f"Encryption at rest: {r.encryption_at_rest}",
            f"Encryption in transit: {r.encryption_in_transit}",
            f"Access controls: {r.access_controls}",
            f"Software: {r.software}",
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


@dataclass(frozen=True)
class SectionDiff:
    title: str
    rows: list[DiffRow]

    @property
    def changed(self) -> bool:
        return any(r.change != "same" for r in self.rows)


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
                left, right = a[i1:i2], b[j1:j2]
                for k in range(max(len(left), len(right))):
                    rows.append(DiffRow(left[k] if k < len(left) else "", right[k] if k < len(right) else "", "changed"))
            elif tag == "delete":
                rows += [DiffRow(x, "", "removed") for x in a[i1:i2]]
            else:
                rows += [DiffRow("", x, "added") for x in b[j1:j2]]
        result.append(SectionDiff(title, rows))
    return result
