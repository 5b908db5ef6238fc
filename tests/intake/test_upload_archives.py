"""Zip-based uploads (.docx) are inspected before they are stored: a document that inflates to
gigabytes (a zip bomb) or holds thousands of parts is refused with a form error, from the
archive's directory alone (nothing is extracted)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from datashare.intake import services
from datashare.intake.models import Attachment

pytestmark = pytest.mark.django_db


def _docx(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for name, data in parts.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _upload(requestor, data: bytes) -> str:
    r = services.create_draft(actor=requestor, title="T")
    c = Client()
    c.force_login(requestor)
    response = c.post(
        reverse("intake:edit", args=[r.public_id, "security"]),
        {"security_policy": SimpleUploadedFile("policy.docx", data), "action": "draft"},
    )
    return response.content.decode()


def test_a_small_docx_that_inflates_a_thousandfold_is_refused_as_a_zip_bomb(requestor) -> None:
    bomb = _docx({"word/document.xml": b"<w:document/>", "word/media/padding.bin": b"\0" * (64 * 1024 * 1024)})
    assert len(bomb) < 200_000
    page = _upload(requestor, bomb)
    assert "refused as a possible zip bomb" in page
    assert not Attachment.objects.exists()


def test_a_docx_that_expands_past_the_uncompressed_limit_is_refused(requestor, settings) -> None:
    settings.INTAKE_MAX_UNCOMPRESSED_BYTES = 1_000_000
    import os

    noisy = os.urandom(1_200_000)  # does not compress: no ratio alarm, only the total
    page = _upload(requestor, _docx({"word/document.xml": b"<w:document/>", "word/media/photo.jpg": noisy}))
    assert "expands to 1.2 MB when opened; the limit is 1 MB" in page
    assert not Attachment.objects.exists()


def test_a_docx_with_thousands_of_parts_is_refused(requestor) -> None:
    parts = {f"word/p{i}.xml": b"x" for i in range(2_001)}
    page = _upload(requestor, _docx({"word/document.xml": b"<w:document/>", **parts}))
    assert "parts; a Word document has far fewer" in page
    assert not Attachment.objects.exists()


def test_an_ordinary_docx_is_still_accepted(requestor) -> None:
    _upload(requestor, _docx({"word/document.xml": b"<w:document>" + b"<w:p>policy</w:p>" * 5000 + b"</w:document>"}))
    assert Attachment.objects.count() == 1
