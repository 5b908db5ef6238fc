"""Demo results (``datashare demo``): under the active demo agreement, one draft whose table
holds a 3 (blocked, changes requested) and one cleared for release. Made through the services."""

from __future__ import annotations

import io
from typing import TextIO

from datashare.accounts.models import User
from datashare.agreements.models import Agreement, AgreementStatus
from datashare.results import services
from datashare.results.models import ResultsSubmission

BLOCKED = b"Group,N,Chronically absent\nAsian,12,3\nWhite,140,61\nHispanic,96,40\n"
CLEAN = b"Group,N,Chronically absent\nAsian,12,N<10\nWhite,140,61\nHispanic,96,40\n"


def _send(user: User, agreement: Agreement, title: str, data: bytes) -> ResultsSubmission:
    checklist = {key: True for key, _ in services.CHECKLIST}
    s = services.submit_results(actor=user, agreement=agreement, title=title, checklist=checklist, upload=io.BytesIO(data), name="absence-tables.csv", size=len(data))
    # The queue's worker would scan it; the demo does so now so the pages show findings at once.
    version = s.versions.get()
    services.run_scan(version_id=version.pk)
    return s


def seed(out: TextIO | None = None) -> None:
    if ResultsSubmission.objects.exists():
        if out is not None:
            out.write("results: demo results already seeded\n")
        return
    researcher = User.objects.filter(email="researcher@university.example").first()
    steward = User.objects.filter(email="steward@agency.example").first()
    agreement = Agreement.objects.filter(status=AgreementStatus.ACTIVE, data_request__created_by=researcher).first()
    if researcher is None or steward is None or agreement is None:
        return
    blocked = _send(researcher, agreement, "Chronic absence by group (draft)", BLOCKED)
    services.request_changes(actor=steward, submission=blocked, body="Cell C2 is a count of 3: show it as N<10.")
    cleared = _send(researcher, agreement, "Chronic absence brief", CLEAN)
    services.clear_for_release(actor=steward, submission=cleared, body="No disclosure concerns.")
    if out is not None:
        out.write("results: demo results seeded (one blocked with changes requested, one cleared)\n")
