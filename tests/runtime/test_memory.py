"""theon fixes glibc's malloc thresholds when it is imported, unless the user set them or
turned the flag off (theon/runtime/memory.py)."""
import os
import subprocess
import sys

import pytest

SCRIPT = """
import theon
from theon.runtime import memory
print(memory._applied)
"""


def _applied(extra_env):
    # only the variables a case sets: not ones another test (or the user) left behind
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("MALLOC_") and key != "THEON_FLAGS"}
    env.update(extra_env)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _is_glibc():
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        return False


glibc = pytest.mark.skipif(not _is_glibc(), reason="glibc only")


@glibc
def test_thresholds_are_set_when_theon_is_imported():
    assert _applied({}) == "True"


@glibc
@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "1000000"},
                                 {"MALLOC_MMAP_THRESHOLD_": "65536"},
                                 {"THEON_FLAGS": "keep_freed_memory=0"}])
def test_the_users_choice_stands(env):
    assert _applied(env) == "False"
