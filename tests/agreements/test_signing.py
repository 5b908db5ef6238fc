"""The agreement goes out, is signed in order, sealed and executed; the seal catches any change."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from datashare.accounts.models import Role
from datashare.agreements import services
from datashare.agreements.errors import AlreadySigned, NotPermitted, OutOfOrder, PreflightFailed
from datashare.agreements.models import Agreement, AgreementStatus, SignerStatus, WorkItem
from datashare.audit.models import AuditEvent
from tests.agreements.conftest import approved_agreement
from tests.factories import make_staff, make_user

pytestmark = pytest.mark.django_db


def _sign(signer, user):
    return services.sign(actor=user, signer=signer, typed_name=signer.name, consent=True, auth_method="password+TOTP", ip="127.0.0.1", user_agent="pytest")


def test_the_agreement_is_signed_in_order_sealed_and_executed(requestor, steward, signatories, django_capture_on_commit_callbacks, tmp_path, capsys):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    assert a.status == AgreementStatus.OUT_FOR_SIGNATURE and len(a.document_sha256) == 64
    signers = list(a.signers.order_by("position"))
    # The requestor is both signatory and data manager: signs once; then the two agency signatories in order.
    assert [s.user for s in signers] == [requestor, *signatories]
    assert [s.status for s in signers] == [SignerStatus.SENT, SignerStatus.WAITING, SignerStatus.WAITING]

    # The second agency signer cannot sign before the first.
    with pytest.raises(OutOfOrder):
        _sign(signers[2], signatories[1])
    # A link works only for the person it was sent to.
    with pytest.raises(NotPermitted):
        _sign(signers[0], signatories[0])

    services.record_view(actor=requestor, signer=signers[0], ip="127.0.0.1", user_agent="pytest")
    with django_capture_on_commit_callbacks(execute=True):
        _sign(signers[0], requestor)
    with pytest.raises(AlreadySigned):
        _sign(signers[0], requestor)
    with django_capture_on_commit_callbacks(execute=True):
        _sign(signers[1], signatories[0])
    with django_capture_on_commit_callbacks(execute=True):
        _sign(signers[2], signatories[1])  # the last signature executes (immediate task backend)

    a.refresh_from_db()
    assert a.status == AgreementStatus.EXECUTED
    assert AuditEvent.objects.filter(action="agreements.executed", new_values__sealed_sha256=a.sealed_sha256).exists()
    item = WorkItem.objects.get(agreement=a)
    assert item.kind == "prepare_extract" and item.department == "student_information"

    sealed = a.sealed_document.read()
    # The certificate of completion is the last page(s): envelope, document hash, each signer.
    import io

    from pypdf import PdfReader

    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(sealed)).pages[-2:])
    flat = "".join(text.split())
    assert "Certificate of completion" in text
    assert str(a.envelope_id) in flat and a.document_sha256 in flat
    for s in signers:
        assert s.email in flat
    assert "127.0.0.1" in text and "password+TOTP" in text
    good = tmp_path / "dsa.pdf"
    good.write_bytes(sealed)
    call_command("agreements", "verify", str(good))
    assert "valid:" in capsys.readouterr().out

    # One flipped byte anywhere (here: in the middle, and inside the signature container) is caught.
    for offset in (len(sealed) // 2, sealed.rindex(b"/Contents <") + 400):
        bad = bytearray(sealed)
        bad[offset] ^= 0x01
        tampered = tmp_path / f"tampered-{offset}.pdf"
        tampered.write_bytes(bytes(bad))
        with pytest.raises(SystemExit) as exit_:
            call_command("agreements", "verify", str(tampered))
        assert exit_.value.code == 1


def test_verify_names_a_missing_file_with_exit_2(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        call_command("agreements", "verify", str(tmp_path / "nope.pdf"))
    assert exit_.value.code == 2


def test_sending_is_refused_naming_a_missing_ferpa_element(requestor, steward, signatories, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    Agreement.objects.filter(pk=a.pk).update(scope="")
    a.refresh_from_db()
    with pytest.raises(PreflightFailed, match="the scope of the study"):
        services.send_for_signature(actor=steward, agreement=a)
    a.refresh_from_db()
    assert a.status == AgreementStatus.DRAFT


def test_a_decline_stops_the_route_and_void_then_reissue_makes_version_2(requestor, steward, signatories, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.get(position=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.decline(actor=requestor, signer=first, reason="The term is too short.")
    a.refresh_from_db()
    assert a.status == AgreementStatus.DECLINED
    services.void(actor=steward, agreement=a, reason="Declined; the term is being extended.")
    new = services.reissue(actor=steward, agreement=a)
    a.refresh_from_db()
    assert (a.status, new.status, new.number, new.version, new.replaces) == (AgreementStatus.VOIDED, AgreementStatus.DRAFT, a.number, 2, a)
    assert new.label == f"{a.number} (v2)"


def test_the_signing_page_is_only_for_the_signer_it_was_sent_to(requestor, outsider, steward, signatories, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.get(position=1)
    url = reverse("agreements:sign", args=[first.public_id])
    for who in (outsider, signatories[0], make_user("mate@evergreen.edu", organization=requestor.organization)):
        c = Client()
        c.force_login(who)
        assert c.get(url).status_code == 404
        assert c.post(url, {"typed_name": first.name, "consent": "on", "decision": "sign"}).status_code == 404
    c = Client()
    c.force_login(requestor)
    assert c.get(url).status_code == 200
    response = c.post(url, {"typed_name": first.name, "consent": "on", "decision": "sign"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == SignerStatus.SIGNED and first.ip == "127.0.0.1"


def test_signing_through_the_api_with_a_token_is_not_offered(requestor, steward, django_capture_on_commit_callbacks):
    from datashare.api import api

    paths = [str(p) for p in api.get_openapi_schema()["paths"]]
    assert not any("sign" in p for p in paths if p.startswith("/api/v1/agreements"))


def test_a_staff_signer_without_mfa_cannot_sign(requestor, steward, django_capture_on_commit_callbacks):
    no_mfa = make_user("nomfa@agency.gov", roles=(Role.AGENCY_SIGNATORY,))
    signer_with_mfa, _ = make_staff("ok@agency.gov", Role.AGENCY_SIGNATORY)
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    with django_capture_on_commit_callbacks(execute=True):
        _sign(a.signers.get(position=1), requestor)
    s = a.signers.get(user=no_mfa)
    with pytest.raises(NotPermitted, match="two-factor"):
        _sign(s, no_mfa)
    assert signer_with_mfa


def test_an_external_e_signature_adapter_completion_executes_the_agreement(requestor, steward, signatories, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from datashare.agreements import esign

    assert esign.get_adapter() is None  # the built-in signer is the default
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    Agreement.objects.filter(pk=a.pk).update(external_envelope_id="vendor-123")
    now = timezone.now()
    envelope = esign.CompletedEnvelope(
        envelope_id="vendor-123",
        signers=[esign.SignerEvidence(email=s.email, signed_at=now + dt.timedelta(minutes=s.position), auth_method="vendor SMS") for s in a.signers.all()],
    )
    with django_capture_on_commit_callbacks(execute=True):
        done = esign.complete_external(envelope)
    assert done is not None and done.status == AgreementStatus.EXECUTED
    assert esign.complete_external(envelope).status == AgreementStatus.EXECUTED  # idempotent
