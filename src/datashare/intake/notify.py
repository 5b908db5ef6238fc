"""SHIM until the foundation's ``datashare.notifications.send_notification`` lands: same signature.

Renders ``templates/email/<template>.txt`` and sends after the surrounding transaction commits,
so a rolled-back change never emails anyone.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string


def send_notification(*, to: list[str], subject: str, template: str, context: dict[str, Any]) -> None:
    recipients = sorted({address for address in to if address})
    if not recipients:
        return
    body = render_to_string(f"email/{template}.txt", {**context, "SITE_NAME": settings.SITE_NAME})

    def send() -> None:
        send_mail(
            f"[{settings.SITE_NAME}] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False
        )

    transaction.on_commit(send)
