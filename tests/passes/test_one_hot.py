"""Row-wise label indexing as one-hot masks (passes/one_hot.py): values against numpy's
indexing, the checks numpy's indexing makes, and what the rewrite saves (kernels, host
steps)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theon
import theon.tensor as T
from theon.ir import HostStep, KernelStep
from theon.tensor import inc_subtensor, set_subtensor


def _host_ops(function):
    return [step.op.name for step in function.schedule.steps if isinstance(step, HostStep)]


def _kernels(function):
    return [step for step in function.schedule.steps if isinstance(step, KernelStep)]


def _nll(z, labels):
    """numpy: the mean negative log-likelihood of softmax(z) at ``labels`` and its gradient."""
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    grad = np.exp(logp)
    grad[rows, labels] -= 1
    return -logp[rows, labels].mean(), grad / len(labels)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_logistic_regression_step_gathers_and_scatters_without_host_indexing(dtype):
    x, y = T.matrix("x", dtype=dtype), T.ivector("y")
    W = theon.shared(np.zeros((6, 4), dtype), name="W")
    b = theon.shared(np.zeros(4, dtype), name="b")
    p = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = theon.grad(cost, [W, b])
    f = theon.function([x, y], [cost, gW, gb])
    # the gather, its gradient's scatter and their aranges are gone; one check of the labels
    assert "advanced_subtensor" not in _host_ops(f)
    assert "inc_subtensor" not in _host_ops(f) and "arange" not in _host_ops(f)
    assert _host_ops(f).count("row_labels") == 1
    # no kernel stores the one-hot mask or a value only cheap ops make
    for step in _kernels(f):
        assert all(t.dtype != "bool" for t in step.kernel.out_types)
    assert len(_kernels(f)) <= 7
    rng = np.random.default_rng(0)
    W.set_value(rng.standard_normal((6, 4)).astype(dtype))
    b.set_value(rng.standard_normal(4).astype(dtype))
    a = rng.standard_normal((9, 6)).astype(dtype)
    labels = np.array([0, 3, 2, -1, 1, 3, -4, 0, 2], np.int32)
    cost_got, gW_got, gb_got = f(a, labels)
    z = a.astype(np.float64) @ W.get_value().astype(np.float64) + b.get_value()
    cost_want, dz = _nll(z, labels)
    tolerance = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(cost_got, cost_want, rtol=tolerance)
    np.testing.assert_allclose(gW_got, a.T.astype(np.float64) @ dz, rtol=tolerance,
                               atol=tolerance)
    np.testing.assert_allclose(gb_got, dz.sum(axis=0), rtol=tolerance, atol=tolerance)


def test_gradient_matches_central_differences():
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = -T.mean(T.nnet.logsoftmax(x)[T.arange(y.shape[0]), y])
    labels = np.array([1, 0, 2, -1])
    theon.gradient.verify_grad(lambda v: -T.mean(T.nnet.logsoftmax(v)[
        T.arange(labels.shape[0]), labels]), [np.random.default_rng(1).standard_normal((4, 3))],
        rng=np.random.default_rng(2))
    f = theon.function([x, y], theon.grad(cost, x))
    assert "inc_subtensor" not in _host_ops(f)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 6), columns=st.integers(1, 5), data=st.data(),
       label_dtype=st.sampled_from(["int32", "int64", "uint8"]),
       dtype=st.sampled_from(["float32", "float64"]))
def test_gather_inc_and_set_match_numpy(rows, columns, data, label_dtype, dtype):
    low = 0 if label_dtype == "uint8" else -columns
    labels = np.array(data.draw(st.lists(st.integers(low, columns - 1), min_size=rows,
                                         max_size=rows)), label_dtype)
    rng = np.random.default_rng(rows * 10 + columns)
    a = rng.standard_normal((rows, columns)).astype(dtype)
    v = rng.standard_normal(rows).astype(dtype)
    x, y, value = T.matrix("x", dtype=dtype), T.vector("y", dtype=label_dtype), \
        T.vector("v", dtype=dtype)
    index = (T.arange(y.shape[0]), y)
    f = theon.function([x, y, value], [x[index], inc_subtensor(x[index], value),
                                       set_subtensor(x[index], value),
                                       inc_subtensor(x[index], 2.0)])
    assert "advanced_subtensor" not in _host_ops(f) and "inc_subtensor" not in _host_ops(f)
    gathered, incremented, assigned, scalar_inc = f(a, labels, v)
    where = (np.arange(rows), labels)
    np.testing.assert_array_equal(gathered, a[where])
    want = a.copy()
    np.add.at(want, where, v)
    np.testing.assert_allclose(incremented, want, rtol=1e-6)
    want = a.copy()
    want[where] = v
    np.testing.assert_array_equal(assigned, want)
    want = a.copy()
    want[where] += 2
    np.testing.assert_allclose(scalar_inc, want, rtol=1e-6)


def test_rows_given_by_the_matrix_and_a_broadcast_label():
    x, y = T.dmatrix("x"), T.lvector("y")
    f = theon.function([x, y], x[T.arange(x.shape[0]), y])
    a = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(f(a, [2, 0, 1, -3]), a[np.arange(4), [2, 0, 1, -3]])
    np.testing.assert_array_equal(f(a, [1]), a[np.arange(4), [1]])   # one label, every row
    with pytest.raises(IndexError, match=r"^advanced_subtensor\[\[\?\], \[\?\]\]: shape "
                                         r"mismatch: indexing arrays could not be broadcast "
                                         r"together with shapes \(4,\) \(2,\)$"):
        f(a, [0, 1])


def test_labels_out_of_range_raise_index_error_naming_the_label():
    x, y = T.dmatrix("x"), T.ivector("y")
    cost = -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])
    f = theon.function([x, y], [cost, theon.grad(cost, x)])
    a = np.zeros((3, 4))
    prefix = r"^advanced_subtensor\[\[\?\], \[\?\]\]: "
    with pytest.raises(IndexError, match=prefix + r"index 4 is out of bounds for axis 1 with "
                                                  r"size 4$"):
        f(a, np.array([0, 4, 9], np.int32))
    with pytest.raises(IndexError, match=prefix + r"index -5 is out of bounds for axis 1 with "
                                                  r"size 4$"):
        f(a, np.array([-5, 0, 1], np.int32))
    with pytest.raises(IndexError, match=prefix + r"index 3 is out of bounds for axis 0 with "
                                                  r"size 3$"):
        f(a, np.zeros(4, np.int32))
    with pytest.raises(ValueError, match=prefix + r"x\[arange\(2\), labels\] with x of 3 "
                                                  r"rows: theon computes this indexing over "
                                                  r"all of x's rows; index x\[:2\] first$"):
        f(a, np.zeros(2, np.int32))


def test_other_advanced_indices_are_left_to_numpy():
    x, y = T.dmatrix("x"), T.lvector("y")
    a = np.arange(12.0).reshape(4, 3)
    labels = np.array([2, 0, 1, 1])
    for expression, want in ((x[T.arange(1, 5) - 1, y], a[np.arange(4), labels]),
                             (x[y, y], a[labels, labels]),
                             (x[T.arange(y.shape[0])[::-1], y], a[np.arange(4)[::-1], labels])):
        f = theon.function([x, y], expression)
        np.testing.assert_array_equal(f(a, labels), want)


def test_row_sum_of_a_scatter_is_the_scattered_value():
    x, y, g = T.dmatrix("x"), T.lvector("y"), T.dvector("g")
    scattered = inc_subtensor(T.zeros_like(x)[T.arange(y.shape[0]), y], g)
    f = theon.function([x, y, g], [(-scattered).sum(axis=1),
                                   T.cast(scattered, "float32").sum(axis=1, keepdims=True)])
    a, labels, values = np.ones((3, 5)), np.array([4, 0, -1]), np.array([1.5, -2.0, 7.0])
    rows, kept = f(a, labels, values)
    np.testing.assert_array_equal(rows, -values)
    np.testing.assert_array_equal(kept, values[:, None].astype(np.float32))
    assert not any(step.kernel.reduce for step in _kernels(f))


def test_row_sum_of_a_scaled_scatter_keeps_ieee_zeros():
    # 0 * inf is nan in the other columns: a product by a scale is summed as written
    x, y, g, s = T.dmatrix("x"), T.lvector("y"), T.dvector("g"), T.dscalar("s")
    scattered = inc_subtensor(T.zeros_like(x)[T.arange(y.shape[0]), y], g)
    f = theon.function([x, y, g, s], (scattered * s).sum(axis=1))
    got = f(np.ones((2, 3)), np.array([0, 2]), np.array([1.0, 2.0]), np.inf)
    with np.errstate(invalid="ignore"):
        want = (np.array([[1.0, 0, 0], [0, 0, 2.0]]) * np.inf).sum(axis=1)
    np.testing.assert_array_equal(got, want)  # nan, nan
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.array([0, 2]), np.array([1.0, 2.0]),
                                    3.0), [3.0, 6.0])


# ---- the axis_index primitive the masks are made of ----------------------------------------

def _positions(x, axis):
    from theon.frontend.variable import Variable
    from theon.ir import build
    return Variable(build.axis_index(x.node, axis))


def test_axis_index_gives_each_element_its_position_on_every_axis():
    x = T.tensor3("x")
    f = theon.function([x], [_positions(x, -1) + 10 * _positions(x, -2) +
                             100 * _positions(x, -3), (_positions(x, -2) * x).sum(axis=0),
                             (_positions(x, -1) * x).sum(axis=(0, 2))])
    a = np.random.default_rng(3).standard_normal((3, 4, 9)).transpose(0, 2, 1)  # strided
    i, j, k = np.indices(a.shape)
    codes, rows, columns = f(a)
    np.testing.assert_array_equal(codes, k + 10 * j + 100 * i)
    np.testing.assert_allclose(rows, (j * a).sum(axis=0))
    np.testing.assert_allclose(columns, (k * a).sum(axis=(0, 2)))
    # the numpy reference of a fused kernel computes the same
    (step,) = [s for s in f.schedule.steps if isinstance(s, KernelStep) and
               not s.kernel.reduce]
    np.testing.assert_array_equal(step.kernel.impl(a)[0], codes)


def test_axis_index_in_large_kernels_split_across_threads_and_broadcast_axes():
    x, row = T.fmatrix("x"), T.frow("r")
    f = theon.function([x, row], [T.eq(_positions(x, -1), 0) * x + _positions(row, -2),
                                  T.switch(T.eq(_positions(x, -2), 7), x, 0).sum(axis=1)])
    a = np.ones((700, 513), np.float32)
    first, sevens = f(a, np.zeros((1, 513), np.float32))
    want = np.zeros_like(a)
    want[:, 0] = 1
    np.testing.assert_array_equal(first, want)
    np.testing.assert_array_equal(sevens, np.where(np.arange(700) == 7, 513, 0))


def test_axis_index_rejects_a_non_negative_axis():
    from theon.ir.ops.elementwise import axis_index_op
    with pytest.raises(ValueError, match=r"^axis_index: axis must be a negative int; got 1$"):
        axis_index_op(1)


def test_increments_leave_the_other_elements_bit_for_bit():
    # off the mask, b + -0.0 is b: a -0.0 keeps its sign and a nan stays where it was
    x, y, v = T.dmatrix("x"), T.lvector("y"), T.dvector("v")
    f = theon.function([x, y, v], inc_subtensor(x[T.arange(y.shape[0]), y], v))
    a = np.full((2, 3), -0.0)
    a[0, 0] = np.nan
    got = f(a, np.array([1, 2]), np.array([1.0, 2.0]))
    want = a.copy()
    np.add.at(want, (np.arange(2), [1, 2]), [1.0, 2.0])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert "inc_subtensor" not in _host_ops(f)
