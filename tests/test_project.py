"""The README's promise and the package's start-up behaviour."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import theon

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(pip install [^\n]+)\n```", text)


def test_readme_has_exactly_the_two_setup_commands_ci_runs():
    commands = _readme_commands()
    assert len(commands) == 2
    assert "theon demo" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in commands:
        assert command in ci, f"{command!r} is not run verbatim by .ci/run"


def _run(code, **env):
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, timeout=120)


def test_import_does_not_load_llvm_numba_or_sympy():
    result = _run("import sys, theon; print(sorted({m.split('.')[0] for m in sys.modules} & "
                  "{'llvmlite', 'numba', 'sympy'}))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_theon_flags_set_config_at_startup():
    result = _run("import theon; print(theon.config.floatX, theon.config.compile_log)",
                  THEON_FLAGS="floatX=float32,compile_log=1")
    assert result.stdout.split() == ["float32", "True"]


def test_unknown_flag_is_an_error():
    result = _run("import theon", THEON_FLAGS="floatx=float32")
    assert result.returncode != 0
    assert "theon.config has no flag 'floatx'" in result.stderr


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="config.floatX: expected 'float32' or 'float64', "
                                         "got 'float16'"):
        theon.config.floatX = "float16"
    with pytest.raises(AttributeError, match="theon.config has no flag 'nope'"):
        theon.config.nope = 1


def test_float_x_decides_the_default_dtype():
    import theon.tensor as T
    old = theon.config.floatX
    try:
        theon.config.floatX = "float32"
        assert T.matrix().dtype == "float32"
        assert (T.bvector() * 0.5).dtype == "float32"   # int8 with a weak float
        assert (T.ivector() * 0.5).dtype == "float64"   # int32 with float32, as numpy
    finally:
        theon.config.floatX = old
    assert T.matrix().dtype == old


def test_compile_log_prints_one_line_per_compile():
    result = _run("import theon, theon.tensor as T; x = T.dvector('x'); "
                  "theon.function([x], x * 2, name='double')",
                  THEON_FLAGS="compile_log=1", THEON_CACHE="0")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("theon:")]
    assert len(lines) == 1 and "compiled double" in lines[0] and "cache miss" in lines[0]


def test_cli_version_names_llvm():
    result = subprocess.run([sys.executable, "-m", "theon.cli", "version"], capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"theon {theon.__version__}") and "LLVM" in result.stdout
