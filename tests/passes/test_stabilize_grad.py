"""Gradients of the stabilised losses: ``theon.grad`` runs the stabilize pass on the cost
before differentiating, so the gradients of log(sigmoid), binary and categorical
cross-entropy of a sigmoid or a softmax are exact (mpmath, 60 digits) for logits up to 1e4,
where the gradients of the unstable forms are nan or inf."""
import mpmath
import numpy as np
import pytest

theon = pytest.importorskip("theon")
if not hasattr(theon, "grad"):
    pytest.skip("theon.grad not available yet", allow_module_level=True)

import theon.tensor as T  # noqa: E402

mpmath.mp.dps = 60
nnet = T.nnet
LOGITS = np.array([-1e4, -800.0, -40.0, -3.0, -1e-8, 0.0, 2e-3, 1.0, 37.0, 800.0, 1e4])


def exact_sigmoid(z):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(float(z))))


def assert_close(got, expected, rtol=1e-12, atol=1e-300):
    got = np.asarray(got)
    assert np.all(np.isfinite(got)), got
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def exact_softmax(row):
    row = [mpmath.mpf(float(v)) for v in row]
    total = sum(mpmath.exp(v) for v in row)
    return [mpmath.exp(v) / total for v in row]


@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("loss", ["binary_crossentropy", "sigmoid_binary_crossentropy"])
def test_binary_crossentropy_gradient_is_sigmoid_minus_target(target, loss):
    z, t = T.dvector("z"), T.dvector("t")
    if loss == "binary_crossentropy":
        cost = nnet.binary_crossentropy(nnet.sigmoid(z), t).sum()
    else:
        cost = nnet.sigmoid_binary_crossentropy(z, t).sum()
    f = theon.function([z, t], theon.grad(cost, z))
    targets = np.full_like(LOGITS, target)
    expected = [float(exact_sigmoid(v) - mpmath.mpf(target)) for v in LOGITS]
    assert_close(f(LOGITS, targets), expected)


def test_log_sigmoid_gradients():
    z = T.dvector("z")
    f = theon.function([z], [theon.grad(T.log(nnet.sigmoid(z)).sum(), z),
                             theon.grad(T.log(1 - nnet.sigmoid(z)).sum(), z)])
    low, high = f(LOGITS)
    assert_close(low, [float(1 - exact_sigmoid(v)) for v in LOGITS])
    assert_close(high, [float(-exact_sigmoid(v)) for v in LOGITS])


def _nll_costs(x, y):
    rows = T.arange(x.shape[0])
    return {
        "log-then-index": -T.mean(T.log(nnet.softmax(x))[rows, y]),
        "index-then-log": -T.mean(T.log(nnet.softmax(x)[rows, y])),
        "categorical": T.mean(nnet.categorical_crossentropy(nnet.softmax(x), y)),
        "one-hot": T.mean(nnet.categorical_crossentropy(
            nnet.softmax(x), T.eq(T.arange(x.shape[1]).dimshuffle("x", 0),
                                  y.dimshuffle(0, "x")))),
    }


@pytest.mark.parametrize("form", ["log-then-index", "index-then-log", "categorical",
                                  "one-hot"])
def test_negative_log_likelihood_gradient_is_softmax_minus_one_hot(form):
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = _nll_costs(x, y)[form]
    f = theon.function([x, y], [cost, theon.grad(cost, x)])
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 9e3], [3.0, 2.0, 1.0],
                       [-1e4, -1e4 + 1, -1e4 + 2]])
    labels = np.array([1, 0, 2, 2])
    n = len(labels)
    value, gradient = f(logits, labels)
    expected_value, expected_gradient = mpmath.mpf(0), []
    for row, label in zip(logits, labels):
        probabilities = exact_softmax(row)
        expected_value -= mpmath.log(probabilities[label]) / n
        expected_gradient.append([float((p - (k == label)) / n)
                                  for k, p in enumerate(probabilities)])
    assert_close(value, float(expected_value))
    # where p is close to 1, p - 1 cancels: absolute accuracy about an ulp of 1/n
    assert_close(gradient, expected_gradient, atol=1e-16)


def test_naive_log_sum_exp_gradient_is_the_softmax():
    x = T.dmatrix("x")
    f = theon.function([x], theon.grad(T.log(T.sum(T.exp(x), axis=1)).sum(), x))
    logits = np.array([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 + 3]])
    expected = [[float(p) for p in exact_softmax(row)] for row in logits]
    assert_close(f(logits), expected)


def test_log1p_and_expm1_gradients():
    x = T.dvector("x")
    f = theon.function([x], [theon.grad(T.log(1 + x).sum(), x),
                             theon.grad((T.exp(x) - 1).sum(), x)])
    values = np.array([-0.5, -1e-20, 0.0, 1e-20, 3.0])
    log1p, expm1 = f(values)
    assert_close(log1p, 1 / (1 + values), rtol=1e-15)
    assert_close(expm1, np.exp(values), rtol=1e-15)


def test_float32_softmax_loss_gradient_is_finite():
    x, y = T.fmatrix("x"), T.ivector("y")
    cost = T.mean(nnet.categorical_crossentropy(nnet.softmax(x), y))
    f = theon.function([x, y], theon.grad(cost, x))
    logits = np.array([[1e4, -1e4, 0.0], [50.0, -50.0, 100.0]], dtype=np.float32)
    gradient = f(logits, np.array([1, 0], np.int32))
    assert gradient.dtype == np.float32
    expected = [[0.5, -0.5, 0.0], [-0.5, 0.0, 0.5]]
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


def test_gradient_matches_finite_differences_along_a_direction():
    """<J v, u> from central differences equals <v, J^T u> from theon.grad."""
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = T.mean(nnet.categorical_crossentropy(nnet.softmax(x), y)) + \
        nnet.binary_crossentropy(nnet.sigmoid(x), 0.25).sum()
    f = theon.function([x, y], cost)
    g = theon.function([x, y], theon.grad(cost, x))
    rng = np.random.default_rng(7)
    point, direction = rng.normal(scale=3, size=(5, 4)), rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, 5)
    step = 1e-6
    numeric = (f(point + step * direction, labels) - f(point - step * direction, labels)) \
        / (2 * step)
    analytic = np.sum(g(point, labels) * direction)
    np.testing.assert_allclose(numeric, analytic, rtol=1e-7)


# ---- the shift by the maximum carries no gradient ------------------------------------------

def _logistic_regression_step():
    x, y = T.dmatrix("x"), T.ivector("y")
    W = theon.shared(np.zeros((6, 4)), name="W")
    b = theon.shared(np.zeros(4), name="b")
    p = nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW, gb = theon.grad(cost, [W, b])
    return theon.function([x, y], cost, updates=[(W, W - 0.1 * gW), (b, b - 0.1 * gb)])


@pytest.mark.parametrize("build", [
    lambda x: T.sum(nnet.softmax(x) * np.arange(5.0)),
    lambda x: T.sum(T.log(nnet.softmax(x))[:, 1]),
    lambda x: T.sum(T.logsumexp(x, axis=1)),
    lambda x: T.sum(T.log(T.sum(T.exp(x), axis=1))),   # shifted by the stabilize pass
], ids=["softmax", "log-softmax", "logsumexp", "log-sum-exp-by-hand"])
def test_gradient_does_not_differentiate_the_maximum(build):
    """The softmax family does not depend on its shift m = max(x): its gradient must not
    go through the max (whose own gradient compares x with m elementwise)."""
    x = T.dmatrix("x")
    g = theon.function([x], theon.grad(build(x), x))
    assert " eq(" not in g.source("ir")
    value = np.random.default_rng(0).standard_normal((3, 5)) * 30
    theon.gradient.verify_grad(lambda v: build(v), [value], rng=np.random.RandomState(0))


def test_logistic_regression_step_kernel_count():
    """Forward, backward and both updates of the tutorial's NLL step in 13 kernels: forward
    5 (row max, shifted logits, sum of exponentials, its log, log-probabilities with the
    zeros the one-hot gradient starts from), the mean of the picked ones 2, backward 4 (row
    sums of the one-hot gradient, a division, the logits' gradient, the bias gradient's
    column sum) and the two updates.  Differentiating through the max took 3 more, and
    filling the one-hot entries before scattering them 1 more."""
    step = _logistic_regression_step()
    assert step.report.kernels <= 13, step.source("ir")
