"""The portal's models moved to ``datashare.core.models`` (the worker heartbeat is shared state)."""

from datashare.core.models import WorkerHeartbeat  # noqa: F401
