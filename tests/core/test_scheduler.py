"""Periodic jobs and deadline sweeps: claimed with a conditional UPDATE, driven by a frozen clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from datashare.core import scheduler
from datashare.core.clock import now as clock_now
from datashare.core.models import ScheduledJob, WorkerHeartbeat
from datashare.core.scheduler import Job, claim_due, periodic, run_due, run_inline

pytestmark = pytest.mark.django_db

START = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def only_test_jobs() -> Iterator[list[str]]:
    """A registry holding just this test's jobs (the apps' real jobs are put back after)."""
    saved = dict(scheduler._JOBS)
    scheduler._JOBS.clear()
    ran: list[str] = []
    yield ran
    scheduler._JOBS.clear()
    scheduler._JOBS.update(saved)


def test_a_new_job_runs_at_once_then_every_interval(frozen_clock, only_test_jobs: list[str]) -> None:  # type: ignore[no-untyped-def]
    @periodic("test.tick", every=timedelta(minutes=10))
    def tick() -> None:
        only_test_jobs.append(clock_now().isoformat())

    frozen_clock.set(START)
    assert run_due(dispatch=run_inline) == ["test.tick"]
    assert run_due(dispatch=run_inline) == []  # not due again yet
    frozen_clock.advance(timedelta(minutes=9))
    assert run_due(dispatch=run_inline) == []
    frozen_clock.advance(timedelta(minutes=1))
    assert run_due(dispatch=run_inline) == ["test.tick"]
    assert only_test_jobs == [START.isoformat(), (START + timedelta(minutes=10)).isoformat()]
    row = ScheduledJob.objects.get(name="test.tick")
    assert (row.runs, row.last_status, row.next_run_at) == (2, "ok", START + timedelta(minutes=20))


def test_a_job_that_crashes_is_pushed_to_its_next_interval_not_retried_in_a_loop(frozen_clock, only_test_jobs) -> None:  # type: ignore[no-untyped-def]
    @periodic("test.broken", every=timedelta(hours=1))
    def broken() -> None:
        only_test_jobs.append("tried")
        raise RuntimeError("SMTP is down")

    frozen_clock.set(START)
    with pytest.raises(RuntimeError):
        run_due(dispatch=run_inline)
    # The deadline moved before the job ran: the next ticks do not run it again.
    for _ in range(3):
        assert run_due(dispatch=run_inline) == []
    assert only_test_jobs == ["tried"]
    row = ScheduledJob.objects.get(name="test.broken")
    assert row.last_status == "failed"
    assert row.last_error == "RuntimeError: SMTP is down"
    assert row.next_run_at == START + timedelta(hours=1)


def test_of_two_schedulers_reading_the_same_due_row_only_one_runs_it(frozen_clock, only_test_jobs) -> None:  # type: ignore[no-untyped-def]
    job = Job(name="test.once", func=lambda: None, every=timedelta(minutes=5), queue="default")
    frozen_clock.set(START)
    ScheduledJob.objects.create(name="test.once", next_run_at=START)
    # Both read the row while it was due...
    first_read = ScheduledJob.objects.get(name="test.once")
    second_read = ScheduledJob.objects.get(name="test.once")
    # ...but only the first conditional UPDATE matches the deadline they read.
    assert scheduler.claim(job, row=first_read, now=START) is True
    assert scheduler.claim(job, row=second_read, now=START) is False
    assert ScheduledJob.objects.get(name="test.once").runs == 1


def test_a_claimed_run_is_enqueued_on_the_jobs_queue_by_default(frozen_clock, only_test_jobs, mailoutbox) -> None:  # type: ignore[no-untyped-def]
    # The test settings' task backend runs an enqueued task at once, as the worker would.
    @periodic("test.enqueued", every=timedelta(minutes=1))
    def enqueued() -> None:
        only_test_jobs.append("ran on the worker")

    frozen_clock.set(START)
    assert run_due() == ["test.enqueued"]
    assert only_test_jobs == ["ran on the worker"]


def test_the_heartbeat_is_a_scheduled_job_on_the_short_queue() -> None:
    run_due()
    assert WorkerHeartbeat.objects.filter(name="default").exists()
    assert "core.heartbeat" in scheduler.registered_jobs()


def test_registering_two_functions_under_one_name_is_refused(only_test_jobs) -> None:  # type: ignore[no-untyped-def]
    periodic("test.dup", every=timedelta(minutes=1))(lambda: None)
    with pytest.raises(ValueError, match="already registered"):

        @periodic("test.dup", every=timedelta(minutes=1))
        def other() -> None: ...

    with pytest.raises(ValueError, match="unknown queue"):
        periodic("test.q", every=timedelta(minutes=1), queue="nope")


def _deadlines(n: int, at: datetime) -> list[ScheduledJob]:
    return [ScheduledJob.objects.create(name=f"item-{i}", next_run_at=at) for i in range(n)]


def test_claim_due_yields_only_rows_whose_deadline_passed_and_pushes_each(frozen_clock) -> None:  # type: ignore[no-untyped-def]
    frozen_clock.set(START)
    due = _deadlines(3, START - timedelta(minutes=1))
    ScheduledJob.objects.create(name="later", next_run_at=START + timedelta(days=1))
    claimed = list(claim_due(ScheduledJob.objects.all(), "next_run_at", push=timedelta(hours=1)))
    assert sorted(r.name for r in claimed) == sorted(r.name for r in due)
    assert all(r.next_run_at == START + timedelta(hours=1) for r in claimed)
    # Pushed: a second sweep at the same moment finds nothing; an hour later they are back.
    assert list(claim_due(ScheduledJob.objects.all(), "next_run_at", push=timedelta(hours=1))) == []
    frozen_clock.advance(timedelta(hours=1))
    assert len(list(claim_due(ScheduledJob.objects.all(), "next_run_at", push=timedelta(hours=1)))) == 3


def test_claim_due_checks_the_callers_conditions_again_at_the_claim(frozen_clock) -> None:  # type: ignore[no-untyped-def]
    frozen_clock.set(START)
    _deadlines(2, START)
    sweep = claim_due(ScheduledJob.objects.exclude(last_status="failed"), "next_run_at", push=timedelta(hours=1))
    first = next(sweep)
    # Between reading the candidates and claiming the second one, it stops qualifying.
    ScheduledJob.objects.exclude(pk=first.pk).update(last_status="failed")
    assert list(sweep) == []


def test_two_interleaved_sweeps_never_yield_the_same_row(frozen_clock) -> None:  # type: ignore[no-untyped-def]
    frozen_clock.set(START)
    _deadlines(6, START)
    a = claim_due(ScheduledJob.objects.all(), "next_run_at", push=timedelta(hours=1))
    b = claim_due(ScheduledJob.objects.all(), "next_run_at", push=timedelta(hours=1))
    got_a = [next(a).pk]  # a has read all six candidates and claimed one
    got_b = [r.pk for r in b]  # b reads and claims the other five
    got_a += [r.pk for r in a]  # a's remaining claims all lose
    assert len(got_a) == 1 and len(got_b) == 5
    assert set(got_a).isdisjoint(got_b)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_in_threads_claim_each_row_exactly_once(frozen_clock) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent connections)")
    frozen_clock.set(START)
    _deadlines(200, START)
    claimed: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def sweep(i: int) -> None:
        try:
            barrier.wait()
            claimed[i] = [r.pk for r in claim_due(ScheduledJob.objects.all(), "next_run_at", push=timedelta(hours=1), limit=500)]
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [pk for part in claimed for pk in part]
    assert len(every) == len(set(every)) == 200
