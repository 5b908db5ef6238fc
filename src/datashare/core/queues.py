"""The two task queues, and which worker process consumes each.

- ``SHORT_QUEUE`` (django-tasks' ``"default"``, so a plain ``@task()`` lands here): email,
  the heartbeat, scheduled jobs. Every task here must finish in seconds.
- ``LONG_QUEUE``: extracts, table publishing, anything that may run for minutes. Opt in with
  ``@task(queue_name=LONG_QUEUE)``.

``datashare run`` starts a worker per queue (``datashare worker --queue short|long``), so a
ten-minute extract never delays an email or the heartbeat ``/healthz`` reads; the long queue
gets ``LONG_WORKERS`` (2) of them, so two long jobs run at once. A long job must therefore
claim its rows (a row lock or a conditional UPDATE), never assume it runs alone.
"""

from __future__ import annotations

from django_tasks import DEFAULT_TASK_QUEUE_NAME

SHORT_QUEUE = DEFAULT_TASK_QUEUE_NAME
LONG_QUEUE = "long"
QUEUES = (SHORT_QUEUE, LONG_QUEUE)
