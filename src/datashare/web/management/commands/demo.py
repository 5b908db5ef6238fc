"""`datashare demo`: seed the synthetic demo state (idempotent: a second run adds nothing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string

from datashare.demo import SEEDERS


class Command(BaseCommand):
    help = "Seed one organization of each kind, one user per role and each app's demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        for dotted in SEEDERS:
            seed = import_string(dotted)
            # One transaction per seeder: a failing seeder leaves the earlier ones' data intact
            # and its own half-done state never committed, so a rerun starts clean.
            with transaction.atomic():
                seed(self.stdout)
