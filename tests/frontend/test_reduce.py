"""Reductions against numpy: every combiner over axes, keepdims, dtypes; fusion; softmax."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theon
import theon.tensor as T

REDUCTIONS = {
    "sum": (T.sum, np.sum), "prod": (T.prod, np.prod), "max": (T.max, np.max),
    "min": (T.min, np.min), "any": (T.any, np.any), "all": (T.all, np.all),
    "mean": (T.mean, np.mean),
}


def _values(rng, shape, dtype, name):
    if dtype == "bool":
        return rng.random(shape) < 0.7
    if name == "prod":
        return (1 + 0.01 * rng.standard_normal(shape)).astype(dtype) if dtype.startswith(
            "float") else rng.integers(1, 3, shape).astype(dtype)
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-50, 50, shape).astype(dtype)


@st.composite
def reduction_case(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 7)) for _ in range(ndim))
    axes = draw(st.one_of(st.none(), st.sets(st.integers(0, ndim - 1), min_size=1)))
    axis = None if axes is None else tuple(sorted(axes))
    name = draw(st.sampled_from(sorted(REDUCTIONS)))
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "int64", "uint8", "bool"]))
    keepdims = draw(st.booleans())
    return name, shape, axis, dtype, keepdims, draw(st.integers(0, 2 ** 31))


@given(reduction_case())
def test_reductions_match_numpy(case):
    name, shape, axis, dtype, keepdims, seed = case
    ours, reference = REDUCTIONS[name]
    x = T.TensorType(dtype, (False,) * len(shape))("x")
    value = _values(np.random.default_rng(seed), shape, dtype, name)
    got = theon.function([x], ours(x, axis=axis, keepdims=keepdims))(value)
    expected = np.asarray(reference(value, axis=axis, keepdims=keepdims))
    assert got.shape == expected.shape
    if name in ("sum", "prod") and dtype != "bool":
        assert got.dtype == expected.dtype
    tolerance = 1e-5 if dtype in ("float32",) or name == "mean" else 1e-12
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                               rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4)])
def test_empty_reductions(shape):
    x = T.dmatrix("x") if len(shape) == 2 else T.dvector("x")
    value = np.zeros(shape)
    np.testing.assert_array_equal(theon.function([x], T.sum(x, axis=-1))(value),
                                  value.sum(axis=-1))
    if value.shape[-1] == 0:
        with pytest.raises(ValueError, match="zero-size array to a reduction operation "
                                             "maximum, which has no identity"):
            theon.function([x], T.max(x, axis=-1))(value)


def test_float32_sum_of_1e7_is_accurate():
    rng = np.random.default_rng(0)
    value = (rng.random(10_000_000) + 0.5).astype(np.float32)
    x = T.fvector("x")
    got = theon.function([x], T.sum(x))(value)
    exact = value.astype(np.float64).sum()
    assert got.dtype == np.float32
    assert abs(float(got) - exact) / exact < 1e-6


def test_nan_propagates_through_max_and_min():
    x = T.dvector("x")
    f = theon.function([x], [T.max(x), T.min(x)])
    assert all(np.isnan(v) for v in f(np.array([1.0, np.nan, 3.0])))


def test_elementwise_producer_fuses_into_the_reduction():
    x, y = T.fmatrix("x"), T.fmatrix("y")
    f = theon.function([x, y], T.sum(x * y, axis=1))
    assert f.report.kernels == 1
    a = np.random.default_rng(1).random((33, 70)).astype(np.float32)
    np.testing.assert_allclose(f(a, a.T.copy().T), (a * a).sum(1), rtol=1e-5)


def test_column_and_strided_reductions():
    x = T.dmatrix("x")
    a = np.random.default_rng(2).random((40, 30))
    f = theon.function([x], [T.sum(x, axis=0), T.max(x, axis=1), T.mean(x)])
    for value in (a, a.T, a[::2, ::3], np.asfortranarray(a)):
        got = f(value)
        np.testing.assert_allclose(got[0], value.sum(0))
        np.testing.assert_allclose(got[1], value.max(1))
        np.testing.assert_allclose(got[2], value.mean())


def test_var_std_argmax_argmin():
    x = T.dmatrix("x")
    a = np.random.default_rng(3).random((5, 8))
    f = theon.function([x], [T.var(x, axis=1), T.std(x), T.argmax(x, axis=0), T.argmin(x),
                             T.var(x, axis=0, ddof=1)])
    got = f(a)
    np.testing.assert_allclose(got[0], a.var(1))
    np.testing.assert_allclose(got[1], a.std())
    np.testing.assert_array_equal(got[2], a.argmax(0))
    assert got[3] == a.argmin()
    np.testing.assert_allclose(got[4], a.var(0, ddof=1))


def test_methods_and_max_and_argmax():
    x = T.dmatrix("x")
    a = np.random.default_rng(4).random((4, 6))
    maximum, index = T.max_and_argmax(x, axis=1)
    f = theon.function([x], [x.sum(axis=1), x.mean(), x.max(axis=0), maximum, index])
    got = f(a)
    np.testing.assert_allclose(got[0], a.sum(1))
    np.testing.assert_allclose(got[1], a.mean())
    np.testing.assert_allclose(got[2], a.max(0))
    np.testing.assert_allclose(got[3], a.max(1))
    np.testing.assert_array_equal(got[4], a.argmax(1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_logsoftmax_logsumexp(dtype):
    x = T.matrix("x", dtype=dtype)
    a = np.random.default_rng(5).standard_normal((7, 13)).astype(dtype) * 30
    a[0, 0] = 1e4 if dtype == "float64" else 80.0
    f = theon.function([x], [T.nnet.softmax(x), T.nnet.logsoftmax(x), T.logsumexp(x, axis=1)])
    shifted = a.astype(np.float64) - a.max(1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(1, keepdims=True))
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(f(a)[0], np.exp(shifted - log_norm), rtol=tolerance,
                               atol=tolerance)
    np.testing.assert_allclose(f(a)[1], shifted - log_norm, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(f(a)[2], (log_norm + a.max(1, keepdims=True))[:, 0],
                               rtol=tolerance)
    assert np.all(np.isfinite(f(a)[1]))


def test_softmax_reads_its_input_in_three_kernels():
    x = T.fmatrix("x")
    f = theon.function([x], T.nnet.softmax(x))
    assert f.report.kernels == 3  # max, sum(exp(x - max)) recomputed, exp(x - max) / sum
    # the sum recomputes exp(x - max), so the last kernel stores only the quotient
    last_kernel = f.source("ir").split("step 2:")[1]
    assert [line.split("=")[0].strip() for line in last_kernel.splitlines()
            if line.startswith("    out")] == ["out0"]


def test_softmax_of_an_affine_map_orders_its_kernels_by_what_they_recompute():
    # regression: the sum kernel reads the max kernel's output through its recomputed
    # cone, a dependency the schedule once missed (KeyError while fusing)
    x, w, v = T.fmatrix("x"), T.fmatrix("w"), T.fmatrix("v")
    hidden_bias, bias = T.fvector("c"), T.fvector("b")
    hidden = T.tanh(T.dot(x, w) + hidden_bias)
    f = theon.function([x, w, hidden_bias, v, bias], T.nnet.softmax(T.dot(hidden, v) + bias))
    rng = np.random.default_rng(7)
    a, m, n = (rng.standard_normal(shape) for shape in ((5, 4), (4, 6), (6, 3)))
    c, b = rng.standard_normal(6), rng.standard_normal(3)
    z = np.tanh(a @ m + c) @ n + b
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    args = [value.astype(np.float32) for value in (a, m, c, n, b)]
    np.testing.assert_allclose(f(*args), expected, rtol=1e-5, atol=1e-6)
    assert f.report.kernels == 4  # tanh(. + c); then max, sum and divide, bias recomputed


def test_reductions_are_multithreaded_consistently():
    x = T.dmatrix("x")
    a = np.random.default_rng(6).random((9000, 40))
    f = theon.function([x], T.sum(T.exp(x), axis=1))
    old = theon.config.num_threads
    try:
        theon.config.num_threads = 1
        one = f(a)
        theon.config.num_threads = 2
        two = f(a)
    finally:
        theon.config.num_threads = old
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(one, np.exp(a).sum(1))


def test_bad_axis_raises_at_build_time():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range for a tensor of rank 2"):
        T.sum(T.dmatrix(), axis=2)
