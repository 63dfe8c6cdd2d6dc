"""Regression tests for bugs found in review, each named for the behaviour it pins down."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import theon
import theon.tensor as T

ROOT = Path(__file__).resolve().parents[2]


def test_floor_division_by_one_still_floors_floats():
    x = T.dvector("x")
    values = np.array([1.5, -1.5, 2.0])
    np.testing.assert_array_equal(theon.function([x], x // 1)(values), values // 1)


def test_negative_zero_constant_keeps_its_sign():
    y = T.dvector("y")
    positive = theon.function([y], y * 0.0)(np.array([1.0]))
    negative = theon.function([y], y * -0.0)(np.array([1.0]))
    assert not np.signbit(positive[0]) and np.signbit(negative[0])


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "uint64"])
def test_folded_and_compiled_casts_agree(dtype):
    values = np.array([-1.0, 300.0, np.nan, 1e30, -1e30, 2.0 ** 63, 5.7])
    x = T.dvector("x")
    compiled = theon.function([x], T.cast(x, dtype))(values)
    folded = theon.function([], T.cast(T.constant(values), dtype))()
    np.testing.assert_array_equal(compiled, folded)
    info = np.iinfo(dtype)
    assert compiled[2] == 0 and compiled[3] == info.max and compiled[4] == info.min


def test_source_of_a_function_whose_steps_share_a_kernel():
    x, y = T.dvector("x"), T.dvector("y")
    f = theon.function([x, y], [T.exp(x), T.exp(y)])
    assert f.schedule.steps[0].symbol == f.schedule.steps[1].symbol
    assert "define" in f.source("llvm")


def test_source_of_a_deep_kernel_prints_each_node_once():
    x = T.dvector("x")
    y = x
    for _ in range(22):
        y = y * y + y   # shared subexpressions: expanded text would be 2**22 long
    text = theon.function([x], y).source("ir")
    assert len(text.splitlines()) < 100


def test_an_output_returned_twice_is_two_arrays():
    x = T.dvector("x")
    first, second = theon.function([x], [x * 2, x * 2])(np.ones(3))
    assert first is not second
    first[0] = 7
    assert second[0] == 2


def test_a_cache_directory_others_may_write_to_is_not_used(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)
    code = ("import numpy as np, theon, theon.tensor as T; y = T.dvector('y'); "
            "f = theon.function([y], y * 3.0); print(f([1.0])[0], f.report.cache)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT),
                                     THEON_CACHE_DIR=str(shared)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3.0", "miss"]
    assert "not using the disk cache" in result.stderr and "others may write" in result.stderr
    assert not any(shared.iterdir())


def test_an_output_that_a_reduction_also_reads_is_stored():
    x, y = T.vector("x"), T.vector("y")
    xv, yv = np.arange(3.0), np.ones(3)
    total, doubled_sum = theon.function([x, y], [x + y, (x + y).sum() * 2])(xv, yv)
    np.testing.assert_array_equal(total, xv + yv)
    assert doubled_sum == 2 * (xv + yv).sum()


def test_conditional_sides_reading_different_outputs_of_one_scan():
    from theon.ifelse import ifelse
    a, h0, c = T.vector("a"), T.scalar("h0"), T.scalar("c")
    (products, doubled), _ = theon.scan(lambda x_t, h: [h * x_t, x_t * 2], sequences=[a],
                                        outputs_info=[h0, None])
    f = theon.function([a, h0, c], ifelse(c > 0, products.sum(), doubled.sum()))
    values = np.array([1.0, 2.0, 3.0])
    assert f(values, 1.0, 1.0) == np.cumprod(values).sum()
    assert f(values, 1.0, -1.0) == (2 * values).sum()
