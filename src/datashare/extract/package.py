"""The package around the data: codebook (JSON and HTML), README.txt, manifest.json and
SHA256SUMS (``sha256sum -c SHA256SUMS`` verifies every other file).

Nothing here embeds a clock time unless the spec gives ``prepared_on``: re-running the
same spec on the same source with the same crosswalk yields the same package content.
"""

from __future__ import annotations

import hashlib
import html
import json
import textwrap
from pathlib import Path
from typing import Any

from datashare import elements

from . import coarsen
from .spec import ExtractSpec

RID_DEFINITION = (
    "Research ID: a random code assigned for this extract only. It is drawn from a "
    "cryptographic random generator, is not based on any personal information, and has no "
    "connection to other data fields (34 CFR 99.31(b)(2))."
)


# Said in the codebook and README when an element has fewer years than its file's rows.
BLANK_OUTSIDE_YEARS = (
    "Each element's values are given only for the school years the agreement approves for it "
    "(its years in this codebook). In a row of another school year (and, for a one-row-per-student "
    "file, for a student with no record in those years) its cell is blank: missing, not zero."
)


def _years_text(years: list[str]) -> str:
    """'2017-18 to 2019-20' for consecutive years, else each one: '2017-18, 2019-20'."""
    if not years:
        return "none"
    ends = [elements.parse_school_year(y) for y in years]
    if len(years) > 1 and ends == list(range(ends[0], ends[-1] + 1)):
        return f"{years[0]} to {years[-1]}"
    return ", ".join(years)


def _column_doc(column: str, spec: ExtractSpec, file: str) -> dict[str, Any]:
    row_years = spec.file_years(file) if elements.FILES_BY_ID[file].yearly else spec.school_years
    years = [elements.format_school_year(y) for y in row_years]
    if column == "rid":
        return {
            "element": "rid",
            "name": "Research ID (RID)",
            "definition": RID_DEFINITION,
            "type": "string",
            "value_labels": {},
            "years": years,
        }
    el = elements.get(column)
    doc = {
        "element": el.identifier,
        "name": el.name,
        "definition": el.definition,
        "type": el.dtype.value,
        "value_labels": dict(el.value_labels),
        "years": [
            elements.format_school_year(y)
            for y in (row_years if column == "school_year" else spec.years_of(column))
            if el.available_in(y)
        ],
    }
    applied = coarsen.applied_to(column, spec)
    if applied:
        doc["coarsened"] = applied  # the values are coarser than the definition says
    return doc


def codebook(
    spec: ExtractSpec,
    columns: dict[str, list[str]],
    rows: dict[str, int],
    rows_by_year: dict[str, dict[str, int]],
) -> dict[str, Any]:
    files = []
    for f in spec.files:
        df = elements.FILES_BY_ID[f]
        files.append(
            {
                "file": f,
                "name": df.name,
                "description": df.description,
                "rows": rows[f],
                "rows_by_school_year": rows_by_year.get(f, {}),
                "columns": [_column_doc(c, spec, f) for c in columns[f]],
            }
        )
    book: dict[str, Any] = {
        "agreement": spec.agreement,
        "school_years": [elements.format_school_year(y) for y in spec.school_years],
        "files": files,
    }
    if spec.element_years:
        book["element_years"] = {
            e: [elements.format_school_year(y) for y in ys] for e, ys in spec.element_years.items()
        }
        book["blank_outside_years"] = BLANK_OUTSIDE_YEARS
    return book


def codebook_html(book: dict[str, Any]) -> str:
    e = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Codebook: agreement {e(book['agreement'])}</title></head><body>",
        f"<h1>Codebook: agreement {e(book['agreement'])}</h1>",
        f"<p>School years: {e(', '.join(book['school_years']))}</p>",
    ]
    if book.get("blank_outside_years"):
        out.append(f"<p><strong>{e(book['blank_outside_years'])}</strong></p>")
    for f in book["files"]:
        out.append(f"<h2>{e(f['name'])} (<code>{e(f['file'])}</code>): {f['rows']:,} rows</h2>")
        out.append(f"<p>{e(f['description'])}</p>")
        if f["rows_by_school_year"]:
            out.append(
                "<p>Rows by school year: "
                + e(", ".join(f"{y}: {n:,}" for y, n in f["rows_by_school_year"].items()))
                + "</p>"
            )
        out.append(
            "<table><thead><tr><th scope=col>Element</th><th scope=col>Name</th><th scope=col>Type</th><th scope=col>Definition</th><th scope=col>Value labels</th><th scope=col>Years</th></tr></thead><tbody>"
        )
        for c in f["columns"]:
            labels = "; ".join(f"{k} = {v}" for k, v in c["value_labels"].items())
            years = _years_text(c["years"])
            out.append(
                f"<tr><td><code>{e(c['element'])}</code></td><td>{e(c['name'])}</td><td>{e(c['type'])}</td>"
                f"<td>{e(c['definition'])}</td><td>{e(labels)}</td><td>{e(years)}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</body></html>\n")
    return "\n".join(out)


def readme(spec: ExtractSpec, rows: dict[str, int], formats: list[str]) -> str:
    years = [elements.format_school_year(y) for y in spec.school_years]
    lines = [
        f"De-identified student data extract under data sharing agreement {spec.agreement}",
        "",
    ]
    if spec.title:
        lines.append(f"Study: {spec.title}")
    if spec.recipient:
        lines.append(f"Recipient: {spec.recipient}")
    if spec.prepared_on:
        lines.append(f"Prepared on: {spec.prepared_on}")
    lines += [
        f"School years: {years[0]} to {years[-1]} ({len(years)} years)"
        if len(years) > 1
        else f"School year: {years[0]}",
        "",
        "Files (one per data file, in each format: " + ", ".join(formats) + "):",
        *[f"  {f}: {rows[f]:,} rows" for f in spec.files],
        "",
        "Names, dates of birth, Social Security numbers, district and state student ID numbers",
        "and other direct identifiers have been removed. Each student is identified only by a",
        "research ID (rid) that is random, assigned for this extract only, and has no",
        "connection to other data fields. Do not attempt to re-identify any student or to link",
        "these records with other data except as the agreement allows.",
        "",
        "school_year is written as '2019-20' (the year the school year ends in is the second part).",
        *(_wrap(BLANK_OUTSIDE_YEARS) if spec.element_years else []),
        "codebook.html / codebook.json describe every column; SHA256SUMS lets you check the",
        "files arrived intact: sha256sum -c SHA256SUMS",
        "",
        "Terms of the agreement:",
    ]
    terms = list(spec.terms) or ["Use the data only for the purposes in the agreement."]
    if spec.destroy_by:
        terms.append(f"Destroy these data, and every copy, by {spec.destroy_by}.")
    lines += [f"  - {t}" for t in terms]
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, width=88)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest_and_sums(
    folder: Path, spec: ExtractSpec, rows: dict[str, int], formats: list[str]
) -> None:
    entries = {
        p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(folder.iterdir())
        if p.is_file()
    }
    manifest = {
        "agreement": spec.agreement,
        "title": spec.title,
        "recipient": spec.recipient,
        "prepared_on": spec.prepared_on or None,
        "school_years": [elements.format_school_year(y) for y in spec.school_years],
        "files": {
            f: {
                "rows": rows[f],
                "elements": spec.files[f],
                # Each element's own years, when they are not every year of the extract.
                **(
                    {
                        "element_years": {
                            e: [elements.format_school_year(y) for y in spec.years_of(e)]
                            for e in spec.files[f]
                            if e in spec.element_years
                        }
                    }
                    if any(e in spec.element_years for e in spec.files[f])
                    else {}
                ),
                "outputs": [f"{f}.{fmt}" for fmt in formats],
            }
            for f in spec.files
        },
        "formats": formats,
        "contents": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    sums = [
        f"{sha256(p)}  {p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
