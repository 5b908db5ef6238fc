"""The one command-line entry point, ``datashare``.

Engine subcommands (synth, extract, suppress, audit-table, check-output, aggregate) run
without Django settings: they are dispatched to the pure packages before Django is imported. Everything else is a Django
management command (``run``, ``demo``, ``audit verify``, ``migrate`` ...).
"""

from __future__ import annotations

import importlib
import os
import sys

# command -> module exposing ``main(argv: list[str]) -> int`` (argv[0] is the command name)
ENGINE_COMMANDS: dict[str, str] = {
    "synth": "datashare.synthetic.cli",
    "extract": "datashare.extract.cli",
    "suppress": "datashare.disclosure.cli",
    "audit-table": "datashare.disclosure.cli",
    "check-output": "datashare.outputcheck.cli",
    "aggregate": "datashare.aggregate.cli",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ENGINE_COMMANDS:
        module = importlib.import_module(ENGINE_COMMANDS[args[0]])
        return int(module.main(args))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "datashare.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads and validates the settings
    except ImproperlyConfigured as exc:
        # A bad setting is the operator's to fix: one line naming the variable, no traceback.
        print(f"datashare: configuration error: {exc}", file=sys.stderr)
        return 2

    if not args:
        print(
            "usage: datashare COMMAND [...]\n\n"
            "  run            serve the portal and the task worker on 127.0.0.1:8000\n"
            "  worker         run only the task worker (when the portal runs elsewhere)\n"
            "  demo           seed the synthetic demo state (idempotent)\n"
            "  api_token      issue or revoke a service account's API token\n"
            "  audit verify   check the audit log's hash chain\n"
            "  synth          generate a synthetic statewide source (Parquet)\n"
            "  extract        cut a de-identified extract from a source\n"
            "  suppress       apply disclosure avoidance to an aggregate table\n"
            "  audit-table    prove a suppressed table safe\n"
            "  check-output   check results files for small cells before release\n"
            "  aggregate      build, suppress and audit a standard table (tables | build)\n\n"
            "Any Django management command also works, e.g. 'datashare migrate'."
        )
        return 0
    execute_from_command_line(["datashare", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
