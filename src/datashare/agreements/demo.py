"""Demo agreements in every state, made through the real services (idempotent).

Runs after intake's seeder (``datashare.demo.SEEDERS``): it drafts the agreement of intake's
approved legislative request, then approves more of Rosa Researcher's requests and takes each
agreement to a different state: out for signature (waiting for Sid Signatory), declined,
voided and re-issued, executed, active, expired and terminated. The demo's certificate
authority and agency signing certificate are made under ``var/pki`` first.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.utils import timezone

from datashare.agreements import services
from datashare.agreements.models import Agreement
from datashare.agreements.pki import ensure_demo_pki
from datashare.intake import services as intake
from datashare.intake.demo import _complete, _demo_user
from datashare.intake.models import DataRequest, Status

DEMO_TITLE_PREFIX = "Agreement demo: "


def _sign_all(a: Agreement, *, stop_before: int | None = None) -> None:
    for s in a.signers.order_by("position"):
        if stop_before is not None and s.position >= stop_before:
            return
        services.sign(actor=s.user, signer=s, typed_name=s.name, consent=True, auth_method="password+TOTP (demo)", ip="127.0.0.1", user_agent="datashare demo")


def seed(out: TextIO | None = None) -> None:
    key_file = Path(settings.AGREEMENT_SIGNING_KEY_FILE)
    # Only at the default place under the data folder: a configured production key is never replaced.
    if not key_file.exists() and key_file.parent == Path(settings.DATA_DIR) / "pki":
        ensure_demo_pki(key_file.parent, agency=settings.AGENCY_NAME)
    researcher = _demo_user("researcher@university.example")
    steward = _demo_user("steward@agency.example")
    _demo_user("signatory@agency.example")
    if DataRequest.objects.filter(title__startswith=DEMO_TITLE_PREFIX).exists():
        if out is not None:
            out.write("agreements: demo agreements already seeded\n")
        return
    # Intake's approved request gets its draft (the on-commit hook may not have run yet).
    for r in DataRequest.objects.filter(status=Status.APPROVED):
        services.create_from_request(actor=steward, data_request=r)

    today = timezone.localdate()

    def agreement(title: str) -> Agreement:
        r = _complete(researcher, DEMO_TITLE_PREFIX + title, start_date=today - dt.timedelta(days=400), end_date=today + dt.timedelta(days=650), duration_justification="Four cohorts are followed through graduation.")
        intake.submit(actor=researcher, data_request=r)
        intake.approve(actor=steward, data_request=r, approved_selections={"days_absent": [2023, 2024], "grade_level": [2024]})
        return services.create_from_request(actor=steward, data_request=r)

    def executed(title: str, *, start: dt.date, end: dt.date) -> Agreement:
        a = agreement(title)
        a = services.update_draft(actor=steward, agreement=a, changes={"term_start": start, "term_end": end})
        a = services.send_for_signature(actor=steward, agreement=a)
        _sign_all(a)
        return services.execute(agreement=a)

    agreement("absence and mobility (draft)")
    waiting = services.send_for_signature(actor=steward, agreement=agreement("early literacy (waiting for the agency)"))
    _sign_all(waiting, stop_before=2)
    declined = services.send_for_signature(actor=steward, agreement=agreement("course taking (declined)"))
    first = declined.signers.get(position=1)
    services.decline(actor=first.user, signer=first, reason="Our general counsel must review section 9 first.")
    voided = services.send_for_signature(actor=steward, agreement=agreement("dual credit (voided and re-issued)"))
    services.void(actor=steward, agreement=voided, reason="The term had to change; re-issued as version 2.")
    services.reissue(actor=steward, agreement=voided)
    executed("graduation pathways (executed, starts next month)", start=today + dt.timedelta(days=30), end=today + dt.timedelta(days=600))
    active = executed("chronic absence (active)", start=today, end=today + dt.timedelta(days=600))
    services.activate(agreement=active)
    executed("kindergarten readiness (expired)", start=today - dt.timedelta(days=380), end=today - dt.timedelta(days=1))
    services.expire_due()
    ending = executed("summer learning (terminated)", start=today, end=today + dt.timedelta(days=300))
    services.terminate(actor=researcher, agreement=ending, reason="The study ended early: funding was withdrawn.")
    if out is not None:
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(_counts().items()))
        out.write(f"agreements: demo agreements seeded ({counts}); Sid Signatory has one to sign\n")


def _counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Agreement.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts
