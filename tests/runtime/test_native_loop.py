"""Scan loops run natively (runtime/native_loop.py): the same results as the Python loop
and as numpy, for every kind of step the driver runs, and a clean hand-over to Python
where it cannot."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theon
import theon.tensor as T
from theon.config import config
from theon.runtime.control import LoopCall


def _loops(f):
    return [call for call in f._executable.calls if isinstance(call, LoopCall)]


def _native_steps(f):
    return [call.native.native_steps if call.native is not None else None
            for call in _loops(f)]


def _both(f, *args):
    """f's outputs with the native loop, then with the Python loop (as lists)."""
    native = f(*args)
    with config.change_flags(native_loops=False):
        python = f(*args)
    if not isinstance(native, list):
        native, python = [native], [python]
    return native, python


def _assert_same(native, python, reference=None, rtol=1e-12):
    for got, expected in zip(native, python):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)
    if reference is not None:
        for got, expected in zip(native, reference):
            np.testing.assert_allclose(got, expected, rtol=rtol * 100, atol=rtol * 100)


def _elman(X, H0, W, U, b):
    h, out = H0, []
    for x_t in X:
        h = np.tanh(x_t @ W + h @ U + b)
        out.append(h)
    return np.array(out)


def test_elman_rnn_runs_natively_and_matches_numpy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4, 3))
    H0, W = rng.normal(size=(4, 5)), rng.normal(size=(3, 5)) * 0.5
    U, b = rng.normal(size=(5, 5)) * 0.5, rng.normal(size=5)
    x, h0, w, u, bias = T.tensor3("x"), T.matrix("h0"), T.matrix("w"), T.matrix("u"), \
        T.vector("b")
    h, _ = theon.scan(lambda x_t, h: T.tanh(T.dot(x_t, w) + T.dot(h, u) + bias),
                      sequences=x, outputs_info=h0)
    f = theon.function([x, h0, w, u, bias], h)
    native, python = _both(f, X, H0, W, U, b)
    _assert_same(native, python, [_elman(X, H0, W, U, b)])
    assert _native_steps(f) == [49]


def test_gradient_loop_runs_natively():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4, 3))
    values = [rng.normal(size=(4, 5)), rng.normal(size=(3, 5)) * 0.5,
              rng.normal(size=(5, 5)) * 0.5]
    x, h0, w, u = T.tensor3("x"), T.matrix("h0"), T.matrix("w"), T.matrix("u")
    h, _ = theon.scan(lambda x_t, h: T.tanh(T.dot(x_t, w) + T.dot(h, u)),
                      sequences=x, outputs_info=h0)
    cost = (h ** 2).sum()
    f = theon.function([x, h0, w, u], [cost, *theon.grad(cost, [h0, w, u, x])])
    native, python = _both(f, X, *values)
    _assert_same(native, python)
    assert _native_steps(f) == [29, 29]


def test_taps_backwards_per_step_outputs_and_reductions():
    rng = np.random.default_rng(2)
    S, V = rng.normal(size=(12, 6)), rng.normal(size=(12, 6))
    seq, other = T.matrix("s"), T.matrix("v")
    init = T.matrix("init")

    def step(s_prev, s_next, v, h2, h1):
        new = 0.5 * h1 - 0.25 * h2 + s_prev * s_next - v
        return new, new.sum(), (new * v).max()

    (h, total, top), _ = theon.scan(
        step, sequences=[dict(input=seq, taps=[-1, 1]), other],
        outputs_info=[dict(initial=init, taps=[-2, -1]), None, None], go_backwards=True)
    f = theon.function([seq, other, init], [h, total, top])
    I = rng.normal(size=(2, 6))
    native, python = _both(f, S, V, I)
    # numpy: go_backwards reverses every sequence; each one's taps count from its start
    s_rev, v_rev = S[::-1], V[::-1]
    rows, hist = [], [I[0], I[1]]
    for t in range(10):
        new = 0.5 * hist[-1] - 0.25 * hist[-2] + s_rev[t] * s_rev[t + 2] - v_rev[t]
        hist.append(new)
        rows.append(new)
    rows = np.array(rows)
    reference = [rows, rows.sum(axis=1), (rows * v_rev[:10]).max(axis=1)]
    _assert_same(native, python, reference)
    assert _native_steps(f) == [9]


def test_a_state_that_only_its_last_value_is_read_of_keeps_a_window():
    v = T.vector("v")
    total, _ = theon.reduce(lambda x, acc: acc + x * x, sequences=v,
                            outputs_info=T.zeros_like(v[0]))
    f = theon.function([v], total)
    V = np.arange(40.0)
    native, python = _both(f, V)
    _assert_same(native, python, [np.sum(V * V)])
    assert _native_steps(f) == [39]


def test_until_stops_the_native_loop_at_the_same_step():
    x0 = T.scalar("x0")
    values, _ = theon.scan(lambda x: (x * 2, theon.scan_module.until(x * 2 > 1000)),
                           outputs_info=x0, n_steps=100)
    f = theon.function([x0], values)
    native, python = _both(f, np.float64(1.0))
    _assert_same(native, python, [2.0 ** np.arange(1, 11)])
    assert len(native[0]) == 10
    assert _native_steps(f) == [9]


def test_outputs_that_are_inputs_or_repeated_are_copied_into_their_rows():
    x, w = T.vector("x"), T.vector("w")
    (a, b, c), _ = theon.scan(lambda x_t, h: (h + x_t, w, h + x_t), sequences=x,
                              outputs_info=[T.zeros_like(w[0]), None, None])
    f = theon.function([x, w], [a, b, c])
    X, W = np.arange(8.0), np.array([3.0, 4.0])
    native, python = _both(f, X, W)
    _assert_same(native, python, [np.cumsum(X), np.tile(W, (8, 1)), np.cumsum(X)])
    assert _native_steps(f) == [7]


@settings(max_examples=25, deadline=None)
@given(rank_a=st.sampled_from([1, 2]), rank_b=st.sampled_from([1, 2]),
       transpose_a=st.booleans(), transpose_b=st.booleans(),
       dtype=st.sampled_from(["float32", "float64"]),
       m=st.integers(1, 4), k=st.integers(1, 5), n=st.integers(1, 4))
def test_products_of_every_layout_go_through_blas(rank_a, rank_b, transpose_a, transpose_b,
                                                  dtype, m, k, n):
    """dot(x_t, W) per step for vectors and matrices, row- or column-major operands."""
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    shape_a = (m, k) if rank_a == 2 else (k,)
    shape_b = (k, n) if rank_b == 2 else (k,)
    A = rng.normal(size=(6,) + (shape_a[::-1] if transpose_a else shape_a)).astype(dtype)
    B = rng.normal(size=shape_b[::-1] if transpose_b else shape_b).astype(dtype)
    if transpose_a:
        A = np.swapaxes(A, 1, -1)  # each step's operand is column-major
    if transpose_b:
        B = B.T
    a = T.TensorType(dtype, (None,) * (rank_a + 1))("a")
    b = T.TensorType(dtype, (None,) * rank_b)("b")
    out, _ = theon.scan(lambda a_t: T.dot(a_t, b), sequences=a)
    f = theon.function([a, b], out)
    native, python = _both(f, A, B)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    _assert_same(native, python, [np.array([np.dot(row, B) for row in A])], rtol=rtol)
    assert _native_steps(f) == [5]


def test_strided_sequence_rows_are_read_in_place():
    x = T.matrix("x")
    out, _ = theon.scan(lambda x_t, h: h + T.exp(x_t), sequences=x,
                        outputs_info=T.zeros((3,)))
    f = theon.function([x], out)
    X = np.random.default_rng(3).normal(size=(9, 6))[:, ::2]  # rows strided inside
    native, python = _both(f, X)
    _assert_same(native, python, [np.cumsum(np.exp(X), axis=0)])
    assert _native_steps(f) == [8]


def test_large_kernels_stay_in_the_threaded_python_loop(monkeypatch):
    from theon.runtime import threads
    monkeypatch.setattr(threads, "PARALLEL_MIN_ELEMENTS", 16)
    x = T.matrix("x")
    out, _ = theon.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=T.zeros((32,)))
    f = theon.function([x], out)
    X = np.ones((5, 32))
    with config.change_flags(num_threads=2):
        np.testing.assert_allclose(f(X), np.cumsum(X, axis=0))
    assert _native_steps(f) == [0]
    with config.change_flags(num_threads=1):
        np.testing.assert_allclose(f(X), np.cumsum(X, axis=0))
    assert _native_steps(f) == [4]


def test_native_loops_flag_keeps_every_step_in_python():
    x = T.vector("x")
    out, _ = theon.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=T.zeros(()))
    f = theon.function([x], out)
    with config.change_flags(native_loops=False):
        np.testing.assert_allclose(f(np.arange(5.0)), np.cumsum(np.arange(5.0)))
    assert _native_steps(f) == [0]
    np.testing.assert_allclose(f(np.arange(5.0)), np.cumsum(np.arange(5.0)))
    assert _native_steps(f) == [4]


def test_shape_errors_are_raised_before_any_native_step():
    x, h0 = T.matrix("x"), T.vector("h0")
    out, _ = theon.scan(lambda x_t, h: h + x_t, sequences=x, outputs_info=h0)
    f = theon.function([x, h0], out)
    with pytest.raises(ValueError):
        f(np.ones((4, 3)), np.ones(2))
    assert _native_steps(f) == [0]


def test_labels_checked_at_every_step_of_a_native_loop():
    # x[arange(n), labels_t] in a loop body: the labels' check (RowLabels) runs at every step,
    # not once: a program following its result as a view would skip it
    x, labels = T.dmatrix("x"), T.imatrix("labels")
    picked, _ = theon.scan(lambda y_t: x[T.arange(y_t.shape[0]), y_t] * 2, sequences=labels)
    f = theon.function([x, labels], picked)
    a = np.arange(12.0).reshape(4, 3)
    steps = np.array([[0, 1, 2, 0], [2, 2, -1, 1], [-3, 0, 1, 2]], np.int32)
    native, python = _both(f, a, steps)
    _assert_same(native, python, [[a[np.arange(4), row] * 2 for row in steps]])
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for axis 1 with size 3$"):
        f(a, np.array([[0, 1, 2, 0], [0, 1, 2, 0], [0, 3, 0, 0]], np.int32))
