"""Demo: a few published datasets built from a small sample source (seconds, idempotent).

The sample (``datashare.aggregate.sample``) is written beside the data folder when no source
exists; the versions go through the real pipeline (build, suppress, audit) and the demo data
steward approves them, as a second person after the system's build.
"""

from __future__ import annotations

import time
from typing import TextIO

from django.conf import settings

from datashare.accounts.models import User
from datashare.aggregate.sample import write_sample
from datashare.portal import services
from datashare.portal.models import Dataset, DatasetVersion, VersionStatus

# Tables that publish in seconds on the demo's sample. Left out, to be built by a steward from
# the staff pages (the long queue): discipline, whose one-model rate proof takes about two CPU
# minutes here (issue 12's speed work) and would hold up `make run` before the portal is served.
DEMO_TABLES = ("enrollment", "graduation_4yr", "graduation_5yr", "dropout")
DEMO_YEAR = 2025
STEWARD = "steward@agency.example"


def seed(out: TextIO) -> None:
    if DatasetVersion.objects.filter(status=VersionStatus.PUBLISHED).exists():
        return
    started = time.perf_counter()
    source = services.source_dir()
    if not source.exists() and not getattr(settings, "PORTAL_SOURCE_DIR", None):
        write_sample(source, districts=2, schools_per_district=2, students=400, seed=11)
    services.ensure_datasets()
    steward = User.objects.filter(email=STEWARD).first()
    for key in DEMO_TABLES:
        dataset = Dataset.objects.get(table_key=key)
        version = services.request_build(actor=None, dataset=dataset, school_year=DEMO_YEAR)
        version = services.run_build(version_id=version.pk)
        if version.status == VersionStatus.DRAFT and steward is not None:
            services.approve_version(actor=steward, version=version)
    out.write(f"portal: {len(DEMO_TABLES)} published datasets from {source} "
              f"in {time.perf_counter() - started:.1f} s\n")
