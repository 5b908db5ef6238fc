from __future__ import annotations

import io

import pytest

from datashare.intake import demo
from datashare.intake.models import DataRequest, Status

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_requests_in_every_state_once() -> None:
    demo.seed(io.StringIO())
    assert set(DataRequest.objects.values_list("status", flat=True)) == set(Status.values)
    count = DataRequest.objects.count()
    demo.seed(io.StringIO())
    assert DataRequest.objects.count() == count
    assert DataRequest.objects.filter(version=2).exists()
