"""The lab of the end-to-end tests (a live Daphne, a file server, the API with an engineer's
token) for every module here; it is defined with the 23-step run that first needed it."""

from tests.e2e.test_certification_run import lab

__all__ = ["lab"]
