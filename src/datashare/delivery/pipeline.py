"""From an agreement's Exhibit A to a sealed package in the delivery store (Django-free).

``prepare()`` is what the long-job worker runs. It is retry-safe against a worker killed at
any instant (SIGKILL, OOM, power): each attempt starts by removing the previous attempt's
work folder (plaintext package, engine spill files) and any half-sealed folder in the store;
the package is cut in the private work folder, sealed (encrypted) into the store under a
temporary name and renamed into place (``vault.seal_package``), and only then is the
plaintext removed. A package in the store is therefore whole or absent, and a retry after the
seal's rename finds it and does not cut it again. The crosswalk goes to the agency-only
folder, never under the store.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datashare import elements
from datashare.extract import spec as spec_module
from datashare.extract import vault
from datashare.extract.api import run_extract
from datashare.extract.coarsen import COLUMNS as COARSENED_COLUMNS
from datashare.extract.errors import ExtractError

# Quasi-identifiers assessed by default, when the agreement includes them.
DEFAULT_QUASI_IDENTIFIERS = (
    "school_code", "grade_level", "gender", "race_ethnicity", "birth_year", "disability_category",
)  # fmt: skip


def spec_from_exhibit_a(
    *,
    agreement: str,
    exhibit_a: dict[str, list[int]],
    formats: list[str],
    title: str = "",
    recipient: str = "",
    destroy_by: str = "",
    terms: list[str] | None = None,
    apply_coarsening: bool = False,
) -> dict[str, Any]:
    """Exhibit A ({element: [ending school years]}) as an extract spec: the extract's years are
    every year of Exhibit A, and each element approved for fewer keeps its own
    (``element_years``): the engine delivers its values only for those years, since delivering
    an element for a year the agreement does not list would be a disclosure it does not allow."""
    chosen = {e: sorted({int(y) for y in years}) for e, years in exhibit_a.items() if years}
    if not chosen:
        raise ExtractError("Exhibit A lists no element with a school year")
    files: dict[str, list[str]] = {}
    for e in chosen:
        el = elements.ELEMENTS_BY_ID.get(e)
        if el is None:
            raise ExtractError(f"Exhibit A names an unknown element {e!r}")
        files.setdefault(el.file, []).append(e)
    # school_year is every yearly file's key column, written for the rows' years anyway: the
    # years are the other elements'.
    data_elements = {e: ys for e, ys in chosen.items() if e != "school_year"} or chosen
    every = sorted({y for ys in data_elements.values() for y in ys})
    years = [elements.format_school_year(y) for y in every]
    element_years = {
        e: [elements.format_school_year(y) for y in ys]
        for e, ys in chosen.items()
        if ys != every and e != "school_year"
    }
    qis = [
        q for q in DEFAULT_QUASI_IDENTIFIERS
        if q in chosen and elements.get(q).file in spec_module.RISK_FILES
    ]  # fmt: skip
    coarsen = [c for c, column in COARSENED_COLUMNS.items() if column in qis]
    data: dict[str, Any] = {
        "agreement": agreement,
        "title": title,
        "recipient": recipient,
        "school_years": years,
        **({"element_years": element_years} if element_years else {}),
        "files": files,
        "formats": formats,
        # Every coarsening that fits the chosen quasi-identifiers: its risk is reported as the
        # alternative the steward may re-cut with (``apply_coarsening``: the re-cut itself).
        "risk": {"quasi_identifiers": qis, "coarsen": coarsen, "apply_coarsening": apply_coarsening and bool(coarsen)},
        "destroy_by": destroy_by,
    }
    if terms:
        data["terms"] = terms
    return data


@dataclass(frozen=True)
class Prepared:
    package_id: str
    files: dict[str, dict[str, Any]]  # name -> {"bytes": n, "sha256": hex} (from the manifest)
    risk: dict[str, Any]
    rows: dict[str, int]
    crosswalk: Path
    # Seconds per step of the cut (the engine's ExtractResult.timings); empty when an earlier
    # attempt had already sealed the package.
    timings: dict[str, float] = field(default_factory=dict)


def _read_sealed_json(store: Path, package_id: str, master: bytes, name: str) -> Any:
    key = vault.package_key(store, package_id, master)
    with vault.open_file(store, package_id, name, key) as reader:
        return json.loads(reader.read(0, reader.size))


def prepare(
    spec_data: dict[str, Any],
    *,
    source: Path,
    crosswalk_key: bytes,
    work: Path,
    store: Path,
    master: bytes,
    package_id: str,
    crosswalk_dir: Path,
    progress: Callable[[str], None] = lambda _step: None,
) -> Prepared:
    store, work, crosswalk_dir = Path(store), Path(work), Path(crosswalk_dir)
    crosswalk = crosswalk_dir / f"{package_id}.crosswalk.enc"
    vault.clean_stale_seals(store, package_id)
    timings: dict[str, float] = {}
    if not (store / package_id / vault.KEY_FILE).exists():
        shutil.rmtree(work, ignore_errors=True)  # the previous attempt's plaintext, if any
        work.mkdir(parents=True, mode=0o700)
        spec = spec_module.parse(spec_data)
        progress("cutting the extract")
        cut = run_extract(
            spec, source, work / "package", crosswalk_key, crosswalk_out=work / "crosswalk.enc"
        )
        timings = dict(cut.timings)
        # The crosswalk first: a worker killed between the two re-cuts (new RIDs, and a new
        # crosswalk over this one), never leaves a package without its crosswalk.
        crosswalk_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(work / "crosswalk.enc", crosswalk)
        progress("encrypting the package")
        vault.seal_package(work / "package", store, master, package_id)
    # Sealed (now or by an attempt killed after its seal): the plaintext goes.
    shutil.rmtree(work, ignore_errors=True)
    progress("checking the sealed package")
    manifest = _read_sealed_json(store, package_id, master, "manifest.json")
    risk = _read_sealed_json(store, package_id, master, "risk_report.json")
    return Prepared(
        package_id=package_id,
        files=dict(manifest["contents"]),
        risk=risk,
        rows={f: int(v["rows"]) for f, v in manifest["files"].items()},
        crosswalk=crosswalk,
        timings=timings,
    )
