"""The engines are libraries first: they must import and run without Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PURE_MODULES = [
    "datashare.arrays",
    "datashare.elements",
    "datashare.cliutil",
    "datashare.fsutil",
    "datashare.disclosure",
    "datashare.extract",
    "datashare.synthetic",
    "datashare.outputcheck",
    "datashare.delivery.sftpd",  # the SFTP server; its accounts come through a Backend
    "datashare.delivery.pipeline",  # Exhibit A -> sealed package
    "datashare.aggregate",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_engine_imports_without_django(module: str) -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        f"m = importlib.import_module({module!r})\n"
        "for info in pkgutil.walk_packages(getattr(m, '__path__', []), m.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'django' or n.startswith(('django.', 'ninja', 'allauth')))\n"
        "assert not bad, bad\n"
    )
    env = {"PATH": "/usr/bin:/bin"}  # no DJANGO_SETTINGS_MODULE
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_import_contract_forbids_django_in_engines() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Pure engines never import Django" in result.stdout
