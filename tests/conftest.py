"""Shared test configuration: the one hypothesis profile of the suite (STYLE.md section 9),
and a private disk cache for the session (tests never touch the user's cache).

No deadline (the first example of a test compiles kernels), a bounded number of examples so
the suite stays fast, and derandomised when the CI environment variable is set so that a CI
failure reproduces exactly.
"""
import os
import tempfile

from hypothesis import HealthCheck, settings

# set before theon is imported anywhere, so every process the tests start inherits it
os.environ["THEON_CACHE_DIR"] = tempfile.mkdtemp(prefix="theon-test-cache-")

settings.register_profile(
    "theon",
    deadline=None,
    max_examples=30,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("theon")
