"""Report fixtures: a whole run with evidence. The run fixtures of tests/certification are
reused as they are."""

from __future__ import annotations

import pytest

from certification.models import TestRun
from chargers.models import User
from tests.certification.conftest import default_plan, run, run_charge_point
from tests.reports.sample_run import SampleRun, build_sample_run

__all__ = ["default_plan", "published", "run", "run_charge_point", "sample"]


@pytest.fixture
def sample(run: TestRun, engineer: User) -> SampleRun:
    """The fixture run with results for all 23 steps and about 400 frames, in review."""
    return build_sample_run(run, engineer, frames=400)


@pytest.fixture
def published(sample: SampleRun) -> SampleRun:
    sample.run.status = TestRun.Status.PUBLISHED
    sample.run.save(update_fields=["status"])
    return sample
