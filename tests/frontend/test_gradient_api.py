"""Theano 1.0's ``theano.gradient`` beyond grad: jacobian, hessian, Lop, Rop and the
gradient-steering identities (zero_grad, disconnected_grad, grad_clip, grad_scale)."""
import warnings

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import ir
from theon.gradient import (DisconnectedInputError, Lop, Rop, consider_constant,
                            disconnected_grad, grad_clip, grad_scale, hessian, jacobian,
                            zero_grad)
from theon.ir.ops import GradientOp
from theon.passes import canonicalize

RNG = np.random.default_rng(7)


def vector(n, name):
    """A float64 vector input of static length ``n`` (jacobian and hessian need one)."""
    return T.TensorType("float64", shape=(n,))(name)


def matrix(rows, columns, name):
    return T.TensorType("float64", shape=(rows, columns))(name)


def numeric_jacobian(f, point, eps=1e-6):
    """Central differences of the vector function ``f`` at ``point``: shape (n,) + point."""
    point = np.array(point, dtype=np.float64)
    columns = []
    for index in range(point.size):
        step = np.zeros(point.size)
        step[index] = eps
        plus = f(point + step.reshape(point.shape))
        minus = f(point - step.reshape(point.shape))
        columns.append((np.asarray(plus) - np.asarray(minus)) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(np.shape(f(point)) + point.shape)


# ---- jacobian ---------------------------------------------------------------------------

def test_jacobian_of_a_matrix_vector_product_is_the_matrix():
    A, x = matrix(2, 3, "A"), vector(3, "x")
    J_x, J_A = jacobian(T.dot(A, x), [x, A])
    a, v = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    got_x, got_A = theon.function([A, x], [J_x, J_A])(a, v)
    np.testing.assert_allclose(got_x, a)
    expected_A = np.zeros((2, 2, 3))
    expected_A[0, 0], expected_A[1, 1] = v, v
    np.testing.assert_allclose(got_A, expected_A)


def test_jacobian_of_tanh_is_diagonal():
    x = vector(4, "x")
    value = np.array([-1.5, -0.2, 0.3, 2.0])
    got = theon.function([x], jacobian(T.tanh(x), x))(value)
    np.testing.assert_allclose(got, np.diag(1 - np.tanh(value) ** 2), atol=1e-15)


def test_jacobian_matches_central_differences():
    x, W = vector(3, "x"), T.dmatrix("W")
    w = RNG.normal(size=(4, 3))
    y = (T.dot(W, T.sin(x)) * T.exp(x).sum()).reshape((4,))  # static length by reshape
    f = theon.function([x, W], y)
    J = theon.function([x, W], jacobian(y, x))
    point = RNG.normal(size=3)
    np.testing.assert_allclose(J(point, w), numeric_jacobian(lambda p: f(p, w), point),
                               rtol=1e-6, atol=1e-8)


def test_jacobian_structure_follows_wrt():
    x, y = vector(2, "x"), vector(2, "y")
    expression = x * y
    assert isinstance(jacobian(expression, x), theon.Variable)
    assert isinstance(jacobian(expression, [x]), list)
    assert isinstance(jacobian(expression, (x, y)), tuple)
    assert jacobian(expression, [x, y])[1].ndim == 2
    # a scalar expression: its gradient, as in Theano
    g = jacobian((x * y).sum(), x)
    np.testing.assert_allclose(theon.function([x, y], g)([1.0, 2.0], [3.0, 4.0]), [3.0, 4.0])
    assert T.jacobian is jacobian and T.hessian is hessian


def test_jacobian_of_a_matrix_wrt_has_shape_n_plus_wrt_shape():
    W, x = T.dmatrix("W"), vector(2, "x")
    J = jacobian(T.dot(x, W).reshape((3,)), W)
    w, v = RNG.normal(size=(2, 3)), np.array([2.0, -1.0])
    got = theon.function([W, x], J)(w, v)
    expected = np.zeros((3, 2, 3))
    for i in range(3):
        expected[i, :, i] = v
    np.testing.assert_allclose(got, expected)


def test_jacobian_consider_constant_and_empty_expression():
    x = vector(2, "x")
    h = x * x
    J = jacobian(h * x, x, consider_constant=[h])
    value = np.array([2.0, 3.0])
    np.testing.assert_allclose(theon.function([x], J)(value), np.diag(value ** 2))
    empty = jacobian(x[:0].reshape((0,)), x)
    assert theon.function([x], empty, on_unused_input="ignore")(value).shape == (0, 2)


def test_jacobian_errors():
    x = vector(2, "x")
    with pytest.raises(AssertionError,
                       match=r"^tensor.jacobian expects a Variable as `expression`$"):
        jacobian(np.ones(2), x)
    with pytest.raises(AssertionError, match=r"expects a 1 dimensional variable as "
                       r"`expression`\. If not use flatten to make it a vector"):
        jacobian(T.outer(x, x), x)
    with pytest.raises(ValueError, match="'disconnected_inputs'"):
        jacobian(x * 2, x, disconnected_inputs="bogus")


def test_jacobian_and_hessian_of_run_time_length_loop_over_rows():
    # no static length: one row per step of a scan, as Theano computed them
    v, A, B = T.dvector("v"), T.dmatrix("A"), T.dmatrix("B")
    J = jacobian(T.dot(A, T.sin(v)), v)
    H = hessian(T.dot(v, T.dot(B, v)) + T.exp(v).sum(), v)
    f = theon.function([A, B, v], [J, H])
    rng = np.random.default_rng(3)
    a, b, x = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    j, h = f(a, b, x)
    np.testing.assert_allclose(j, a * np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(h, b + b.T + np.diag(np.exp(x)), rtol=1e-12)
    j, h = f(a[:2, :2], b[:2, :2], x[:2])  # another length, no recompile
    np.testing.assert_allclose(j, a[:2, :2] * np.cos(x[:2]), rtol=1e-12)


def test_jacobian_disconnected_inputs():
    x, y = vector(2, "x"), vector(3, "y")
    with pytest.raises(DisconnectedInputError, match="with respect to a variable that is "
                       "not part of the computational graph of the cost.*: y$"):
        jacobian(x * 2, [x, y])
    with pytest.warns(UserWarning) as record:
        _, J = jacobian(x * 2, [x, y], disconnected_inputs="warn")
    assert len(record) == 1  # one warning, not one per row
    got = theon.function([y], J)(np.ones(3))
    np.testing.assert_array_equal(got, np.zeros((2, 3)))


# ---- hessian ----------------------------------------------------------------------------

def test_hessian_of_a_quadratic_form():
    x, A = vector(3, "x"), T.dmatrix("A")
    H = hessian(T.dot(x, T.dot(A, x)), x)
    a = RNG.normal(size=(3, 3))
    got = theon.function([x, A], H)(RNG.normal(size=3), a)
    np.testing.assert_allclose(got, a + a.T, atol=1e-12)


def test_hessian_of_logsumexp():
    x = vector(4, "x")
    H = theon.function([x], hessian(T.logsumexp(x), x))
    for value in (np.array([0.5, -1.0, 2.0, 0.1]), np.array([800.0, 799.0, 0.0, -5.0])):
        p = np.exp(value - value.max())
        p /= p.sum()
        np.testing.assert_allclose(H(value), np.diag(p) - np.outer(p, p), atol=1e-12)


def test_hessian_of_several_vectors_and_of_a_linear_cost():
    x, y = vector(2, "x"), vector(3, "y")
    cost = (x ** 3).sum() + (T.exp(y)).sum() + x.sum()
    Hx, Hy = hessian(cost, [x, y])
    u, v = np.array([1.0, -2.0]), np.array([0.0, 1.0, -1.0])
    got_x, got_y = theon.function([x, y], [Hx, Hy])(u, v)
    np.testing.assert_allclose(got_x, np.diag(6 * u))
    np.testing.assert_allclose(got_y, np.diag(np.exp(v)))
    # the gradient of a linear cost does not depend on x: zero Hessian, no error
    H = hessian(x.sum() * 3, x)
    np.testing.assert_array_equal(theon.function([x], H, on_unused_input="ignore")(u),
                                  np.zeros((2, 2)))


def test_hessian_errors():
    x = vector(2, "x")
    with pytest.raises(AssertionError,
                       match=r"^tensor.hessian expects a 0 dimensional variable as `cost`$"):
        hessian(x * 2, x)
    with pytest.raises(AssertionError,
                       match=r"^tensor.hessian expects a Variable as `cost`$"):
        hessian(1.0, x)
    with pytest.raises(AssertionError, match=r"^tensor.hessian expects a \(list of\) 1 "
                       r"dimensional variable as `wrt`$"):
        hessian(T.dmatrix("m").sum(), T.dmatrix("m2"))
    with pytest.raises(DisconnectedInputError):
        hessian((x ** 2).sum(), vector(2, "y"))


# ---- Lop --------------------------------------------------------------------------------

def test_lop_is_the_vector_jacobian_product():
    W, x, v = T.dmatrix("W"), T.dvector("x"), T.dvector("v")
    lx, lw = Lop(T.dot(W, x), [x, W], v)
    w, xv, vv = RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=3)
    got_x, got_w = theon.function([W, x, v], [lx, lw])(w, xv, vv)
    np.testing.assert_allclose(got_x, w.T @ vv)
    np.testing.assert_allclose(got_w, np.outer(vv, xv))


def test_lop_of_several_outputs_sums_them_and_mirrors_wrt():
    x, u, v = T.dvector("x"), T.dvector("u"), T.dvector("v")
    result = Lop([T.sin(x), x * x], (x,), [u, v])
    assert isinstance(result, tuple) and len(result) == 1
    assert isinstance(Lop(T.sin(x), x, u), theon.Variable)
    xv, uv, vv = RNG.normal(size=3), RNG.normal(size=3), RNG.normal(size=3)
    got = theon.function([x, u, v], result[0])(xv, uv, vv)
    np.testing.assert_allclose(got, np.cos(xv) * uv + 2 * xv * vv)
    with pytest.raises(AssertionError, match=r"^Lop: 2 output\(s\) in f but 1 eval_points"):
        Lop([T.sin(x), x * x], x, [u])
    with pytest.raises(DisconnectedInputError):
        Lop(T.sin(x), T.dvector("y"), u)
    assert theon.Lop is Lop and T.Lop is Lop


# ---- Rop --------------------------------------------------------------------------------

def test_rop_of_a_matrix_vector_product_wrt_the_matrix():
    W, V, x = T.dmatrix("W"), T.dmatrix("V"), T.dvector("x")
    R = Rop(T.dot(W, x), W, V)
    # the dummy cotangent of the double-Lop is gone: W, x, V are all the function needs
    f = theon.function([W, x, V], R, on_unused_input="ignore")
    w, vw, xv = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=4)
    np.testing.assert_allclose(f(w, xv, vw), vw @ xv)
    leaves = {node for node in ir.toposort([R.node]) if isinstance(node.op, ir.Input)}
    assert leaves <= {V.node, x.node}


def test_rop_matches_the_jacobian_times_the_direction():
    x, W, v = vector(3, "x"), T.dmatrix("W"), T.dvector("v")
    y = T.tanh(T.dot(W, x)) * T.log1p(T.exp(x[0]))
    f = theon.function([x, W], y)
    R = theon.function([x, W, v], Rop(y, x, v))
    w, point, direction = RNG.normal(size=(2, 3)), RNG.normal(size=3), RNG.normal(size=3)
    expected = numeric_jacobian(lambda p: f(p, w), point) @ direction
    np.testing.assert_allclose(R(point, w, direction), expected, rtol=1e-6, atol=1e-9)
    J = theon.function([x, W], jacobian(y.reshape((2,)), x))(point, w)
    np.testing.assert_allclose(R(point, w, direction), J @ direction, rtol=1e-10)


def test_rop_of_a_log_softmax_is_stable():
    x, v = T.dmatrix("x"), T.dmatrix("v")
    R = theon.function([x, v], Rop(T.log(T.nnet.softmax(x)), x, v))
    value, direction = np.array([[1000.0, 0.0, -1000.0]]), np.array([[1.0, 2.0, 3.0]])
    # d log_softmax(x) . v = v - <softmax(x), v>, with softmax(x) = (1, 0, 0) here
    np.testing.assert_allclose(R(value, direction), [[0.0, 1.0, 2.0]])


def test_rop_lists_and_partial_derivatives():
    x, y, vx, vy = T.dvector("x"), T.dvector("y"), T.dvector("vx"), T.dvector("vy")
    h = 2 * x
    outputs = Rop([h * y, T.exp(x)], [h, x, y], [vx, vx, vy])
    assert isinstance(outputs, list) and len(outputs) == 2
    assert isinstance(Rop((x * y,), x, vx), tuple)
    xv, yv, a, b = (RNG.normal(size=3) for _ in range(4))
    first, second = theon.function([x, y, vx, vy], outputs)(xv, yv, a, b)
    # wrt variables are independent: h * y moves with h and y, not with x through h
    np.testing.assert_allclose(first, a * yv + 2 * xv * b)
    np.testing.assert_allclose(second, np.exp(xv) * a)
    # an output that is a wrt variable: its eval point
    assert Rop(x, x, vx) is vx


def test_rop_disconnected_outputs():
    x, y, v = T.dvector("x"), T.dvector("y"), T.dvector("v")
    message = ("Rop method was asked to compute the gradient with respect to a variable "
               "that is not part of the computational graph of variables in wrt, or is "
               "used only by a non-differentiable operator: y")
    with pytest.raises(DisconnectedInputError) as error:
        Rop(y, x, v)
    assert str(error.value) == message
    with pytest.warns(UserWarning, match="Rop method was asked"):
        R = Rop(T.exp(y), x, v, disconnected_outputs="warn")
    np.testing.assert_array_equal(theon.function([y], R)(np.ones(2)), np.zeros(2))
    assert Rop(y, x, v, disconnected_outputs="ignore", return_disconnected="None") is None
    with pytest.raises(DisconnectedInputError):
        Rop(disconnected_grad(x) * 2, x, v)
    with pytest.raises(ValueError, match=r"^Element 0 of wrt/eval_point have mismatched "
                       r"dimensionality: 1 versus 2$"):
        Rop(x * 2, x, T.dmatrix("m"))
    with pytest.raises(ValueError, match="'disconnected_outputs'"):
        Rop(x * 2, x, v, disconnected_outputs="bogus")
    with pytest.raises(ValueError, match="'return_disconnected'"):
        Rop(x * 2, x, v, return_disconnected="bogus")
    with pytest.raises(AssertionError, match=r"^Rop: 1 wrt variable\(s\) but 2 eval_points"):
        Rop(x * 2, x, [v, v])
    assert theon.Rop is Rop and T.Rop is Rop


def test_rop_through_the_gradient_steering_identities():
    x, v = T.dvector("x"), T.dvector("v")
    value, direction = np.array([0.5, 2.0]), np.array([5.0, -7.0])
    # Theano's R_op: zero through zero_grad, the identity through grad_clip and grad_scale
    R = Rop(zero_grad(x) * 3, x, v)
    np.testing.assert_array_equal(
        theon.function([x, v], R, on_unused_input="ignore")(value, direction), [0.0, 0.0])
    R = Rop(grad_clip(x, -1, 1) * 3 + grad_scale(x, 10.0), x, v)
    np.testing.assert_allclose(
        theon.function([x, v], R, on_unused_input="ignore")(value, direction),
        4 * direction)


# ---- zero_grad, disconnected_grad, grad_clip, grad_scale ---------------------------------

def _gradient_ops(function):
    """The gradient-steering op names left in a compiled function's schedule text."""
    text = function.source("ir")
    return [name for name in ("zero_grad", "disconnected_grad", "grad_clip", "grad_scale")
            if name in text]


@pytest.mark.parametrize("steer", [zero_grad, disconnected_grad])
def test_zero_and_disconnected_grad_values_and_gradients(steer):
    x = T.dmatrix("x")
    a = RNG.normal(size=(3, 3))
    # (expression, its value, its gradient with the steered factor held constant)
    cases = [(x * steer(x), a * a, a), (x * steer(T.exp(x)), a * np.exp(a), np.exp(a)),
             (x ** 2 * steer(x), a ** 3, 2 * a ** 2)]
    for expression, value, gradient in cases:
        g = theon.function([x], theon.grad(expression.sum(), x))
        np.testing.assert_allclose(g(a), gradient)
        forward = theon.function([x], expression)
        np.testing.assert_allclose(forward(a), value)
        assert _gradient_ops(forward) == [] and _gradient_ops(g) == []
    f = theon.function([x], steer(x))  # the whole graph is the identity
    np.testing.assert_array_equal(f(a), a)


def test_zero_grad_keeps_the_path_connected_but_disconnected_grad_cuts_it():
    x = T.dmatrix("x")
    g = theon.grad(zero_grad(x).sum(), x)
    np.testing.assert_array_equal(theon.function([x], g, on_unused_input="ignore")(
        np.ones((2, 2))), np.zeros((2, 2)))
    with pytest.raises(DisconnectedInputError):
        theon.grad(disconnected_grad(x).sum(), x)
    theon.grad((x + disconnected_grad(x)).sum(), x)  # another path: no error
    a, b = T.dmatrix("a"), T.dmatrix("b")
    y = a + disconnected_grad(b)
    with pytest.raises(DisconnectedInputError):
        theon.grad(y.sum(), b)
    theon.grad(y.sum(), a)
    # the steered variable itself still gets its gradient
    d = disconnected_grad(x)
    g = theon.grad((d * 3).sum(), d)
    np.testing.assert_array_equal(theon.function([x], g, on_unused_input="ignore")(
        np.ones((2, 2))), np.full((2, 2), 3.0))


def test_grad_clip_and_grad_scale():
    x = T.dscalar("x")
    clipped = theon.grad(grad_clip(x, -1, 1) ** 2, x)
    scaled = theon.grad(grad_scale(x, 2) ** 2, x)
    plain = theon.grad(x ** 2, x)
    f = theon.function([x], [clipped, scaled, plain])
    np.testing.assert_allclose(f(2.0), [1.0, 8.0, 4.0])
    np.testing.assert_allclose(f(0.25), [0.5, 1.0, 0.5])
    assert _gradient_ops(f) == []
    s = T.dscalar("s")
    g = theon.function([x, s], theon.grad(T.sin(grad_scale(x, s)), x))
    np.testing.assert_allclose(g(2.0, -1.0), -np.cos(2.0))
    v = T.fvector("v")
    g = theon.grad((grad_clip(v, -0.5, 0.5) * np.float32(3)).sum(), v)
    assert g.dtype == "float32"
    np.testing.assert_array_equal(theon.function([v], g)(np.ones(2, np.float32)), [0.5, 0.5])


def test_grad_clip_errors():
    x = T.dscalar("x")
    with pytest.raises(AssertionError, match=r"^grad_clip: upper_bound \(-1.0\) is smaller "
                       r"than lower_bound \(1.0\)$"):
        grad_clip(x, 1, -1)
    with pytest.raises(TypeError, match="grad_clip: the bounds must be numbers"):
        grad_clip(x, T.dscalar("low"), 1)


def test_consider_constant_is_deprecated_zero_grad():
    x = T.dscalar("x")
    with pytest.warns(UserWarning, match=r"^consider_constant\(\) is deprecated, use "
                      r"zero_grad\(\) or disconnected_grad\(\) instead\.$"):
        y = consider_constant(x)
    g = theon.function([x], theon.grad(y * x, x))
    assert g(3.0) == 3.0
    assert T.consider_constant is consider_constant


def test_canonicalize_removes_the_steering_ops_and_the_evaluator_runs_them():
    x = T.dvector("x")
    y = grad_clip(zero_grad(T.exp(disconnected_grad(x))), -1, 1) + grad_scale(x, 3.0)
    graph = ir.Graph((x.node,), (y.node,))
    value = np.array([0.0, 1.0])
    np.testing.assert_allclose(ir.evaluate(graph, [value])[0], np.exp(value) + value)
    cleaned = canonicalize(graph)
    assert not [n for n in cleaned.nodes() if isinstance(n.op, GradientOp)]
    assert cleaned.outputs[0] is (T.exp(x) + x).node or \
        cleaned.outputs[0] is (x + T.exp(x)).node


def test_grad_keeps_tuple_and_list_structure():
    x, y = T.dscalar("x"), T.dscalar("y")
    assert isinstance(theon.grad(x * y, (x, y)), tuple)
    assert isinstance(theon.grad(x * y, [x, y]), list)
    with pytest.raises(TypeError, match="wrt must not be a set"):
        theon.grad(x * y, {x, y})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theon.grad(x * y, [x, y])
