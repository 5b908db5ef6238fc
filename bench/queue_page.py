"""Benchmark: the stewards' queue page at 100 and at 10,000 requests.

Prints p50/p95 latency and the query count of GET /requests/queue/ at each size; the count must
not grow with the number of requests. Runs on PostgreSQL when DATABASE_URL is set, else SQLite,
always in a throw-away test database.

    .venv/bin/python bench/queue_page.py [--runs 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.testsettings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402
from tests.factories import make_staff, make_user  # noqa: E402

from datashare.accounts.models import Organization, OrganizationKind, Role  # noqa: E402
from datashare.catalog.services import seed_catalog  # noqa: E402
from datashare.intake.models import (  # noqa: E402
    PRIORITY_AGENCY,
    PRIORITY_LEGISLATIVE,
    PRIORITY_OTHER,
    DataRequest,
    RequestKind,
    Status,
)

KINDS = [OrganizationKind.UNIVERSITY, OrganizationKind.RESEARCH_NONPROFIT, OrganizationKind.SCHOOL_DISTRICT, OrganizationKind.LEGISLATURE, OrganizationKind.STATE_AGENCY]
STATUSES = [Status.SUBMITTED, Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED, Status.DENIED, Status.CHANGES_REQUESTED, Status.DRAFT, Status.WITHDRAWN]


def seed(start: int, count: int, *, orgs: list[Organization], users: list, stewards: list) -> None:
    now = timezone.now()
    rows = []
    for i in range(start, start + count):
        org_index = i % len(orgs)
        org = orgs[org_index]
        status = STATUSES[i % len(STATUSES)]
        legislative = org.is_priority and i % 3 == 0
        rank = None if status == Status.DRAFT else (PRIORITY_OTHER if not org.is_priority else (PRIORITY_LEGISLATIVE if legislative else PRIORITY_AGENCY))
        rows.append(
            DataRequest(
                organization=org,
                created_by=users[org_index],
                title=f"Request {i}: outcomes study",
                kind=list(RequestKind.values)[i % 4],
                status=status,
                legislative_requirement=legislative,
                submitted_at=None if status == Status.DRAFT else now - dt.timedelta(minutes=i * 7),
                priority_rank=rank,
                version=0 if status == Status.DRAFT else 1,
                assignee=stewards[i % len(stewards)] if status == Status.IN_REVIEW else None,
                selections={"gender": [2023], "days_absent": [2022, 2023]},
            )
        )
    DataRequest.objects.bulk_create(rows, batch_size=1000)
    if connection.vendor == "postgresql":
        # What autovacuum's auto-analyze does in production after a bulk load: without
        # statistics the planner guesses 15 rows and sorts the whole open backlog.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE intake_datarequest")


def measure(client: Client, runs: int) -> tuple[float, float, int]:
    url = "/requests/queue/"
    for _ in range(3):  # warm caches and the connection
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    return statistics.median(timings), p95, len(ctx.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        seed_catalog()
        orgs = [Organization.objects.create(name=f"Bench organization {n}", kind=KINDS[n % len(KINDS)]) for n in range(50)]
        users = [make_user(f"requestor{n}@bench.example", organization=org) for n, org in enumerate(orgs)]
        stewards = [make_staff(f"steward{n}@agency.example", Role.DATA_STEWARD)[0] for n in range(3)]
        client = Client()
        client.force_login(stewards[0])
        print(f"queue page benchmark on {connection.vendor}, {args.runs} runs per size")
        results = []
        seed(0, 100, orgs=orgs, users=users, stewards=stewards)
        results.append((100, *measure(client, args.runs)))
        seed(100, 9_900, orgs=orgs, users=users, stewards=stewards)
        results.append((10_000, *measure(client, args.runs)))
        for size, p50, p95, queries in results:
            print(f"  {size:>6} requests: p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   {queries} queries")
        if results[0][3] != results[1][3]:
            print("FAIL: the query count grows with the number of requests")
            return 1
        if results[1][2] > 100:
            print("FAIL: p95 above 100 ms at 10,000 requests")
            return 1
        print("OK: constant query count, p95 within 100 ms")
        return 0
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
