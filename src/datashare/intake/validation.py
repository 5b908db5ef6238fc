"""What makes a request complete and valid: one set of rules for the web form, the API and submit.

``check_step(step, request, catalog, complete=...)`` returns ``{field: [messages]}``; with
``complete=False`` (saving a draft) missing answers are allowed but wrong ones are not. Field
keys are the web form's field names so each message shows next to its field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from datashare.catalog.selectors import Catalog
from datashare.elements import SchoolYearError, format_school_year, parse_school_year
from datashare.intake.models import DataRequest, DeliveryFormat, FerpaException, RequestKind

Errors = dict[str, list[str]]

STEPS: list[tuple[str, str]] = [
    ("request", "Type of request"),
    ("contacts", "Contacts and data manager"),
    ("project", "Project and duration"),
    ("data", "Data elements and school years"),
    ("security", "Data security"),
]
STEP_TITLES = dict(STEPS)
CONTACT_FIELDS: list[tuple[str, str]] = [
    ("name", "Name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("organization", "Organization"),
    ("title", "Title"),
    ("mailing_address", "Mailing address"),
]
MAX_TERM_YEARS = 3
JUSTIFY_BEYOND_YEARS = 2
# Dates a request may name: a project starts and ends in this century. Anything outside is a
# typing mistake (9998-06-01) and, unbounded, made the three-year arithmetic overflow.
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
# The most characters an answer may hold: short fields as the model stores them, long answers
# generous for prose but bounded (the API and the form refuse the same).
SHORT_TEXT = 200
LONG_TEXT = 10_000
TEXT_LIMITS: dict[str, int] = {
    "title": SHORT_TEXT,
    "legislative_citation": 300,
    "ferpa_explanation": LONG_TEXT,
    "purpose": LONG_TEXT,
    "research_questions": LONG_TEXT,
    "analyses": LONG_TEXT,
    "benefit": LONG_TEXT,
    "products": LONG_TEXT,
    "sharing_plan": LONG_TEXT,
    "duration_justification": LONG_TEXT,
    "storage_location": LONG_TEXT,
    "encryption_at_rest": LONG_TEXT,
    "encryption_in_transit": LONG_TEXT,
    "access_controls": LONG_TEXT,
    "software": LONG_TEXT,
    "people_with_access": LONG_TEXT,
}
CONTACT_LIMITS = {"mailing_address": 1000}
JUSTIFICATION_LIMIT = 2000
STEP_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "request": ("title", "legislative_citation", "ferpa_explanation"),
    "project": (
        "purpose", "research_questions", "analyses", "benefit", "products", "sharing_plan", "duration_justification",
    ),
    "security": (
        "storage_location", "encryption_at_rest", "encryption_in_transit", "access_controls", "software", "people_with_access",
    ),
}


def text_problems(value: object, *, limit: int, label: str) -> list[str]:
    """What is wrong with one free-text answer: not text, a NUL byte, or too long."""
    if not isinstance(value, str):
        return [f"{label} must be text."]
    problems = []
    if "\x00" in value:
        problems.append(f"{label} contains a null character; remove it.")
    if len(value) > limit:
        problems.append(f"{label} is {len(value):,} characters long; the limit is {limit:,}.")
    return problems


def date_problems(value: object, *, label: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dt.date):
        return [f"{label} must be a date."]
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return [f"{label} must be between {EARLIEST_DATE:%B %-d, %Y} and {LATEST_DATE:%B %-d, %Y}."]
    return []


def _check_text_fields(errors: Errors, r: DataRequest, step: str) -> None:
    for field in STEP_TEXT_FIELDS.get(step, ()):
        for problem in text_problems(getattr(r, field), limit=TEXT_LIMITS[field], label=_label(field)):
            errors.setdefault(field, []).append(problem)


def _is_email(value: str) -> bool:
    # The web form's EmailField rule, so the API accepts exactly the addresses the form does.
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


TABLES_STEP_TITLE = "Tables requested"


def steps_for(data_request: DataRequest) -> list[tuple[str, str]]:
    if data_request.is_short_form:
        # Suppressed aggregate tables: no student-level elements, no security plan.
        return [(k, TABLES_STEP_TITLE if k == "data" else t) for k, t in STEPS if k != "security"]
    return STEPS


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def parse_year_label(label: str, *, latest: int) -> int:
    """A school-year label from a form or the API -> ending year, or SchoolYearError with why."""
    end = parse_school_year(label)
    if end > latest:
        raise SchoolYearError(
            f"school year {label} is not available: the latest school year loaded is {format_school_year(latest)}"
        )
    return end


def _missing(errors: Errors, key: str, message: str, complete: bool) -> None:
    if complete:
        errors.setdefault(key, []).append(message)


def check_request_step(r: DataRequest, *, complete: bool) -> Errors:
    errors: Errors = {}
    _check_text_fields(errors, r, "request")
    if errors:
        return errors
    if not r.title.strip():
        # Always: a request is listed and emailed by its title, even as a draft.
        errors.setdefault("title", []).append("Give the request a short title.")
    if r.kind not in RequestKind.values:
        errors.setdefault("kind", []).append("Choose the kind of data you are requesting.")
    if r.ferpa_exception and r.ferpa_exception not in FerpaException.values:
        errors.setdefault("ferpa_exception", []).append("Choose one of the FERPA exceptions listed.")
    if not isinstance(r.legislative_requirement, bool):
        errors.setdefault("legislative_requirement", []).append("Answer yes or no.")
    if r.kind == RequestKind.IDENTIFIABLE:
        if not r.ferpa_exception:
            _missing(errors, "ferpa_exception", "Identifiable data is shared only under a FERPA exception: choose one.", complete)
        if not r.ferpa_explanation.strip():
            _missing(errors, "ferpa_explanation", "Explain how your project meets the FERPA exception you chose.", complete)
    if r.legislative_requirement and not r.legislative_citation.strip():
        _missing(errors, "legislative_citation", "Cite the legislative requirement (bill, section or proviso).", complete)
    return errors


def check_contacts_step(r: DataRequest, *, complete: bool) -> Errors:
    errors: Errors = {}
    contacts = [("primary", r.primary_contact)]
    if not r.is_short_form:
        contacts.append(("secondary", r.secondary_contact))
    for prefix, contact in contacts:
        label = "primary" if prefix == "primary" else "secondary"
        if not isinstance(contact, dict):
            errors.setdefault(f"{prefix}_name", []).append(f"The {label} contact is not a set of fields.")
            continue
        for key, name in CONTACT_FIELDS:
            raw = contact.get(key, "")
            problems = text_problems(raw, limit=CONTACT_LIMITS.get(key, SHORT_TEXT), label=f"{name} of the {label} contact")
            if problems:
                errors.setdefault(f"{prefix}_{key}", []).extend(problems)
                continue
            value = str(raw).strip()
            if not value:
                _missing(errors, f"{prefix}_{key}", f"{name} of the {label} contact is required.", complete)
            elif key == "email" and not _is_email(value):
                errors.setdefault(f"{prefix}_{key}", []).append(f"Enter a valid email for the {label} contact.")
    if not r.is_short_form:
        if r.data_manager_id is None:
            _missing(
                errors,
                "data_manager_email",
                "Designate the person directly responsible for managing the data (a registered user).",
                complete,
            )
        elif r.data_manager_accepted_at is None:
            _missing(
                errors,
                "data_manager_email",
                "The designated data manager has not yet accepted the role (they were emailed a link).",
                complete,
            )
    return errors


def check_project_step(r: DataRequest, *, complete: bool) -> Errors:
    errors: Errors = {}
    _check_text_fields(errors, r, "project")
    for field, label in (("start_date", "The start date"), ("end_date", "The end date")):
        for problem in date_problems(getattr(r, field), label=label):
            errors.setdefault(field, []).append(problem)
    if not isinstance(r.pledge_to_share, bool):
        errors.setdefault("pledge_to_share", []).append("Answer yes or no.")
    if errors:
        return errors
    required = [("purpose", "Describe the purpose of the project.")]
    if not r.is_short_form:
        required += [
            ("research_questions", "List the research questions."),
            ("analyses", "Describe the analyses planned."),
            ("benefit", "Explain how the project benefits education in the state."),
            ("products", "Describe the expected products."),
            ("sharing_plan", "Explain how the products will be shared."),
        ]
    for field, message in required:
        if not str(getattr(r, field)).strip():
            _missing(errors, field, message, complete)
    if not r.is_short_form and not r.pledge_to_share:
        _missing(
            errors,
            "pledge_to_share",
            "You must agree to share products with the agency before they are released.",
            complete,
        )
    if r.start_date is None and not r.is_short_form:
        _missing(errors, "start_date", "Enter the start date.", complete)
    if r.end_date is None and not r.is_short_form:
        _missing(errors, "end_date", "Enter the end date.", complete)
    if r.start_date and r.end_date:
        if r.end_date <= r.start_date:
            errors.setdefault("end_date", []).append("The end date must be after the start date.")
        elif r.end_date > add_years(r.start_date, MAX_TERM_YEARS):
            errors.setdefault("end_date", []).append(
                "Agreements last at most three years: choose an end date no later than "
                f"{add_years(r.start_date, MAX_TERM_YEARS):%B %-d, %Y}."
            )
        elif r.end_date > add_years(r.start_date, JUSTIFY_BEYOND_YEARS) and not r.duration_justification.strip():
            errors.setdefault("duration_justification", []).append(
                "A term longer than two years needs a justification."
            )
    return errors


def check_selections(
    *, kind: str, selections: dict[str, list[int]], justifications: dict[str, str], catalog: Catalog, complete: bool
) -> Errors:
    errors: Errors = {}
    by_id = catalog.by_identifier
    if not isinstance(justifications, dict):
        return {"selections": ["Justifications must map element identifiers to text."]}
    for identifier, text in justifications.items():
        element = by_id.get(identifier)
        if element is None:
            errors.setdefault("selections", []).append(f"A justification names {identifier!r}, which is not a data element.")
            continue
        if identifier not in selections:
            errors.setdefault(f"just_{identifier}", []).append(f"{element.name} is not selected: choose it or remove its justification.")
        for problem in text_problems(text, limit=JUSTIFICATION_LIMIT, label=f"The justification for {element.name}"):
            errors.setdefault(f"just_{identifier}", []).append(problem)
    if errors:
        return errors
    if not any(selections.values()):
        _missing(errors, "selections", "Choose at least one data element and school year.", complete)
    for identifier, years in selections.items():
        element = by_id.get(identifier)
        if element is None:
            errors.setdefault("selections", []).append(f"Unknown data element {identifier!r}.")
            continue
        key = f"el_{identifier}"
        if element.is_direct_identifier and kind != RequestKind.IDENTIFIABLE:
            errors.setdefault(key, []).append(
                f"{element.name} is a direct identifier: it is never included in a "
                f"{RequestKind(kind).label.lower() if kind in RequestKind.values else 'request'}. "
                "Remove it, or request identifiable data under a FERPA exception."
            )
        for year in years:
            if not element.available_in(year, catalog.latest):
                if year > catalog.latest:
                    why = f"the latest school year loaded is {format_school_year(catalog.latest)}"
                else:
                    why = f"it is collected from {format_school_year(element.first_year)}"
                errors.setdefault(key, []).append(
                    f"{element.name} is not available in {format_school_year(year)}: {why}."
                )
        if years and element.is_sensitive and not justifications.get(identifier, "").strip():
            _missing(
                errors,
                f"just_{identifier}",
                f"{element.name} is a sensitive element: explain why your project needs it.",
                complete,
            )
    return errors


def check_data_step(r: DataRequest, catalog: Catalog, *, complete: bool) -> Errors:
    if r.is_short_form:
        # The short form describes tables; it never carries student-level elements.
        errors: Errors = {}
        for problem in text_problems(r.tables_requested, limit=LONG_TEXT, label="Tables requested"):
            errors.setdefault("tables_requested", []).append(problem)
        if any((r.selections or {}).values()):
            errors.setdefault("selections", []).append(
                "A request for suppressed aggregate tables does not choose student-level elements: describe the tables instead."
            )
        if not errors and not r.tables_requested.strip():
            _missing(errors, "tables_requested", "Describe the tables you need (measures, groups, levels and school years).", complete)
        return errors
    return check_selections(
        kind=r.kind, selections=r.selections, justifications=r.justifications, catalog=catalog, complete=complete
    )


def check_security_step(r: DataRequest, *, complete: bool, has_policy: bool) -> Errors:
    errors: Errors = {}
    if r.is_short_form:
        return errors
    _check_text_fields(errors, r, "security")
    for problem in date_problems(r.irb_expires, label="The IRB expiry date"):
        errors.setdefault("irb_expires", []).append(problem)
    if not isinstance(r.irb_approved, bool):
        errors.setdefault("irb_approved", []).append("Answer yes or no.")
    formats = r.delivery_formats
    if formats is not None and (
        not isinstance(formats, list) or any(f not in DeliveryFormat.values for f in formats) or len(set(formats)) != len(formats)
    ):
        errors.setdefault("delivery_formats", []).append(
            "Choose file formats among " + ", ".join(str(label) for label in DeliveryFormat.labels) + "."
        )
    if errors:
        return errors
    for field, message in [
        ("storage_location", "Say where the data will be stored."),
        ("encryption_at_rest", "Describe encryption at rest."),
        ("encryption_in_transit", "Describe encryption in transit."),
        ("access_controls", "Describe the access controls."),
        ("software", "List the software that will be used with the data."),
        ("people_with_access", "List the people who will have access and their roles."),
    ]:
        if not str(getattr(r, field)).strip():
            _missing(errors, field, message, complete)
    if not has_policy:
        _missing(errors, "security_policy", "Attach your organization's security policy (PDF or DOCX).", complete)
    if r.irb_approved and r.irb_expires is None:
        _missing(errors, "irb_expires", "Enter the date the IRB approval expires.", complete)
    if r.irb_expires and r.irb_expires < dt.date.today():
        errors.setdefault("irb_expires", []).append("The IRB approval has expired: attach a current approval.")
    return errors


def check_step(step: str, r: DataRequest, catalog: Catalog | None, *, complete: bool, has_policy: bool = False) -> Errors:
    if step == "request":
        return check_request_step(r, complete=complete)
    if step == "contacts":
        return check_contacts_step(r, complete=complete)
    if step == "project":
        return check_project_step(r, complete=complete)
    if step == "data":
        if catalog is None:
            raise ValueError("checking the data step needs the catalog")
        return check_data_step(r, catalog, complete=complete)
    if step == "security":
        return check_security_step(r, complete=complete, has_policy=has_policy)
    raise ValueError(step)


def check_all(r: DataRequest, catalog: Catalog, *, complete: bool, has_policy: bool) -> dict[str, Errors]:
    result = {}
    for step, _ in steps_for(r):
        errs = check_step(step, r, catalog, complete=complete, has_policy=has_policy)
        if errs:
            result[step] = errs
    return result


def parse_grid(values: Iterable[str], *, latest: int) -> tuple[dict[str, list[int]], list[str]]:
    """Grid/API values 'element:2019-20' -> ({element: [2020]}, [errors]); years before 2009-10
    are refused with the reason."""
    selections: dict[str, set[int]] = {}
    errors: list[str] = []
    for value in values:
        identifier, _, label = value.partition(":")
        try:
            year = parse_year_label(label, latest=latest)
        except SchoolYearError as exc:
            errors.append(str(exc)[0].upper() + str(exc)[1:] + ".")
            continue
        selections.setdefault(identifier, set()).add(year)
    return {k: sorted(v) for k, v in selections.items()}, errors
