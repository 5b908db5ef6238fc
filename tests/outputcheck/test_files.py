"""Reading results files safely: every format, a corrupt file, a zip bomb, size limits, the CLI."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from datashare.outputcheck import Limits, ScanError, scan_bytes, scan_file
from datashare.outputcheck.cli import main as cli_main
from tests.outputcheck.files import csv_bytes, docx_bytes, pdf_bytes, xlsx_bytes

TABLE = [["Group", "N", "Met", "% met"], ["Asian", 10, 3, "30%"], ["White", 120, 40, "33.3%"]]


def summary(report) -> list[tuple[str, str, str]]:
    return [(f.severity.value, f.rule, f.where) for f in report.findings]


def test_a_csv_table_with_a_small_count_is_blocked_at_its_cell() -> None:
    report = scan_bytes("results.csv", csv_bytes(TABLE))
    assert report.blocked
    assert summary(report) == [
        ("block", "small-count", "results.csv, cell C2 (Met)"),
        ("block", "back-calculation", "results.csv, cell D2 (% met)"),
    ]


def test_a_semicolon_csv_in_cp1252_is_read() -> None:
    data = "Groupe;N\nÉlèves;7\n".encode("cp1252")
    assert summary(scan_bytes("r.csv", data)) == [("block", "small-count", "r.csv, cell B2 (N)")]


def test_an_xlsx_percentage_cell_back_calculating_to_three_is_blocked_on_its_sheet() -> None:
    rows = [["Group", "N", "Share met"], ["A", 10, 0.3], ["B", 50, 0.4]]
    data = xlsx_bytes({"Notes": [["Read me"]], "Grade 3": rows}, {("Grade 3", "C2"), ("Grade 3", "C3")})
    report = scan_bytes("results.xlsx", data)
    assert summary(report) == [
        ("block", "back-calculation", "results.xlsx, sheet 'Grade 3', cell C2 (Share met)")
    ]
    assert report.findings[0].value == "30%"


def test_docx_tables_are_found_between_paragraphs() -> None:
    data = docx_bytes([[["Group", "Students"], ["A", 45]], TABLE], ["Intro & method"])
    assert [f.where for f in scan_bytes("report.docx", data).findings] == [
        "report.docx, table 2, cell C2 (Met)",
        "report.docx, table 2, cell D2 (% met)",
    ]


def test_a_docx_without_tables_says_figures_are_not_checked() -> None:
    report = scan_bytes("memo.docx", docx_bytes([], ["Only words"]))
    assert report.findings == [] and "no tables" in report.notes[0]


def test_a_text_pdf_is_read_line_by_line() -> None:
    lines = ["Table 1. Results", "Group     N     Met    % met", "Asian     10    3      30%"]
    report = scan_bytes("report.pdf", pdf_bytes(lines))
    assert [(f.rule, f.where) for f in report.findings] == [
        ("small-count", "report.pdf, page 1, line 3, column 3 (Met)"),
        ("back-calculation", "report.pdf, page 1, line 3, column 4 (% met)"),
    ]
    assert any("line by line" in note for note in report.notes)


def test_a_pdf_without_text_is_left_to_the_steward() -> None:
    report = scan_bytes("scan.pdf", pdf_bytes([]))
    assert report.findings == [] and "by eye" in report.notes[0]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("results.xlsx", b"PK\x03\x04 this is not a workbook"),
        ("results.xlsx", b"plain text"),
        ("report.docx", b"PK\x05\x06" + b"\x00" * 18),
        ("report.pdf", b"%PDF-1.4\n garbage"),
        ("report.pdf", b"<html>"),
        ("data.csv", b"a,b\x00c"),
    ],
)
def test_a_corrupt_file_is_one_clear_error(name: str, data: bytes) -> None:
    with pytest.raises(ScanError) as caught:
        scan_bytes(name, data)
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unsupported_type_is_refused() -> None:
    with pytest.raises(ScanError, match=r"only \.csv, \.docx, \.pdf, \.xlsx"):
        scan_bytes("results.exe", b"MZ")


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(ScanError, match="zip bomb"):
        scan_bytes("report.docx", out.getvalue())
    with pytest.raises(ScanError, match="inflates to more than 1 MB"):
        scan_bytes("report.docx", out.getvalue(), limits=Limits(max_unpacked_bytes=1024 * 1024, max_ratio=10**6))


def test_size_and_cell_limits_refuse_a_file_with_one_sentence() -> None:
    with pytest.raises(ScanError, match="larger than 1 MB"):
        scan_bytes("big.csv", b"a,b\n" * 300_000, limits=Limits(max_bytes=1024 * 1024))
    with pytest.raises(ScanError, match="more than 100 cells"):
        scan_bytes("wide.csv", csv_bytes([[1] * 60, [2] * 60]), limits=Limits(max_cells=100))


def test_an_xml_entity_bomb_in_a_docx_is_refused() -> None:
    xml = (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&b;</w:document>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", xml)
    with pytest.raises(ScanError, match="could not be read"):
        scan_bytes("report.docx", out.getvalue())


def test_the_command_line_exits_1_on_a_block_0_when_clear_and_2_on_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, good, broken = tmp_path / "bad.csv", tmp_path / "good.csv", tmp_path / "broken.xlsx"
    bad.write_bytes(csv_bytes(TABLE))
    good.write_bytes(csv_bytes([["Group", "N"], ["A", 45], ["B", "N<10"]]))
    broken.write_bytes(b"nope")
    assert cli_main(["check-output", str(bad)]) == 1
    assert "BLOCK  bad.csv, cell C2 (Met)" in capsys.readouterr().out
    assert cli_main(["check-output", str(good)]) == 0
    assert cli_main(["check-output", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.xlsx could not be read" in err
    assert cli_main(["check-output", str(tmp_path / "missing.csv")]) == 2


def test_scan_file_reads_no_more_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(ScanError, match="larger than"):
        scan_file(path, limits=Limits(max_bytes=1024))
