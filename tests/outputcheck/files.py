"""Hand-made results files for the scanner's tests: CSV, XLSX, DOCX and a text PDF."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

Rows = list[list[object]]


def csv_bytes(rows: Rows) -> bytes:
    return ("\n".join(",".join(str(c) for c in row) for row in rows) + "\n").encode()


def xlsx_bytes(sheets: dict[str, Rows], percent_cells: set[tuple[str, str]] = frozenset()) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for name, ref in percent_cells:
            if name == title:
                sheet[ref].number_format = "0%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_bytes(tables: list[Rows], paragraphs: list[str] = ()) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    for rows in tables:
        body += "<w:tbl>"
        for row in rows:
            body += "<w:tr>" + "".join(
                f"<w:tc><w:p><w:r><w:t>{escape(str(c))}</w:t></w:r></w:p></w:tc>" for c in row
            ) + "</w:tr>"
        body += "</w:tbl>"
    document = f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF whose text lines are written in Courier, columns kept by spaces."""
    ops = ["BT", "/F1 10 Tf", "12 TL", "50 750 Td"]
    for line in lines:
        text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({text}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()
