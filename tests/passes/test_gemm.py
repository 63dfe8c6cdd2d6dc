"""The gemm pass and its runtime: ``c - s * dot(a, b)`` outputs become one BLAS product
added into ``c`` (in ``c``'s own array for a shared variable's update), against numpy; the
forms it leaves alone; aliasing, layouts, zero sizes and shape errors; loop bodies."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theon
import theon.tensor as T
from theon.ir import HostStep
from theon.ir.ops.linalg import Gemm
from theon.runtime import gemm as blas_gemm
from theon.runtime.executable import GemmCall

TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-12, atol=1e-12)}


def _gemm_steps(f):
    return [step for step in f.schedule.steps
            if isinstance(step, HostStep) and isinstance(step.op, Gemm)]


def _matrix(rng, shape, dtype):
    return rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_update_accumulates_into_the_parameter_array(dtype):
    rng = np.random.default_rng(0)
    x_value, delta_value = _matrix(rng, (16, 7), dtype), _matrix(rng, (16, 5), dtype)
    w_value = _matrix(rng, (7, 5), dtype)
    W = theon.shared(w_value.copy(), name="W")
    x, delta = T.matrix("x", dtype=dtype), T.matrix("delta", dtype=dtype)
    lr = np.asarray(0.1, dtype)
    f = theon.function([x, delta], [], updates=[(W, W - lr * T.dot(x.T, delta))])
    (step,) = _gemm_steps(f)
    assert not f.schedule.kernel_steps()  # the update is the product alone
    (call,) = [call for call in f._executable.calls if isinstance(call, GemmCall)]
    assert call.into == (step.inputs[0],)  # planned to write into W's own array
    array = W.get_value(borrow=True)
    expected = w_value.astype(np.float64)
    for _ in range(3):
        f(x_value, delta_value)
        expected = expected - 0.1 * (x_value.T.astype(np.float64) @ delta_value)
    assert W.get_value(borrow=True) is array
    np.testing.assert_allclose(W.get_value(), expected, **TOLERANCE[dtype])


def test_symbolic_learning_rate_and_the_mlp_step_match_numpy():
    rng = np.random.default_rng(1)
    x_value = rng.random((32, 20)).astype("float32")
    y_value = rng.integers(0, 4, 32).astype("int32")
    W1 = theon.shared(_matrix(rng, (20, 8), "float32") * 0.3, name="W1")
    W2 = theon.shared(_matrix(rng, (8, 4), "float32") * 0.3, name="W2")
    start = [W1.get_value(), W2.get_value()]
    x, y, lr = T.fmatrix("x"), T.ivector("y"), T.fscalar("lr")
    h = T.tanh(T.dot(x, W1))
    p = T.nnet.softmax(T.dot(h, W2))
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    g1, g2 = theon.grad(cost, [W1, W2])
    f = theon.function([x, y, lr], cost, updates=[(W1, W1 - lr * g1), (W2, W2 - lr * g2)])
    assert len(_gemm_steps(f)) == 2
    f(x_value, y_value, np.float32(0.5))

    w1, w2 = (v.astype(np.float64) for v in start)
    hidden = np.tanh(x_value @ w1)
    z = hidden @ w2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    dz = e / e.sum(axis=1, keepdims=True)
    dz[np.arange(32), y_value] -= 1
    dz /= 32
    da = (dz @ w2.T) * (1 - hidden ** 2)
    np.testing.assert_allclose(W2.get_value(), w2 - 0.5 * hidden.T @ dz, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(W1.get_value(), w1 - 0.5 * x_value.T @ da, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("form", ["c + dot", "dot + c", "c - dot", "s * dot + c",
                                  "c - dot * s"])
def test_forms_of_a_plain_output_leave_their_inputs_unchanged(form):
    rng = np.random.default_rng(2)
    a_value, b_value = _matrix(rng, (6, 4), "float64"), _matrix(rng, (4, 3), "float64")
    c_value = _matrix(rng, (6, 3), "float64")
    a, b, c, s = T.matrix("a"), T.matrix("b"), T.matrix("c"), T.scalar("s")
    product = T.dot(a, b)
    expression = {"c + dot": c + product, "dot + c": product + c, "c - dot": c - product,
                  "s * dot + c": s * product + c, "c - dot * s": c - product * s}[form]
    f = theon.function([a, b, c, s], expression, on_unused_input="ignore")
    assert len(_gemm_steps(f)) == 1
    kept = c_value.copy()
    got = f(a_value, b_value, c_value, 1.5)
    np.testing.assert_array_equal(c_value, kept)
    scale = 1.5 if "s" in form.split() else 1.0
    sign = -1.0 if "-" in form else 1.0
    np.testing.assert_allclose(got, c_value + sign * scale * (a_value @ b_value),
                               **TOLERANCE["float64"])


def test_forms_it_leaves_to_fusion_or_to_dot():
    a, b, c = T.matrix("a"), T.matrix("b"), T.matrix("c")
    v, z, ia, ib = T.vector("v"), T.scalar("z"), T.imatrix("ia"), T.imatrix("ib")
    product = T.dot(a, b)
    cases = {
        "more elementwise work reads the sum": ([a, b, c], [T.tanh(c + product)]),
        "the product is also an output": ([a, b, c], [c + product, product]),
        "the sum is also read elsewhere": ([a, b, c], [c + product, (c + product).sum()]),
        "c is broadcast": ([a, b, v], [v + product]),
        "integer matrices": ([ia, ib], [T.dot(ia, ib) + ia]),
        "a product of vectors": ([v, z], [T.dot(v, v) + z]),
    }
    for reason, (inputs, outputs) in cases.items():
        f = theon.function(inputs, outputs)
        assert _gemm_steps(f) == [], reason


def test_an_operand_aliasing_the_parameter_is_not_overwritten_while_read():
    rng = np.random.default_rng(3)
    w_value = _matrix(rng, (5, 5), "float64")
    W = theon.shared(w_value.copy(), name="W")
    f = theon.function([], [], updates=[(W, W - 0.01 * T.dot(W.T, W))])
    assert len(_gemm_steps(f)) == 1
    f()
    np.testing.assert_allclose(W.get_value(), w_value - 0.01 * (w_value.T @ w_value),
                               **TOLERANCE["float64"])


def test_update_that_is_also_an_output_returns_a_separate_array():
    rng = np.random.default_rng(4)
    w_value, a_value = _matrix(rng, (4, 3), "float64"), _matrix(rng, (4, 6), "float64")
    b_value = _matrix(rng, (6, 3), "float64")
    W = theon.shared(w_value.copy(), name="W")
    a, b = T.matrix("a"), T.matrix("b")
    new = W - 0.5 * T.dot(a, b)
    f = theon.function([a, b], new, updates=[(W, new)])
    out = f(a_value, b_value)
    expected = w_value - 0.5 * a_value @ b_value
    np.testing.assert_allclose(out, expected, **TOLERANCE["float64"])
    np.testing.assert_allclose(W.get_value(), expected, **TOLERANCE["float64"])
    out[...] = 0
    np.testing.assert_allclose(W.get_value(), expected, **TOLERANCE["float64"])


def test_mismatched_shapes_at_call_time_raise_shape_error():
    a, b, c = T.matrix("a"), T.matrix("b"), T.matrix("c")
    f = theon.function([a, b, c], c - 2.0 * T.dot(a, b))
    assert len(_gemm_steps(f)) == 1
    with pytest.raises(theon.ShapeError) as info:
        f(np.ones((3, 4)), np.ones((5, 2)), np.ones((3, 2)))
    assert str(info.value) == ("gemm: input 3 has shape (5, 2); expected length 4 at axis 0 "
                               "to match input 2 (shape (3, 4))")
    with pytest.raises(theon.ShapeError) as info:
        f(np.ones((3, 4)), np.ones((4, 2)), np.ones((3, 7)))
    assert str(info.value) == ("gemm: input 3 has shape (4, 2); expected length 7 at axis 1 "
                               "to match input 0 (shape (3, 7))")


_LAYOUTS = ("c", "transposed", "strided", "sliced")


def _laid_out(value, layout):
    """``value`` as an array of layout ``layout`` (the same elements)."""
    if layout == "transposed":
        return np.asfortranarray(value)
    if layout == "strided":
        wide = np.zeros((value.shape[0], 2 * value.shape[1]), value.dtype)
        wide[:, ::2] = value
        return wide[:, ::2]
    if layout == "sliced":
        tall = np.zeros((value.shape[0] + 2, value.shape[1] + 1), value.dtype)
        tall[1:-1, 1:] = value
        return tall[1:-1, 1:]
    return np.ascontiguousarray(value)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 6), n=st.integers(0, 6), k=st.integers(0, 6),
       dtype=st.sampled_from(["float32", "float64"]),
       layouts=st.tuples(*[st.sampled_from(_LAYOUTS)] * 3),
       alpha=st.floats(-2, 2, allow_nan=False))
def test_accumulate_matches_numpy_for_any_shape_and_layout(m, n, k, dtype, layouts, alpha):
    rng = np.random.default_rng(m * 49 + n * 7 + k)
    a = _laid_out(_matrix(rng, (m, k), dtype), layouts[0])
    b = _laid_out(_matrix(rng, (k, n), dtype), layouts[1])
    c = _laid_out(_matrix(rng, (m, n), dtype), layouts[2])
    expected = c.astype(np.float64) + np.float64(np.asarray(alpha, dtype)) * (
        a.astype(np.float64) @ b.astype(np.float64))
    A, B, C = (T.matrix(name, dtype=dtype) for name in "ABC")
    s = T.scalar("s", dtype=dtype)
    f = theon.function([C, A, B, s], C + s * T.dot(A, B))
    assert len(_gemm_steps(f)) == 1
    got = f(c, a, b, np.asarray(alpha, dtype))
    assert got.dtype == dtype and got.shape == (m, n)
    np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == "float32" else 1e-12,
                               atol=1e-4 if dtype == "float32" else 1e-12)


def test_accumulate_without_blas_uses_numpy(monkeypatch):
    monkeypatch.setattr(blas_gemm, "_function", lambda dtype_name: None)
    rng = np.random.default_rng(5)
    a, b, out = (_matrix(rng, shape, "float64") for shape in ((3, 4), (4, 2), (3, 2)))
    expected = out + 0.25 * a @ b
    assert blas_gemm.accumulate(out, np.float64(0.25), a, b) is out
    np.testing.assert_allclose(out, expected, **TOLERANCE["float64"])


def test_loop_bodies_keep_their_products_for_the_native_loop():
    rng = np.random.default_rng(6)
    X, H0, W = rng.normal(size=(20, 3, 4)), rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    x, h0, w = T.tensor3("x"), T.matrix("h0"), T.matrix("w")
    h, _ = theon.scan(lambda x_t, h: h - 0.1 * T.dot(x_t, w), sequences=x, outputs_info=h0)
    f = theon.function([x, h0, w], h)
    loop = next(call for call in f._executable.calls if hasattr(call, "native"))
    assert not any(isinstance(step, HostStep) and isinstance(step.op, Gemm)
                   for step in loop.body.schedule.steps)
    got = f(X, H0, W)
    expected, state = [], H0
    for x_t in X:
        state = state - 0.1 * x_t @ W
        expected.append(state)
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-12)
    assert loop.native.native_steps == 19
