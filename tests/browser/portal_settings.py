"""The portal's own settings for the Daphne the browser tests start, with one change.

DEBUG is off there (see conftest.py), which selects WhiteNoise's compressed manifest
storage: it needs ``collectstatic`` first, and compressing every app's assets (the API
docs bundle large ones) takes longer than the whole browser suite. Static files are served
from the source folders instead; every other setting is production's.
"""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
