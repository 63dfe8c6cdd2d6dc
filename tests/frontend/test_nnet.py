"""theon.tensor.nnet: values against numpy (and mpmath where the naive formula fails),
dtypes, Theano's semantics for the losses' targets, and the messages of bad inputs."""
import math

import mpmath
import numpy as np
import pytest

import theon
import theon.tensor as T

mpmath.mp.dps = 60
nnet = T.nnet
RNG = np.random.default_rng(1234)


def compiled(inputs, outputs):
    return theon.function(inputs, outputs)


def np_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=axis, keepdims=True)


def np_logsoftmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def theano_ultra_fast_sigmoid(x):
    """Theano 1.0's UltraFastScalarSigmoid.st_impl, for one value."""
    x = 0.5 * x
    size = abs(x)
    if size < 1.7:
        z = 1.5 * size / (1 + size)
    elif size < 3:
        z = 0.935409070603099 + 0.0458812946797165 * (size - 1.7)
    else:
        z = 0.99505475368673
    return 0.5 * ((z if x >= 0 else -z) + 1.0)


# ---- softmax ------------------------------------------------------------------------------

def test_softmax_of_a_vector_is_a_vector():
    v = T.dvector("v")
    f = compiled([v], [nnet.softmax(v), nnet.logsoftmax(v)])
    values = np.array([1.0, 2.0, 3.0, -1e4, 1e4])
    softmax, logsoftmax = f(values)
    assert softmax.shape == (5,)
    np.testing.assert_allclose(softmax, np_softmax(values), rtol=1e-15)
    np.testing.assert_allclose(logsoftmax, np_logsoftmax(values), rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_of_a_matrix_is_row_wise(dtype):
    x = T.matrix("x", dtype=dtype)
    f = compiled([x], [nnet.softmax(x), nnet.logsoftmax(x), nnet.softmax_graph(x),
                       nnet.softmax(x, axis=0)])
    values = RNG.normal(scale=4, size=(5, 7)).astype(dtype)
    rtol = 1e-14 if dtype == "float64" else 2e-6
    softmax, logsoftmax, graph, columns = f(values)
    assert softmax.dtype == dtype
    np.testing.assert_allclose(softmax, np_softmax(values), rtol=rtol)
    np.testing.assert_allclose(logsoftmax, np_logsoftmax(values), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(graph, np_softmax(values), rtol=rtol)
    np.testing.assert_allclose(columns, np_softmax(values, axis=0), rtol=rtol)


def test_softmax_is_exact_for_huge_logits():
    x = T.dmatrix("x")
    f = compiled([x], [nnet.softmax(x), nnet.softmax_graph(x), nnet.logsoftmax(x)])
    values = np.array([[1e4, 1e4 - 2.0, -1e4], [-1e4, -1e4 + 1.0, -1e4 + 3.0]])
    expected, expected_log = [], []
    for row in values:
        total = mpmath.log(sum(mpmath.exp(mpmath.mpf(v)) for v in row))
        expected_log.append([float(mpmath.mpf(v) - total) for v in row])
        expected.append([float(mpmath.exp(mpmath.mpf(v) - total)) for v in row])
    softmax, graph, logsoftmax = f(values)
    for got in (softmax, graph):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(logsoftmax, expected_log, rtol=1e-14)


def test_softmax_with_bias():
    x, b = T.dmatrix("x"), T.dvector("b")
    f = compiled([x, b], nnet.softmax_with_bias(x, b))
    values, bias = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    np.testing.assert_allclose(f(values, bias), np_softmax(values + bias), rtol=1e-14)


def test_softmax_errors():
    with pytest.raises(TypeError, match=r"^softmax: input 0 \(c\) is a scalar; expected a "
                                        r"tensor of rank >= 1$"):
        nnet.softmax(T.dscalar("s"))
    with pytest.raises(ValueError, match=r"^softmax_with_bias: input 1 \(b 'bias'\) has "
                                         r"rank 2; expected 1$"):
        nnet.softmax_with_bias(T.dmatrix("x"), T.dmatrix("bias"))
    with pytest.raises(ValueError, match=r"^softmax_with_bias: input 0 \(x\) has rank 1"):
        nnet.softmax_with_bias(T.dvector(), T.dvector())


# ---- the sigmoid family -------------------------------------------------------------------

@pytest.mark.parametrize("dtype, out", [("float64", "float64"), ("float32", "float32"),
                                        ("int32", "float64"), ("int8", "float32")])
def test_sigmoid_family_values_and_dtypes(dtype, out):
    x = T.vector("x", dtype=dtype)
    functions = [nnet.hard_sigmoid, nnet.ultra_fast_sigmoid, nnet.softsign, nnet.elu,
                 nnet.selu]
    f = compiled([x], [function(x) for function in functions])
    if dtype.startswith("float"):
        values = np.concatenate([np.linspace(-8, 8, 161), [-1e4, 1e4, 0.0]]).astype(dtype)
    else:
        values = np.arange(-100, 101, dtype=dtype)
    results = f(values)
    assert [r.dtype for r in results] == [out] * len(functions)
    wide = values.astype(np.float64)
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    tail = np.expm1(np.minimum(wide, 0))
    expected = [np.clip(0.2 * wide + 0.5, 0, 1),
                np.array([theano_ultra_fast_sigmoid(v) for v in wide]),
                wide / (1 + np.abs(wide)),
                np.where(wide > 0, wide, tail),
                scale * np.where(wide > 0, wide, alpha * tail)]
    rtol = 1e-14 if out == "float64" else 2e-6
    for name, got, want in zip(["hard", "ultra", "softsign", "elu", "selu"], results,
                               expected):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=name)


def test_ultra_fast_sigmoid_approximates_the_sigmoid():
    x = T.dvector("x")
    values = np.linspace(-20, 20, 4001)
    got = compiled([x], nnet.ultra_fast_sigmoid(x))(values)
    assert np.max(np.abs(got - 1 / (1 + np.exp(-values)))) < 0.028
    # Theano's pieces do not meet at |x| = 3.4 (0.9722, then 0.9677): kept as Theano has them
    jumps = np.flatnonzero(np.diff(got) < 0)
    assert np.all(np.abs(np.abs(values[jumps]) - 3.4) < 0.02)


def test_hard_sigmoid_endpoints():
    x = T.dvector("x")
    got = compiled([x], nnet.hard_sigmoid(x))(np.array([-3.0, -2.5, 0.0, 2.5, 3.0]))
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.5, 1.0, 1.0])


# ---- binary cross-entropy -----------------------------------------------------------------

def test_binary_crossentropy_matches_the_formula():
    p, t = T.dvector("p"), T.dvector("t")
    f = compiled([p, t], nnet.binary_crossentropy(p, t))
    probabilities, targets = RNG.uniform(0.01, 0.99, 20), RNG.uniform(0, 1, 20)
    expected = -(targets * np.log(probabilities) + (1 - targets) * np.log(1 - probabilities))
    np.testing.assert_allclose(f(probabilities, targets), expected, rtol=1e-14)


def test_binary_crossentropy_broadcasts_and_takes_integer_targets():
    p, t = T.dmatrix("p"), T.ivector("t")
    f = compiled([p, t], nnet.binary_crossentropy(p, t))
    probabilities, targets = RNG.uniform(0.01, 0.99, (3, 4)), np.array([0, 1, 1, 0], np.int32)
    expected = -(targets * np.log(probabilities) + (1 - targets) * np.log(1 - probabilities))
    np.testing.assert_allclose(f(probabilities, targets), expected, rtol=1e-14)


def _exact_logistic_loss(z, t):
    z, t = mpmath.mpf(float(z)), mpmath.mpf(float(t))
    return float(t * mpmath.log1p(mpmath.exp(-z)) + (1 - t) * mpmath.log1p(mpmath.exp(z)))


LOGITS = np.array([-1e4, -745.0, -40.0, -3.0, -1e-8, 0.0, 2e-3, 1.0, 37.0, 710.0, 1e4])


@pytest.mark.parametrize("target", [0.0, 1.0, 0.25])
def test_sigmoid_binary_crossentropy_is_exact(target):
    z, t = T.dvector("z"), T.dvector("t")
    f = compiled([z, t], [nnet.sigmoid_binary_crossentropy(z, t),
                          nnet.binary_crossentropy(nnet.sigmoid(z), t)])
    targets = np.full_like(LOGITS, target)
    expected = np.array([_exact_logistic_loss(a, b) for a, b in zip(LOGITS, targets)])
    for got in f(LOGITS, targets):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-320)


def test_sigmoid_binary_crossentropy_float32():
    z, t = T.fvector("z"), T.fvector("t")
    got = compiled([z, t], nnet.sigmoid_binary_crossentropy(z, t))(
        LOGITS.astype(np.float32), np.full(LOGITS.shape, 0.5, np.float32))
    assert got.dtype == np.float32
    expected = [_exact_logistic_loss(a, 0.5) for a in LOGITS.astype(np.float32)]
    np.testing.assert_allclose(got, expected, rtol=2e-6)


# ---- categorical cross-entropy ------------------------------------------------------------

@pytest.mark.parametrize("label_dtype", ["int32", "int64", "uint8", "int8"])
def test_categorical_crossentropy_with_class_indices(label_dtype):
    p, y = T.dmatrix("p"), T.vector("y", dtype=label_dtype)
    f = compiled([p, y], [nnet.categorical_crossentropy(p, y),
                          nnet.crossentropy_categorical_1hot(p, y)])
    probabilities = np_softmax(RNG.normal(size=(6, 4)))
    labels = np.array([0, 3, 1, 1, 2, 3], dtype=label_dtype)
    expected = -np.log(probabilities[np.arange(6), labels])
    for got in f(probabilities, labels):
        np.testing.assert_allclose(got, expected, rtol=1e-14)


@pytest.mark.parametrize("target_dtype", ["float64", "int32", "int8"])
def test_categorical_crossentropy_with_distributions(target_dtype):
    p, t = T.dmatrix("p"), T.matrix("t", dtype=target_dtype)
    f = compiled([p, t], nnet.categorical_crossentropy(p, t))
    probabilities = np_softmax(RNG.normal(size=(5, 3)))
    labels = RNG.integers(0, 3, 5)
    one_hot = np.eye(3, dtype=target_dtype)[labels]
    expected = -np.sum(one_hot * np.log(probabilities), axis=1)
    np.testing.assert_allclose(f(probabilities, one_hot), expected, rtol=1e-14)
    if target_dtype == "float64":
        soft = np_softmax(RNG.normal(size=(5, 3)))
        np.testing.assert_allclose(f(probabilities, soft),
                                   -np.sum(soft * np.log(probabilities), axis=1), rtol=1e-14)


def test_categorical_crossentropy_of_softmax_is_exact_for_huge_logits():
    x, y, t = T.dmatrix("x"), T.ivector("y"), T.dmatrix("t")
    f = compiled([x, y, t], [nnet.categorical_crossentropy(nnet.softmax(x), y),
                             nnet.categorical_crossentropy(nnet.softmax(x), t)])
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 9e3], [-1e4, -1e4 + 5, -1e4]])
    labels = np.array([1, 2, 0], np.int32)
    expected = []
    for row, label in zip(logits, labels):
        total = mpmath.log(sum(mpmath.exp(mpmath.mpf(v)) for v in row))
        expected.append(float(total - mpmath.mpf(row[label])))
    by_index, by_one_hot = f(logits, labels, np.eye(3)[labels])
    np.testing.assert_allclose(by_index, expected, rtol=1e-13)
    np.testing.assert_allclose(by_one_hot, expected, rtol=1e-13)


def test_categorical_crossentropy_float32():
    x, y = T.fmatrix("x"), T.ivector("y")
    f = compiled([x, y], nnet.categorical_crossentropy(nnet.softmax(x), y).mean())
    logits = RNG.normal(scale=50, size=(8, 5)).astype(np.float32)
    labels = RNG.integers(0, 5, 8).astype(np.int32)
    got = f(logits, labels)
    assert got.dtype == np.float32
    expected = -np_logsoftmax(logits.astype(np.float64))[np.arange(8), labels].mean()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_categorical_crossentropy_errors():
    p = T.dmatrix("p")
    with pytest.raises(TypeError, match=r"^categorical_crossentropy: input 1 \(true_dist "
                                        r"'y3'\) has rank 3; expected 2 \(distributions, "
                                        r"like coding_dist\) or 1 \(integer class "
                                        r"indices\)$"):
        nnet.categorical_crossentropy(p, T.dtensor3("y3"))
    with pytest.raises(TypeError, match=r"^categorical_crossentropy: input 1 \(true_dist "
                                        r"'labels'\) is a float64 tensor of rank 1; class "
                                        r"indices must be integers$"):
        nnet.categorical_crossentropy(p, T.dvector("labels"))
    with pytest.raises(TypeError, match=r"^categorical_crossentropy: input 0 \(coding_dist "
                                        r"'q'\) has rank 3; expected 2$"):
        nnet.categorical_crossentropy(T.dtensor3("q"), T.imatrix("y"))
    with pytest.raises(TypeError, match=r"^categorical_crossentropy: input 1 \(true_dist\) "
                                        r"has rank 0"):
        nnet.categorical_crossentropy(p, 1)


def test_crossentropy_categorical_1hot_errors():
    with pytest.raises(TypeError, match=r"^crossentropy_categorical_1hot: input 0 "
                                        r"\(coding_dist 'v'\) has rank 1; expected 2$"):
        nnet.crossentropy_categorical_1hot(T.dvector("v"), T.ivector("y"))
    with pytest.raises(TypeError, match=r"^crossentropy_categorical_1hot: input 1 "
                                        r"\(true_one_of_n 'y'\) is a float32 tensor of rank "
                                        r"1; expected an integer vector of class indices$"):
        nnet.crossentropy_categorical_1hot(T.dmatrix("p"), T.fvector("y"))


def test_label_out_of_range_raises_when_called():
    p, y = T.dmatrix("p"), T.ivector("y")
    f = compiled([p, y], nnet.categorical_crossentropy(p, y))
    with pytest.raises(IndexError, match="out of bounds"):
        f(np.full((2, 3), 1 / 3), np.array([0, 3], np.int32))


# ---- crossentropy_softmax_* ---------------------------------------------------------------

def test_crossentropy_softmax_1hot_family():
    x, b, y = T.dmatrix("x"), T.dvector("b"), T.ivector("y")
    nll, sm = nnet.crossentropy_softmax_1hot(x, y)
    nll_b, sm_b = nnet.crossentropy_softmax_1hot_with_bias(x, b, y)
    nll_a, sm_a, best = nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, y)
    f = compiled([x, b, y], [nll, sm, nll_b, sm_b, nll_a, sm_a, best])
    logits, bias = RNG.normal(scale=3, size=(6, 4)), RNG.normal(size=4)
    labels = RNG.integers(0, 4, 6).astype(np.int32)
    rows = np.arange(6)
    got = f(logits, bias, labels)
    np.testing.assert_allclose(got[0], -np_logsoftmax(logits)[rows, labels], rtol=1e-13)
    np.testing.assert_allclose(got[1], np_softmax(logits), rtol=1e-14)
    biased = logits + bias
    for index in (2, 4):
        np.testing.assert_allclose(got[index], -np_logsoftmax(biased)[rows, labels],
                                   rtol=1e-13)
        np.testing.assert_allclose(got[index + 1], np_softmax(biased), rtol=1e-14)
    assert got[6].dtype == np.int32
    np.testing.assert_array_equal(got[6], np.argmax(biased, axis=1))


def test_crossentropy_softmax_1hot_errors():
    with pytest.raises(ValueError, match=r"^crossentropy_softmax_1hot: input 0 \(x 'v'\) "
                                         r"has rank 1; expected 2$"):
        nnet.crossentropy_softmax_1hot(T.dvector("v"), T.ivector("y"))
    with pytest.raises(TypeError, match=r"^crossentropy_softmax_1hot_with_bias: input 2 "
                                        r"\(y_idx 'y'\) is a float64 tensor of rank 1"):
        nnet.crossentropy_softmax_1hot_with_bias(T.dmatrix("x"), T.dvector("b"),
                                                 T.dvector("y"))


# ---- the namespace ------------------------------------------------------------------------

THEANO_NAMES = ["sigmoid", "softplus", "softmax", "logsoftmax", "softmax_graph",
                "softmax_with_bias", "relu", "elu", "selu", "softsign", "hard_sigmoid",
                "ultra_fast_sigmoid", "binary_crossentropy", "sigmoid_binary_crossentropy",
                "categorical_crossentropy", "crossentropy_categorical_1hot",
                "crossentropy_softmax_1hot", "crossentropy_softmax_1hot_with_bias",
                "crossentropy_softmax_argmax_1hot_with_bias"]


@pytest.mark.parametrize("name", THEANO_NAMES)
def test_nnet_names_exist_with_docstrings(name):
    function = getattr(T.nnet, name)
    assert function.__doc__ and len(function.__doc__.strip()) > 10


def test_losses_are_finite_everywhere_in_float64():
    z, t = T.dvector("z"), T.dvector("t")
    f = compiled([z, t], nnet.binary_crossentropy(nnet.sigmoid(z), t))
    grid = np.concatenate([-np.logspace(-300, 4, 200), [0.0], np.logspace(-300, 4, 200)])
    for target in (0.0, 1.0, 0.5):
        got = f(grid, np.full_like(grid, target))
        assert np.all(np.isfinite(got)) and np.all(got >= 0)
        # target 1: the loss is softplus(-z), -z for z << 0
        if target == 1.0:
            assert math.isclose(got[grid == -1e4][0], 1e4, rel_tol=1e-15)
