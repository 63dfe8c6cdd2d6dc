"""theon.grad: Theano 1.0's reverse-mode gradient, checked against central differences."""
import warnings

import numpy as np
import pytest

import theon
import theon.tensor as T
from _numeric import numeric_gradient  # beside this file
from theon.gradient import DisconnectedInputError, verify_grad

RNG = np.random.default_rng(0)


def check_unary(function, values, rtol=1e-6, atol=1e-8):
    x = T.dvector("x")
    cost = function(x).sum()
    f = theon.function([x], cost)
    g = theon.function([x], theon.grad(cost, x))
    got = g(values)
    np.testing.assert_allclose(got, numeric_gradient(lambda v: float(f(v)), values),
                               rtol=rtol, atol=atol)


POSITIVE = np.array([0.3, 0.7, 1.5, 2.5])
UNIT = np.array([-0.8, -0.3, 0.2, 0.6])
ANY = np.array([-2.1, -0.4, 0.3, 1.7])

UNARY = {
    "neg": ANY, "abs": ANY, "sqr": ANY, "sqrt": POSITIVE, "exp": ANY, "exp2": ANY,
    "expm1": ANY, "log": POSITIVE, "log2": POSITIVE, "log10": POSITIVE, "log1p": POSITIVE,
    "sin": ANY, "cos": ANY, "tan": UNIT, "arcsin": UNIT, "arccos": UNIT, "arctan": ANY,
    "sinh": ANY, "cosh": ANY, "tanh": ANY, "arcsinh": ANY, "arccosh": POSITIVE + 1.2,
    "arctanh": UNIT, "erf": ANY, "erfc": ANY, "sigmoid": ANY, "softplus": ANY,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_matches_central_differences(name):
    check_unary(getattr(T, name), UNARY[name])


BINARY = {
    "add": (ANY, POSITIVE), "sub": (ANY, POSITIVE), "mul": (ANY, POSITIVE),
    "true_div": (ANY, POSITIVE), "pow": (POSITIVE, ANY), "arctan2": (ANY, POSITIVE),
    "maximum": (ANY, ANY[::-1] + 0.05), "minimum": (ANY, ANY[::-1] + 0.05),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient_matches_central_differences(name):
    a_values, b_values = BINARY[name]
    a, b = T.dvector("a"), T.dvector("b")
    cost = getattr(T, name)(a, b).sum()
    f = theon.function([a, b], cost)
    ga, gb = theon.function([a, b], theon.grad(cost, [a, b]))(a_values, b_values)
    np.testing.assert_allclose(ga, numeric_gradient(lambda v: float(f(v, b_values)),
                                                    a_values), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, numeric_gradient(lambda v: float(f(a_values, v)),
                                                    b_values), rtol=1e-6, atol=1e-8)


def test_clip_gradient_goes_to_x_inside_and_to_the_bound_outside():
    x, low, high = T.dvector("x"), T.dscalar("low"), T.dscalar("high")
    cost = (T.clip(x, low, high) * np.array([1.0, 2.0, 3.0])).sum()
    g = theon.function([x, low, high], theon.grad(cost, [x, low, high]))
    gx, glow, ghigh = g(np.array([-5.0, 0.5, 5.0]), -1.0, 1.0)
    np.testing.assert_array_equal(gx, [0.0, 2.0, 0.0])
    assert glow == 1.0 and ghigh == 3.0


def test_zero_gradient_ops():
    x = T.dvector("x")
    for function in (T.floor, T.ceil, T.round, T.sgn, lambda v: T.cast(v > 0, "float64")):
        g = theon.function([x], theon.grad(function(x).sum(), x))(ANY)
        np.testing.assert_array_equal(g, np.zeros(4))


def test_cast_gradient_is_cast_back():
    x = T.fvector("x")
    g = theon.grad((T.cast(x, "float64") ** 2).sum(), x)
    assert g.dtype == "float32"
    value = np.array([1.0, 2.0], dtype=np.float32)
    np.testing.assert_allclose(theon.function([x], g)(value), 2 * value)


def test_switch_never_propagates_nan_from_the_untaken_branch():
    x = T.dvector("x")
    cost = T.switch(x > 0, T.sqrt(x), 0).sum()
    g = theon.function([x], theon.grad(cost, x))(np.array([-1.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 0.25])
    cost = T.switch(x < 0, 0, T.log(x) * 3).sum()
    g = theon.function([x], theon.grad(cost, x))(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.5])


def test_switch_gradient_and_condition():
    x, y = T.dvector("x"), T.dvector("y")
    cost = (T.switch(x > y, x * 2, y * 3)).sum()
    gx, gy = theon.function([x, y], theon.grad(cost, [x, y]))(
        np.array([1.0, -1.0]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(gx, [2.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 3.0])


def test_broadcast_operands_get_summed_gradients():
    m, r, c, s = T.dmatrix("m"), T.drow("r"), T.dcol("c"), T.dscalar("s")
    v = T.dvector("v")
    cost = (m * r * c * s + v).sum()
    grads = theon.grad(cost, [m, r, c, s, v])
    for g, var in zip(grads, [m, r, c, s, v]):
        assert g.broadcastable == var.broadcastable and g.dtype == var.dtype
    values = [RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3)), RNG.normal(size=(2, 1)),
              1.5, RNG.normal(size=3)]
    gm, gr, gc, gs, gv = theon.function([m, r, c, s, v], grads)(*values)
    mv, rv, cv, sv, _ = values
    np.testing.assert_allclose(gm, rv * cv * sv)
    np.testing.assert_allclose(gr, (mv * cv * sv).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(gc, (mv * rv * sv).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(gs, (mv * rv * cv).sum())
    np.testing.assert_allclose(gv, np.full(3, 2.0))


def test_gradient_of_a_broadcast_input_has_its_full_shape():
    x = T.dvector("x")
    g = theon.function([x], theon.grad(T.sum(x) * 0 + 3 * x.sum(), x))(np.ones(4))
    np.testing.assert_array_equal(g, np.full(4, 3.0))


@pytest.mark.parametrize("reduction,axis,keepdims", [
    ("sum", None, False), ("sum", 1, False), ("sum", 0, True), ("prod", 1, False),
    ("max", 1, False), ("min", 0, True), ("mean", None, False), ("mean", 1, True),
    ("var", 1, False), ("std", None, False)])
def test_reduction_gradients(reduction, axis, keepdims):
    x = T.dmatrix("x")
    kwargs = {} if reduction in ("var", "std") else {"keepdims": keepdims}
    out = getattr(T, reduction)(x, axis=axis, **kwargs)
    cost = (out * T.cos(out)).sum()  # a gradient that differs between elements
    f = theon.function([x], cost)
    value = RNG.permutation(12).reshape(3, 4) * 0.37 + 0.5  # distinct: no ties for max
    got = theon.function([x], theon.grad(cost, x))(value)
    np.testing.assert_allclose(got, numeric_gradient(lambda v: float(f(v)), value),
                               rtol=1e-6, atol=1e-8)


def test_max_gradient_goes_to_every_maximum():
    x = T.dvector("x")
    g = theon.function([x], theon.grad(T.max(x), x))(np.array([1.0, 3.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])


def test_second_derivatives():
    x = T.dscalar("x")
    first = theon.grad(x ** 3, x)
    second = theon.grad(first, x)
    third = theon.grad(second, x)
    f = theon.function([x], [first, second, third])
    np.testing.assert_allclose(f(2.0), [12.0, 12.0, 6.0])
    v = T.dvector("v")
    hessian_diag = theon.grad(theon.grad(T.sum(T.sin(v) * v), v).sum(), v)
    values = np.array([0.3, 1.2])
    np.testing.assert_allclose(theon.function([v], hessian_diag)(values),
                               2 * np.cos(values) - values * np.sin(values))


def test_float32_stays_float32():
    x = T.fvector("x")
    g = theon.grad((T.exp(x) * 0.5 + x ** 2).sum(), x)
    assert g.dtype == "float32"
    out = theon.function([x], g)(np.array([0.0, 1.0], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 0.5 * np.exp([0.0, 1.0]) + 2 * np.array([0.0, 1.0]),
                               rtol=1e-6)


def test_integer_inputs_get_zero_gradients():
    x, i = T.dvector("x"), T.ivector("i")
    gx, gi = theon.grad((x * i).sum(), [x, i])
    assert gx.dtype == "float64"
    assert gi.dtype == theon.config.floatX
    out_x, out_i = theon.function([x, i], [gx, gi])(np.array([1.0, 2.0]),
                                                    np.array([3, 4], dtype=np.int32))
    np.testing.assert_array_equal(out_x, [3.0, 4.0])
    np.testing.assert_array_equal(out_i, [0.0, 0.0])


def test_wrt_structure():
    x, y = T.dscalar("x"), T.dscalar("y")
    assert isinstance(theon.grad(x * y, x), theon.Variable)
    assert isinstance(theon.grad(x * y, [x]), list)
    assert len(theon.grad(x * y, (x, y))) == 2
    assert theon.tensor.grad is theon.grad and theon.gradient.grad is theon.grad


def test_cost_must_be_a_scalar():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"^cost must be a scalar\.$"):
        theon.grad(x * 2, x)


DISCONNECTED = ("grad method was asked to compute the gradient with respect to a variable "
                "that is not part of the computational graph of the cost, or is used only "
                "by a non-differentiable operator: y")


def test_disconnected_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    cost = x.sum()
    with pytest.raises(DisconnectedInputError) as error:
        theon.grad(cost, [x, y])
    assert str(error.value) == DISCONNECTED
    assert isinstance(error.value, ValueError)
    with pytest.warns(UserWarning) as record:
        gx, gy = theon.grad(cost, [x, y], disconnected_inputs="warn")
    assert str(record[0].message) == DISCONNECTED
    np.testing.assert_array_equal(theon.function([y], gy)(np.ones(3)), np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, gy = theon.grad(cost, [x, y], disconnected_inputs="ignore",
                           return_disconnected="None")
    assert gy is None
    with pytest.raises(ValueError, match="disconnected_inputs"):
        theon.grad(cost, x, disconnected_inputs="bogus")


def test_consider_constant():
    x = T.dscalar("x")
    y = x * x
    cost = y * x
    g = theon.function([x], theon.grad(cost, x, consider_constant=[y]))
    assert g(3.0) == 9.0
    with pytest.raises(DisconnectedInputError):
        theon.grad(y * 2, x, consider_constant=[y])


def test_gradient_with_respect_to_an_intermediate_variable():
    x = T.dvector("x")
    h = T.exp(x)
    cost = (h * 3).sum() + T.log(1 + h).sum()
    g = theon.function([x], theon.grad(cost, h))(np.array([0.0, 1.0]))
    np.testing.assert_allclose(g, 3 + 1 / (1 + np.exp([0.0, 1.0])))


def test_known_grads():
    x = T.dvector("x")
    h = x * x
    g = theon.grad(None, x, known_grads={h: T.constant(np.array([1.0, 10.0]))})
    np.testing.assert_allclose(theon.function([x], g)(np.array([2.0, 3.0])), [4.0, 60.0])
    # added to the gradient flowing from the cost
    g = theon.grad(x.sum(), x, known_grads={h: T.ones_like(x)})
    np.testing.assert_allclose(theon.function([x], g)(np.array([2.0, 3.0])), [5.0, 7.0])


def test_shared_variable_and_logistic_regression_step():
    rng = np.random.default_rng(3)
    data, labels = rng.normal(size=(20, 4)), rng.integers(0, 3, 20)
    x, y = T.dmatrix("x"), T.lvector("y")
    W = theon.shared(np.zeros((4, 3)), name="W")
    b = theon.shared(np.zeros(3), name="b")
    probabilities = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(probabilities)[T.arange(y.shape[0]), y])
    gW, gb = theon.grad(cost, [W, b])
    train = theon.function([x, y], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)])
    costs = [float(train(data, labels)) for _ in range(30)]
    assert costs[0] == pytest.approx(np.log(3))
    assert costs[-1] < costs[0] - 0.1
    assert all(later <= earlier + 1e-12 for earlier, later in zip(costs, costs[1:]))


def test_dot_shape_and_indexing_gradients():
    verify = dict(rng=np.random.RandomState(1))
    a, b = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))
    verify_grad(T.dot, [a, b], **verify)
    verify_grad(T.dot, [a[0], b], **verify)
    verify_grad(T.dot, [a, b[:, 0]], **verify)
    verify_grad(T.dot, [a[0], b[:, 0]], **verify)
    verify_grad(lambda m: m.dimshuffle(1, "x", 0), [a], **verify)
    verify_grad(lambda m: m.reshape((2, 6)), [a], **verify)
    verify_grad(lambda m: m[1:, ::2] * m[0, 1], [a], **verify)
    verify_grad(lambda m: m[[0, 0, 2], [1, 1, 3]], [a], **verify)
    verify_grad(lambda m, v: T.set_subtensor(m[1], v), [a, RNG.normal(size=4)], **verify)
    verify_grad(lambda m, v: T.inc_subtensor(m[:, 1:3], v), [a, RNG.normal(size=2)],
                **verify)


def test_verify_grad_passes_and_detects_a_wrong_gradient():
    from theon.gradient import GradientError
    verify_grad(lambda v: T.sin(v) * T.exp(v), [np.array([0.1, 0.5])])
    # floor's symbolic gradient is 0, but a step of 1e-2 crosses its jumps
    with pytest.raises(AssertionError, match="differs from central differences"):
        verify_grad(lambda v: T.floor(v * 100) / 100 + v, [np.array([0.101, 0.5])],
                    eps=1e-2, abs_tol=1e-6, rel_tol=1e-6)
    assert issubclass(GradientError, AssertionError)


def test_deep_graph_does_not_recurse():
    x = T.dscalar("x")
    y = x
    for _ in range(5000):
        y = T.sin(y) * 1.0001
    assert theon.grad(y, x).ndim == 0
