"""Moved to ``datashare.core.tasks``.

Kept so queue rows enqueued before the move (``task_path`` ``datashare.web.tasks.send_email`` or
``...heartbeat``) still resolve: ``import_string`` finds the same Task objects here.
"""

from datashare.core.tasks import heartbeat, send_email  # noqa: F401
