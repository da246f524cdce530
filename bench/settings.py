"""Settings of the benchmark runs: the product's settings, plus the bench-only URLconf.

Only `make bench` (bench/run.py) uses this module; it is not part of the product.
"""

from trunkadmin.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The admin and the pages render with the production (manifest) storage: collected here.
STATIC_ROOT = VAR_DIR / "bench" / "static"  # noqa: F405
