"""The run fixtures live in tests/conftest.py, shared by every test package; they are
re-exported here for modules that import them from this place."""

from tests.conftest import default_plan, run, run_charge_point

__all__ = ["default_plan", "run", "run_charge_point"]
