"""``datashare suppress`` / ``audit-table``: exit codes, one-line errors, atomic output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from datashare.cli import main

from .conftest import SMALL_SPEC
from .test_engine import _small


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SMALL_SPEC))
    table = tmp_path / "in.csv"
    _small().to_csv(table, index=False)
    return {"spec": spec, "in": table, "out": tmp_path / "out.csv",
            "report": tmp_path / "report.json"}


def test_suppress_then_audit_round_trip(files: dict[str, Path]) -> None:
    rc = main(["suppress", str(files["in"]), "--spec", str(files["spec"]), "--count", "count",
               "--out", str(files["out"]), "--report", str(files["report"])])
    assert rc == 0
    out = pd.read_csv(files["out"], dtype={"grade": str})
    assert len(out) == len(pd.read_csv(files["in"]))
    assert {"suppression", "display"} <= set(out.columns)
    report = json.loads(files["report"].read_text())
    assert report["audit"]["passed"] is True
    assert report["cells_by_status"]["primary"] > 0
    assert report["grand_total_published"] is True
    assert main(["audit-table", str(files["out"]), "--spec", str(files["spec"]),
                 "--count", "count"]) == 0


@pytest.mark.parametrize("method", ["cubes", "lp"])
@pytest.mark.parametrize("allow", [[], ["--allow-grand-total"]])
def test_each_method_writes_a_table_that_passes_the_audit(files: dict[str, Path],
                                                          method: str, allow: list[str]) -> None:
    rc = main(["suppress", str(files["in"]), "--spec", str(files["spec"]), "--count", "count",
               "--out", str(files["out"]), "--report", str(files["report"]),
               "--method", method, *allow])
    assert rc == 0
    report = json.loads(files["report"].read_text())
    assert report["protection_method"]["count"]["method"] == method
    for extra in ([], ["--cubes"]):
        assert main(["audit-table", str(files["out"]), "--spec", str(files["spec"]),
                     "--count", "count", *extra]) == 0


def test_audit_table_exits_1_and_names_the_failing_cells(files: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    main(["suppress", str(files["in"]), "--spec", str(files["spec"]), "--count", "count",
          "--out", str(files["out"])])
    out = pd.read_csv(files["out"], dtype=str, keep_default_na=False)
    original = pd.read_csv(files["in"], dtype=str)
    comp = out["suppression"] == "complementary"
    out.loc[comp, "count"] = original.loc[comp, "count"]
    out.loc[comp, "suppression"] = ""
    out.to_csv(files["out"], index=False)
    capsys.readouterr()
    rc = main(["audit-table", str(files["out"]), "--spec", str(files["spec"]), "--count", "count"])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("FAIL count ") and "organization=S" in err and "feasible [" in err


def test_a_published_file_whose_published_cells_do_not_add_up_exits_2_naming_the_total(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # A relation with every member published is in no LP: it is checked when the file is
    # read, so the audit never proves anything about a table that does not add up.
    main(["suppress", str(files["in"]), "--spec", str(files["spec"]), "--count", "count",
          "--out", str(files["out"])])
    out = pd.read_csv(files["out"], dtype=str, keep_default_na=False)
    args = ["audit-table", str(files["out"]), "--spec", str(files["spec"]), "--count", "count"]
    capsys.readouterr()
    assert main(args) == 0  # the engine's own output adds up
    shown = out["count"] != ""
    row = out.index[shown & (out["organization"] == "WA")][0]
    out.loc[row, "count"] = str(int(out.loc[row, "count"]) + 1)
    out.to_csv(files["out"], index=False)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and "sums to" in err


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: f.assign(count=f["count"].where(f.index != 0, f["count"] + 1)),  # bad total
        lambda f: f.assign(count=f["count"].where(f.index != 3, -1)),  # negative
        lambda f: f.assign(count=f["count"].astype(float).where(f.index != 3, 2.5)),  # fraction
        lambda f: f.assign(organization=f["organization"].where(f.index != 3, "S99")),  # code
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(files: dict[str, Path], mutate) -> None:
    frame = mutate(pd.read_csv(files["in"], dtype={"grade": str}))
    frame.to_csv(files["in"], index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "datashare.cli", "suppress", str(files["in"]), "--spec",
         str(files["spec"]), "--count", "count", "--out", str(files["out"])],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:")
    assert not files["out"].exists()
    assert not list(files["out"].parent.glob(".out.csv.*"))


def test_unknown_policy_and_cyclic_spec_exit_2(files: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    args = ["suppress", str(files["in"]), "--spec", str(files["spec"]), "--count", "count",
            "--out", str(files["out"])]
    assert main([*args, "--policy", "nope"]) == 2
    assert "unknown policy" in capsys.readouterr().err
    files["spec"].write_text(yaml.safe_dump({"organization": {"WA": {"d": ["D1"]},
                                                              "D1": {"s": ["WA"]}}}))
    assert main(args) == 2
    assert "cycle" in capsys.readouterr().err
    assert not files["out"].exists()


def test_numerator_above_denominator_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"g": {"T": {"p": ["a", "b"]}}}))
    src = tmp_path / "r.csv"
    pd.DataFrame({"g": ["T", "a", "b"], "n": [20, 10, 10], "m": [12, 11, 1]}).to_csv(src, index=False)
    out = tmp_path / "o.csv"
    rc = main(["suppress", str(src), "--spec", str(spec), "--numerator", "m", "--denominator",
               "n", "--out", str(out)])
    assert rc == 2 and not out.exists()


def test_input_limits_are_checked_before_parsing(files: dict[str, Path], monkeypatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from datashare.disclosure import cli

    args = ["suppress", str(files["in"]), "--spec", str(files["spec"]), "--count", "count",
            "--out", str(files["out"])]
    # A header line past the line limit (the 2 GB header that crashed with bad_alloc, small).
    text = files["in"].read_text()
    files["in"].write_text("x" * (cli.MAX_LINE + 10) + "," + text)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line 1 is longer than" in err
    assert not files["out"].exists()
    # Rows and bytes.
    files["in"].write_text(text)
    monkeypatch.setattr(cli, "MAX_ROWS", 5)
    monkeypatch.setattr(cli.check_limits, "__defaults__", (cli.MAX_BYTES, 5, cli.MAX_LINE))
    assert main(args) == 2
    assert "more than 5 rows" in capsys.readouterr().err
    monkeypatch.setattr(cli.check_limits, "__defaults__", (100, 10**6, cli.MAX_LINE))
    assert main(args) == 2
    assert "over the 100-byte limit" in capsys.readouterr().err
    assert not files["out"].exists()
