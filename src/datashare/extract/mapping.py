"""Where each catalog element lives in a source: file -> table, year column, element -> column.

The engine never reads a column that is not named here, and refuses a mapping that would
send a direct identifier's source column out under another element's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datashare import elements

from .errors import ExtractError

MAPPINGS_DIR = Path(__file__).parent / "mappings"


@dataclass(frozen=True)
class FileMapping:
    table: str
    year: str | None  # column holding the ending school year (None: one row per student)
    columns: dict[str, str]  # element identifier -> source column


@dataclass(frozen=True)
class Mapping:
    name: str
    student_key: str
    files: dict[str, FileMapping]
    school_districts: dict[str, str] = field(default_factory=dict)  # table, school, district

    def column(self, element: str) -> str:
        el = elements.get(element)
        fm = self.files.get(el.file)
        if fm is None or element not in fm.columns:
            raise ExtractError(f"element {element!r} has no source column in mapping {self.name!r}")
        return fm.columns[element]

    def identifier_columns(self) -> set[tuple[str, str]]:
        """(table, column) pairs that hold direct identifiers or the internal student key."""
        cols = {(fm.table, self.student_key) for fm in self.files.values()}
        for fm in self.files.values():
            cols |= {
                (fm.table, c) for e, c in fm.columns.items() if e in elements.DIRECT_IDENTIFIERS
            }
        return cols


def _parse(data: Any, origin: str) -> Mapping:
    try:
        files = {
            f: FileMapping(
                str(m["table"]),
                m.get("year"),
                {str(k): str(v) for k, v in (m.get("columns") or {}).items()},
            )
            for f, m in data["files"].items()
        }
        mapping = Mapping(
            str(data["name"]),
            str(data["student_key"]),
            files,
            dict(data.get("school_districts") or {}),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ExtractError(f"mapping {origin} is malformed ({exc})") from None
    for f, fm in files.items():
        if f not in elements.FILES_BY_ID:
            raise ExtractError(f"mapping {origin} names unknown file {f!r}")
        for e in fm.columns:
            if e not in elements.ELEMENTS_BY_ID or elements.ELEMENTS_BY_ID[e].file != f:
                raise ExtractError(
                    f"mapping {origin} maps {e!r}, which is not an element of file {f!r}"
                )
    return mapping


def load(name_or_path: str | Path, base: Path | None = None) -> Mapping:
    """A shipped mapping by name (``synthetic``) or a mapping YAML by path."""
    path = MAPPINGS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        path = Path(name_or_path)
        if not path.is_absolute() and base is not None:
            path = base / path
    if not path.is_file():
        raise ExtractError(f"mapping {name_or_path!s} not found (shipped: synthetic)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ExtractError(
            f"mapping {path} is not valid YAML ({str(exc).splitlines()[0]})"
        ) from None
    return _parse(data, str(path))
