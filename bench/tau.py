"""tau-Argus (``pytauargus``) on the benchmark tables, with the same protection requirement.

tau-Argus has no overlapping partitions within one variable, so the statewide table is given
to it the standard way: as linked tables, one per student-group partition (organisation
hierarchy x {All Students + that partition's groups} x grade), sharing the All Students cells.
Linked tables are protected by iteration: run every table, force every shared cell that any
table suppressed to be unsafe in all of them, and repeat until no new shared cell appears.
Primaries are given through an apriori file with upper protection level (threshold - value)
so tau-Argus must guarantee the same interval datashare does (upper bound >= threshold).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEP = ";"


@dataclass
class TauRun:
    seconds: float
    suppressed: np.ndarray  # bool per frame row
    iterations: int
    error: str | None = None
    cpu: float = float("nan")  # CPU seconds of the tau-Argus process (user + system)


def _write_hrc(path: Path, spec_org: dict[str, Any], root: str) -> None:
    lines: list[str] = []

    def walk(code: str, depth: int) -> None:
        for part in spec_org.get(code, {}).values():
            for child in part:
                lines.append("@" * depth + child)
                walk(child, depth + 1)

    walk(root, 0)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run_table(work: Path, name: str, rows: pd.DataFrame, dims: list[str], totals: list[str],
               count: str, unsafe: pd.DataFrame, method: str, hrc: Path) -> np.ndarray:
    """One tau-Argus batch; returns the suppressed mask for ``rows``."""
    from pytauargus.engine import run_batch

    tab = work / f"{name}.tab"
    rows[[*dims, count]].to_csv(tab, sep=SEP, header=False, index=False)
    rda = work / f"{name}.rda"
    meta = []
    for d, tot in zip(dims, totals, strict=True):
        meta.append(f"{d}\n  <RECODEABLE>\n  <TOTCODE> \"{tot}\"")
        if d == dims[0]:
            meta[-1] += f"\n  <HIERARCHICAL>\n  <HIERCODELIST> \"{hrc}\"\n  <HIERLEADSTRING> \"@\""
    meta.append(f"{count}\n  <NUMERIC>\n  <DECIMALS> 0")
    rda.write_text(f"<SEPARATOR> \"{SEP}\"\n" + "\n".join(meta) + "\n", encoding="utf-8")
    hst = work / f"{name}.hst"
    lines = []
    for rec in unsafe.itertuples(index=False):
        codes = SEP.join(str(getattr(rec, d)) for d in dims)
        lines.append(f"{codes}{SEP}U")
        lines.append(f"{codes}{SEP}PL{SEP}0{SEP}{rec.upl}")
    hst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = work / f"{name}.out"
    suppress = "MOD(1,600,1,1,0)" if method == "MOD" else "OPT(1,600)"
    spec_line = "".join(f'"{d}"' for d in dims)
    arb = work / f"{name}.arb"
    arb.write_text(
        f'<OPENTABLEDATA> "{tab}"\n<OPENMETADATA> "{rda}"\n'
        f'<SPECIFYTABLE> {spec_line}|"{count}"||\n<SAFETYRULE>\n<READTABLE> 0\n'
        f'<APRIORI> "{hst}",1,"{SEP}",0,0\n<SUPPRESS> {suppress}\n'
        f'<WRITETABLE> (1,5,"SO+","{out}")\n',
        encoding="utf-8",
    )
    # The native library reads and writes scratch files (JJ.IN, hierinfo.dat, sdc.lp, ...) in
    # the working directory and trips over the previous table's: a second table run in the
    # same directory fails with "AHiTaS failed" or "Couldn't load JJ-routines". One fresh
    # directory per run.
    scratch = tempfile.mkdtemp(prefix=f"{name}.", dir=work)
    here = os.getcwd()
    os.chdir(scratch)
    try:
        run_batch(arb)
    finally:
        os.chdir(here)
    return _statuses(out, rows, dims, totals)


def _statuses(out: Path, rows: pd.DataFrame, dims: list[str], totals: list[str]) -> np.ndarray:
    text = out.read_text(encoding="utf-8", errors="replace").splitlines()
    hidden: set[tuple[str, ...]] = set()
    for line in text:
        parts = [p.strip().strip('"').strip() for p in line.split(SEP)]
        if len(parts) < len(dims) + 2:
            continue
        # codes; value; frequency; shadow; status; lower; upper
        status = parts[len(dims) + 3].upper()
        codes = tuple(tot if p == "" else p for p, tot in zip(parts[: len(dims)], totals, strict=True))
        if status not in {"S", "", "E", "Z"}:
            hidden.add(codes)
    keys = list(zip(*(rows[d].astype(str) for d in dims), strict=True))
    return np.array([k in hidden for k in keys], dtype=bool)


def run_tau(frame: pd.DataFrame, spec: dict[str, Any], primary: np.ndarray, threshold: int,
            method: str = "MOD", count: str = "count", max_iter: int = 20,
            protection: str = "threshold") -> TauRun:
    """``protection``: ``threshold`` gives each primary upper protection level T - value (its
    interval must reach T); ``exact`` gives 1 (it must not be determined). tau-Argus knows
    nothing of the labels' bounds; its patterns are audited under them afterwards."""
    dims = ["organization", "student_group", "grade"]
    org_root = next(iter(spec["organization"]))
    group_root, partitions = next(iter(spec["student_group"].items()))
    grade_root = next(iter(spec["grade"]))
    totals = [org_root, group_root, grade_root]
    values = frame[count].to_numpy()
    upl = (np.maximum(threshold - values, 1) if protection == "threshold"
           else np.ones(len(values), dtype=np.int64))
    shared = (frame["student_group"] == group_root).to_numpy()
    forced = np.zeros(len(frame), dtype=bool)
    suppressed = np.zeros(len(frame), dtype=bool)
    start = time.perf_counter()
    iterations = 0
    with tempfile.TemporaryDirectory(prefix="tau_") as tmp:
        work = Path(tmp)
        hrc = work / "org.hrc"
        _write_hrc(hrc, spec["organization"], org_root)
        while iterations < max_iter:
            iterations += 1
            suppressed[:] = False
            for p, (pname, groups) in enumerate(partitions.items()):
                sel = (shared | frame["student_group"].isin(groups).to_numpy()) & (values > 0)
                rows = frame.loc[sel]
                want = (primary | forced)[sel]
                unsafe = rows.loc[want, dims].assign(upl=upl[sel][want])
                mask = _run_table(work, f"t{p}_{pname}", rows, dims, totals, count, unsafe,
                                  method, hrc)
                suppressed[np.flatnonzero(sel)[mask]] = True
            new = suppressed & shared & ~forced
            if not new.any():
                break
            forced |= suppressed & shared
    return TauRun(time.perf_counter() - start, suppressed | primary, iterations)


def main(argv: list[str]) -> int:
    """Child-process entry: tau-Argus's native library can crash at interpreter exit, so the
    benchmark runs it in its own process and reads the result files."""
    import json
    import os

    work = Path(argv[1])
    frame = pd.read_parquet(work / "frame.parquet")
    spec = json.loads((work / "spec.json").read_text())
    primary = np.load(work / "primary.npy")
    args = json.loads((work / "args.json").read_text())
    run = run_tau(frame, spec, primary, args["threshold"], args["method"],
                  protection=args.get("protection", "threshold"))
    np.save(work / "suppressed.npy", run.suppressed)
    (work / "result.json").write_text(json.dumps({"seconds": run.seconds,
                                                  "iterations": run.iterations}))
    os._exit(0)  # skip native destructors


def run_tau_isolated(frame: pd.DataFrame, spec: dict[str, Any], primary: np.ndarray,
                     threshold: int, method: str = "MOD", timeout: float = 1800,
                     protection: str = "threshold") -> TauRun:
    import json
    import resource
    import signal
    import subprocess
    import sys

    from datashare.web.processes import die_with_parent

    with tempfile.TemporaryDirectory(prefix="taujob_") as tmp:
        work = Path(tmp)
        frame.to_parquet(work / "frame.parquet")
        (work / "spec.json").write_text(json.dumps(spec))
        np.save(work / "primary.npy", primary)
        (work / "args.json").write_text(json.dumps({"threshold": threshold, "method": method,
                                                    "protection": protection}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            # cwd: the native library's log lands there (each table's scratch files go to a
            # directory of their own, see _run_table).
            # Dies with us: the benchmark stops a slow size by terminating its process, which
            # would otherwise leave tau-Argus running on, orphaned, taking a core.
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(work)],
                                  cwd=work, capture_output=True, preexec_fn=die_with_parent(signal.SIGKILL),
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return TauRun(float("nan"), primary.copy(), 0, f"timed out after {timeout:.0f} s")
        if not (work / "result.json").exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return TauRun(float("nan"), primary.copy(), 0, f"exit {proc.returncode}: {tail}")
        res = json.loads((work / "result.json").read_text())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return TauRun(res["seconds"], np.load(work / "suppressed.npy"), res["iterations"],
                      cpu=cpu)


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv))
