"""Portal pages. Thin: check permissions, read, render."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from datashare.accounts.models import Role, User
from datashare.accounts.permissions import staff_required
from datashare.agreements.selectors import waiting_signatures
from datashare.core.models import WorkerHeartbeat
from datashare.core.queues import SHORT_QUEUE
from datashare.intake.selectors import open_comment_requests


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@staff_required
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    # A data steward's work is the review queue; other staff see the questions put to them.
    if user.has_role(Role.DATA_STEWARD):
        return redirect("intake:queue")
    admin_links = []
    if user.has_role(Role.ADMINISTRATOR):
        admin_links += [(reverse("web:admin_users"), "People and roles"), (reverse("web:admin_organizations"), "Organizations")]
        admin_links.append((reverse("web:admin_jobs"), "Scheduled jobs"))
    if user.has_role(Role.AUDITOR):
        admin_links.append((reverse("web:audit_log"), "Audit log"))
    return render(
        request,
        "web/staff_dashboard.html",
        {"comment_requests": list(open_comment_requests(user)), "admin_links": admin_links, "signatures": waiting_signatures(user)},
    )


@login_required
def account(request: HttpRequest) -> HttpResponse:
    roles = [Role(role).label for role in sorted(request.user.role_set)]  # type: ignore[union-attr]
    return render(request, "web/account.html", {"roles": roles})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and a worker processed a heartbeat task recently, else 503."""
    database, worker = "ok", "stale"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        beat = WorkerHeartbeat.objects.filter(name=SHORT_QUEUE).values_list("beat_at", flat=True).first()
        max_age = timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
        if beat is not None and timezone.now() - beat <= max_age:
            worker = "ok"
    except DatabaseError:
        database, worker = "error", "unknown"
    healthy = database == "ok" and worker == "ok"
    return JsonResponse({"database": database, "worker": worker}, status=200 if healthy else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the error may be the database or a context processor itself.
    template = loader.get_template("500.html")
    return HttpResponse(
        template.render(
            {"SITE_NAME": settings.SITE_NAME, "AGENCY_NAME": settings.AGENCY_NAME, "STATIC_URL": settings.STATIC_URL}
        ),
        status=500,
    )
