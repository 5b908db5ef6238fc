"""Email goes out through a real SMTP server on loopback (aiosmtpd), not a mock."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.test import override_settings

from datashare.notifications import send_notification


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []  # type: ignore[type-arg]

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.mark.django_db(transaction=True)
def test_a_notification_reaches_a_real_smtp_server(smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=port
    ):
        send_notification(
            to=["ana@university.example"], subject="Request received", template="test_message", context={"note": "n1"}
        )
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "ana@university.example"
    assert message["Subject"] == "[Student Data Sharing] Request received"
    assert "n1" in message.get_payload()
