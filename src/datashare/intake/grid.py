"""The elements-by-school-years step as people use it: an element is chosen with a range of
school years (from, to), and a range can be applied to many elements at once (every chosen
element, a file, the standard base file, the whole catalog).

This module turns the posted form into ``{element: [ending years]}`` (what the services and the
API store) and back into rows for the template. The rules about what is allowed stay in
``validation.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from datashare.catalog.selectors import Catalog
from datashare.elements import SchoolYearError, format_school_year
from datashare.intake.models import RequestKind
from datashare.intake.validation import parse_grid, parse_year_label

Selections = dict[str, list[int]]

SCOPE_CHOSEN = "chosen"
SCOPE_ALL = "all"
SCOPE_STANDARD = "standard"
FILE_SCOPE_PREFIX = "file:"


@dataclass
class ParsedGrid:
    selections: Selections
    justifications: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)


def offered(element: Any, kind: str) -> bool:
    """Direct identifiers are offered only in an identifiable request (FERPA exception)."""
    return kind == RequestKind.IDENTIFIABLE or not element.is_direct_identifier


def available_years(element: Any, cat: Catalog) -> list[int]:
    return [y for y in cat.years if element.available_in(y, cat.latest)]


def _year(value: str, *, latest: int, errors: dict[str, list[str]], key: str) -> int | None:
    try:
        return parse_year_label(value, latest=latest)
    except SchoolYearError as exc:
        errors.setdefault(key, []).append(str(exc)[0].upper() + str(exc)[1:] + ".")
        return None


def _span(years: Iterable[int]) -> list[int]:
    return sorted(set(years))


def parse(post: QueryDict, cat: Catalog) -> ParsedGrid:
    """The posted grid: ``inc`` (chosen elements), ``from_<id>``/``to_<id>`` (their range) and
    ``keep_<id>`` (years chosen one by one elsewhere, e.g. the API, kept while the range shown
    for them is unchanged); ``just_<id>`` the justifications."""
    by_id = cat.by_identifier
    errors: dict[str, list[str]] = {}
    selections: Selections = {}
    for identifier in dict.fromkeys(post.getlist("inc")):
        element = by_id.get(identifier)
        if element is None:
            errors.setdefault("selections", []).append(f"Unknown data element {identifier!r}.")
            continue
        key = f"el_{identifier}"
        first = _year(post.get(f"from_{identifier}", ""), latest=cat.latest, errors=errors, key=key)
        last = _year(post.get(f"to_{identifier}", ""), latest=cat.latest, errors=errors, key=key)
        if first is None or last is None:
            continue
        if first > last:
            first, last = last, first  # "from 2020-21 to 2014-15" means the same years
        kept = _kept(post.get(f"keep_{identifier}", ""))
        if kept and min(kept) == first and max(kept) == last:
            selections[identifier] = kept
        else:
            # Years outside the element's collection are refused by validation, with the reason;
            # a range simply covers the years the element exists in.
            years = [y for y in range(first, last + 1) if element.available_in(y, cat.latest)]
            selections[identifier] = years or [first]
    # One "element:2019-20" value per year, as the API takes it (and scripts post it).
    single, single_errors = parse_grid(post.getlist("sel"), latest=cat.latest)
    if single_errors:
        errors.setdefault("selections", []).extend(single_errors)
    for identifier, years in single.items():
        selections[identifier] = _span([*selections.get(identifier, []), *years])
    justifications = {
        key.removeprefix("just_"): str(post.get(key, "")).strip()
        for key in post
        if key.startswith("just_") and str(post.get(key, "")).strip()
    }
    return ParsedGrid(selections, justifications, errors)


def _kept(value: str) -> list[int]:
    try:
        return _span(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        return []


def apply_range(
    selections: Selections, cat: Catalog, *, kind: str, scope: str, first: int, last: int
) -> tuple[Selections, int]:
    """Give every element in ``scope`` the school years from ``first`` to ``last`` that it
    exists in; an element with none of them is dropped. Returns the new selections and how
    many elements the range was applied to."""
    if first > last:
        first, last = last, first
    elements = [e for f in cat.files for e in f.elements]
    if scope == SCOPE_CHOSEN:
        targets = [e for e in elements if e.identifier in selections]
    elif scope == SCOPE_ALL:
        targets = [e for e in elements if offered(e, kind)]
    elif scope == SCOPE_STANDARD:
        targets = [e for e in elements if e.effective_tier == "standard"]
    elif scope.startswith(FILE_SCOPE_PREFIX):
        file_id = scope.removeprefix(FILE_SCOPE_PREFIX)
        targets = [e for f in cat.files if f.file.identifier == file_id for e in f.elements if offered(e, kind)]
    else:
        targets = []
    result = dict(selections)
    for element in targets:
        years = [y for y in range(first, last + 1) if element.available_in(y, cat.latest)]
        if years:
            result[element.identifier] = years
        else:
            result.pop(element.identifier, None)
    return result, len(targets)


def scope_choices(cat: Catalog) -> list[tuple[str, str]]:
    return [
        (SCOPE_CHOSEN, "Every element I have chosen"),
        (SCOPE_STANDARD, "The standard base file"),
        (SCOPE_ALL, "Every element in the catalog"),
        *[(f"{FILE_SCOPE_PREFIX}{f.file.identifier}", f"Every element of {f.file.name}") for f in cat.files],
    ]


def rows(
    cat: Catalog, selections: Selections, justifications: dict[str, str], kind: str, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One entry per file, with a row per element: chosen or not, its range, what it offers."""
    files = []
    for cf in cat.files:
        elements = []
        for el in cf.elements:
            chosen = selections.get(el.identifier, [])
            years = available_years(el, cat)
            is_offered = offered(el, kind)
            contiguous = bool(chosen) and chosen == list(range(chosen[0], chosen[-1] + 1))
            elements.append(
                {
                    "el": el,
                    "chosen": bool(chosen),
                    # A direct identifier in a non-identifiable request is not offered; one
                    # already chosen (the kind was changed) stays, with its error, to be removed.
                    "offered": is_offered,
                    "show_controls": is_offered or bool(chosen),
                    "years": [(y, format_school_year(y)) for y in years] or [(y, format_school_year(y)) for y in chosen],
                    "from": chosen[0] if chosen else (years[0] if years else None),
                    "to": chosen[-1] if chosen else (years[-1] if years else None),
                    "keep": ",".join(str(y) for y in chosen) if chosen and not contiguous else "",
                    "chosen_labels": ", ".join(format_school_year(y) for y in chosen),
                    "justification": justifications.get(el.identifier, ""),
                    "errors": errors.get(f"el_{el.identifier}", []),
                    "just_errors": errors.get(f"just_{el.identifier}", []),
                }
            )
        has_errors = any(r["errors"] or r["just_errors"] for r in elements)
        files.append(
            {
                "file": cf.file,
                "rows": elements,
                "chosen_count": sum(1 for r in elements if r["chosen"]),
                "offered_count": sum(1 for r in elements if r["offered"]),
                "open": has_errors,
            }
        )
    return files


def parse_range_year(value: str, cat: Catalog, *, default: int, errors: dict[str, list[str]]) -> int:
    """A school year of a range control; blank means the default end of the range."""
    if not value.strip():
        return default
    year = _year(value, latest=cat.latest, errors=errors, key="selections")
    return default if year is None else year
