"""Email notifications: rendered now, sent by the task worker after the transaction commits.

Every state change in the process notifies someone through ``send_notification``. Emails say
what changed and link to the portal; they never carry student-level data or attachments
(FERPA): the reader signs in to see details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from datashare.core.tasks import send_email


def send_notification(*, to: list[str], subject: str, template: str, context: Mapping[str, Any]) -> None:
    """Queue ``templates/email/<template>.txt`` to ``to`` once the current transaction commits.

    Called outside a transaction it is queued at once. The template is rendered here, while
    the objects in ``context`` are current; only plain strings go on the queue (the short one).
    """
    recipients = sorted({address for address in to if address})
    if not recipients:
        return
    body = render_to_string(
        f"email/{template}.txt", {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    )
    full_subject = f"[{settings.SITE_NAME}] {subject}".replace("\n", " ")
    transaction.on_commit(lambda: send_email.enqueue(to=recipients, subject=full_subject, body=body))
