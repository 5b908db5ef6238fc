"""Who sees an agreement's pages: its requestor and the agency, never an outsider."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.agreements.conftest import approved_agreement

pytestmark = pytest.mark.django_db


def test_the_requestor_sees_their_draft_agreement_and_an_outsider_gets_404(requestor, outsider, steward, django_capture_on_commit_callbacks):
    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    url = reverse("agreements:detail", args=[a.public_id])
    owner = Client()
    owner.force_login(requestor)
    page = owner.get(url)
    assert page.status_code == 200
    assert a.number in page.content.decode()
    assert 'data-area="staff"' not in page.content.decode()
    assert a.number in owner.get(reverse("agreements:list")).content.decode()

    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(url).status_code == 404
    assert a.number not in stranger.get(reverse("agreements:list")).content.decode()
    assert Client().get(url).status_code == 302  # anonymous: sign in first


def test_a_steward_edits_the_template_as_a_new_version_and_a_requestor_cannot(requestor, steward):
    from datashare.agreements.models import AgreementTemplate
    from datashare.agreements.services import current_template

    v1 = current_template()
    c = Client()
    c.force_login(requestor)
    assert c.get(reverse("agreements:template")).status_code == 403
    c.force_login(steward)
    assert c.get(reverse("agreements:template")).status_code == 200
    response = c.post(reverse("agreements:template"), {"title": "DSA", "body": v1.body + "<p>New clause.</p>", "security_terms": v1.security_terms})
    assert response.status_code == 302
    assert list(AgreementTemplate.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    bad = c.post(reverse("agreements:template"), {"title": "DSA", "body": "{% if %}", "security_terms": "x"})
    assert bad.status_code == 422


def test_a_steward_cannot_send_the_agreement_for_their_own_request(steward, signatories, django_capture_on_commit_callbacks):
    from datashare.accounts.models import Role
    from datashare.agreements import services
    from datashare.agreements.errors import NotPermitted
    from tests.factories import make_staff

    other, _ = make_staff("other-steward@agency.gov", Role.DATA_STEWARD)
    a = approved_agreement(steward, other, django_capture_on_commit_callbacks)
    with pytest.raises(NotPermitted, match="your own request"):
        services.send_for_signature(actor=steward, agreement=a)


def test_the_agency_signatory_finds_the_agreement_to_sign_on_the_staff_dashboard(requestor, steward, signatories, django_capture_on_commit_callbacks):
    from datashare.agreements import services

    a = approved_agreement(requestor, steward, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        a = services.send_for_signature(actor=steward, agreement=a)
    first = a.signers.get(position=1)
    services.sign(actor=requestor, signer=first, typed_name=first.name, consent=True, auth_method="password")
    c = Client()
    c.force_login(signatories[0])
    page = c.get(reverse("web:staff_dashboard")).content.decode()
    assert "Agreements waiting for your signature" in page and a.number in page
    c.force_login(signatories[1])  # not their turn yet
    assert a.number not in c.get(reverse("web:staff_dashboard")).content.decode()


def test_a_steward_generates_a_missing_agreement_and_an_auditor_only_reads(requestor, steward, django_capture_on_commit_callbacks):
    from datashare.accounts.models import Role
    from datashare.agreements.models import Agreement
    from datashare.intake import services as intake
    from tests.factories import make_staff
    from tests.intake.conftest import complete_request

    r = complete_request(requestor)
    intake.submit(actor=requestor, data_request=r)
    intake.approve(actor=steward, data_request=r)  # on-commit hook not run: no agreement yet
    assert not Agreement.objects.exists()
    c = Client()
    c.force_login(requestor)
    assert c.post(reverse("agreements:generate", args=[r.public_id])).status_code == 403
    c.force_login(steward)
    assert "Generate the agreement" in c.get(reverse("agreements:list")).content.decode()
    response = c.post(reverse("agreements:generate", args=[r.public_id]))
    a = Agreement.objects.get(data_request=r)
    assert response.status_code == 302 and response["Location"].endswith(f"/agreements/{a.public_id}/")

    auditor, _ = make_staff("audrey@agency.gov", Role.AUDITOR)
    c.force_login(auditor)
    page = c.get(reverse("agreements:detail", args=[a.public_id]))
    assert page.status_code == 200 and "Send for signature" not in page.content.decode()
    assert c.post(reverse("agreements:act", args=[a.public_id, "send"])).status_code == 403
    assert c.post(reverse("agreements:act", args=[a.public_id, "void"]), {"reason": "x"}).status_code == 403
