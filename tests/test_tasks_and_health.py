"""Background work through the real database queue, and the health check that watches it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from datashare.notifications import send_notification
from datashare.web.models import WorkerHeartbeat
from datashare.web.tasks import heartbeat

pytestmark = pytest.mark.django_db(transaction=True)

DB_QUEUE = override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})


def run_worker_until_idle() -> None:
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--queue-name", "*", verbosity=0)


def test_healthz_is_503_until_a_worker_has_processed_a_heartbeat(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "worker": "stale"}


@DB_QUEUE
def test_healthz_is_200_once_the_worker_has_consumed_the_queued_heartbeat(client: Client) -> None:
    heartbeat.enqueue()
    assert client.get("/healthz").status_code == 503  # queued is not processed
    run_worker_until_idle()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "worker": "ok"}


def test_healthz_is_503_when_the_last_heartbeat_is_too_old(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    old = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE + 1)
    WorkerHeartbeat.objects.create(name="default", beat_at=old)
    assert client.get("/healthz").status_code == 503


def test_a_load_balancer_probing_by_ip_address_gets_the_health_answer_not_bad_request(
    client: Client, settings  # type: ignore[no-untyped-def]
) -> None:
    settings.ALLOWED_HOSTS = ["datashare.example.org"]
    WorkerHeartbeat.objects.create(name="default", beat_at=timezone.now())
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "worker": "ok"}
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still wraps it
    # Every other path keeps the host check.
    assert client.get("/", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert client.post("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 400


@DB_QUEUE
def test_a_notification_is_queued_only_when_its_transaction_commits_and_sent_by_the_worker() -> None:
    with transaction.atomic():
        send_notification(
            to=["ana@university.example"], subject="Your request", template="test_message", context={"note": "hello"}
        )
        assert DBTaskResult.objects.count() == 0  # nothing leaves before commit
    assert DBTaskResult.objects.count() == 1
    assert mail.outbox == []
    run_worker_until_idle()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ana@university.example"]
    assert sent.subject == "[Student Data Sharing] Your request"
    assert "hello" in sent.body


@DB_QUEUE
def test_a_rolled_back_change_sends_nothing() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        send_notification(to=["ana@university.example"], subject="x", template="test_message", context={})
        raise RuntimeError("the change failed")
    run_worker_until_idle()
    assert DBTaskResult.objects.count() == 0
    assert mail.outbox == []
