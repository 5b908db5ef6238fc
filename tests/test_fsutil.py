"""A release or a synthetic source appears whole or not at all: written in a temporary folder
beside the target and renamed into place; a failure half-way leaves neither behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashare.fsutil import atomic_folder


def test_the_folder_appears_only_when_every_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "release"
    with atomic_folder(out) as work:
        (work / "a.csv").write_text("x\n")
        assert work.parent == out.parent and not out.exists()
    assert (out / "a.csv").read_text() == "x\n"
    assert [p.name for p in out.parent.iterdir()] == ["release"]


def test_a_failure_half_way_leaves_no_folder_and_no_temporary_one(tmp_path: Path) -> None:
    out = tmp_path / "release"
    with pytest.raises(KeyboardInterrupt), atomic_folder(out) as work:
        (work / "a.csv").write_text("x\n")
        raise KeyboardInterrupt  # Ctrl-C too, not only errors
    assert list(tmp_path.iterdir()) == []


def test_replace_swaps_the_old_folder_only_once_the_new_one_is_whole(tmp_path: Path) -> None:
    out = tmp_path / "release"
    out.mkdir()
    (out / "old.csv").write_text("old\n")
    with pytest.raises(RuntimeError), atomic_folder(out, replace=True) as work:
        (work / "new.csv").write_text("new\n")
        raise RuntimeError("the audit failed")
    assert [p.name for p in out.iterdir()] == ["old.csv"]  # the old release is untouched
    with atomic_folder(out, replace=True) as work:
        (work / "new.csv").write_text("new\n")
    assert [p.name for p in out.iterdir()] == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["release"]  # the old one removed
