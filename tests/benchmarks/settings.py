"""Settings for ``tests/benchmarks/run.py``: the project's own, run as in production.

``run.py`` sets DEBUG=0 and SQLITE_PATH / DATABASE_URL in the environment before
this module is imported. Only what a test client on a developer's machine
cannot do is changed here.
"""

import os

from billing.settings import *  # noqa: F403
from billing.settings import DATABASES

# The benchmark's urlconf adds a stock AdminSite and a minimal one-loop view.
ROOT_URLCONF = "tests.benchmarks.urls"

# The manifest storage needs ``collectstatic`` first; the benchmark measures the
# static files' gzip sizes itself (what whitenoise's compressed storage writes).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# F: the raw executemany copy goes into a second, freshly migrated database.
DATABASES["copy"] = {
    **DATABASES["default"],
    "NAME": os.environ["BENCHMARK_COPY_NAME"],
    "TEST": {},
}

# S (--scale): the larger size, a copy of the seeded database that seed_billing grew.
if os.environ.get("BENCHMARK_LARGE_NAME"):
    DATABASES["large"] = {
        **DATABASES["default"],
        "NAME": os.environ["BENCHMARK_LARGE_NAME"],
        "TEST": {},
    }
