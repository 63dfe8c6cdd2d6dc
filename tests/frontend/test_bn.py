"""Batch normalisation (theano.tensor.nnet.bn) against the formulas Theano documents, in
numpy; gradients by central differences."""
import numpy as np
import pytest

import theon as theano
import theon.tensor as T
from theon.gradient import verify_grad
from theon.tensor.nnet import bn


@pytest.mark.parametrize("axes, reduced", [("per-activation", (0,)), ("spatial", (0, 2, 3)),
                                           ((0, 3), (0, 3))])
def test_train_statistics_and_running_averages(axes, reduced):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 2))
    kept = [n for axis, n in enumerate(x.shape) if axis not in reduced]
    gamma, beta, rmean, rvar = (rng.standard_normal(kept) for _ in range(4))
    xs = T.tensor4("x")
    params = [T.tensor("float64", shape=(None,) * len(kept)) for _ in range(4)]
    out = bn.batch_normalization_train(xs, params[0], params[1], axes=axes, epsilon=1e-3,
                                       running_average_factor=0.2, running_mean=params[2],
                                       running_var=params[3])
    got = theano.function([xs] + params, list(out))(x, gamma, beta, rmean, rvar)
    mean, var = x.mean(axis=reduced), x.var(axis=reduced)
    expand = lambda v: np.expand_dims(v, reduced)  # noqa: E731
    count = np.prod([x.shape[a] for a in reduced])
    expected = [(x - expand(mean)) * expand(gamma) / np.sqrt(expand(var) + 1e-3) +
                expand(beta), mean, 1 / np.sqrt(var + 1e-3), rmean * 0.8 + mean * 0.2,
                rvar * 0.8 + count / (count - 1) * var * 0.2]
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12)


def test_parameters_at_the_inputs_rank_keep_it():
    rng = np.random.default_rng(1)
    x, gamma, beta = rng.standard_normal((6, 4)), rng.standard_normal((1, 4)), \
        rng.standard_normal((1, 4))
    xs, gs, bs = T.matrix("x"), T.matrix("g"), T.matrix("b")
    out, mean, invstd = bn.batch_normalization_train(xs, gs, bs)
    assert mean.ndim == 2
    got = theano.function([xs, gs, bs], out)(x, gamma, beta)
    np.testing.assert_allclose(got, (x - x.mean(0)) * gamma / np.sqrt(x.var(0) + 1e-4) + beta)


def test_test_mode_and_the_plain_formula():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 4, 4))
    g, b, m = (rng.standard_normal(2) for _ in range(3))
    v = rng.random(2) + 0.5
    xs, gs, bs, ms, vs = T.tensor4("x"), T.vector("g"), T.vector("b"), T.vector("m"), \
        T.vector("v")
    shape = lambda a: a[None, :, None, None]  # noqa: E731
    expected = (x - shape(m)) * shape(g) / np.sqrt(shape(v) + 1e-4) + shape(b)
    got = theano.function([xs, gs, bs, ms, vs], bn.batch_normalization_test(
        xs, gs, bs, ms, vs, axes="spatial"))(x, g, b, m, v)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    column = lambda v: v.dimshuffle("x", 0, "x", "x")  # noqa: E731
    plain = T.nnet.batch_normalization(xs, column(gs), column(bs), column(ms),
                                       T.sqrt(column(vs) + 1e-4), mode="high_mem")
    np.testing.assert_allclose(theano.function([xs, gs, bs, ms, vs], plain)(x, g, b, m, v),
                               expected, rtol=1e-12)


def test_float32_stays_float32():
    xs, gs, bs = T.matrix("x", dtype="float32"), T.vector("g", dtype="float32"), \
        T.vector("b", dtype="float32")
    assert all(v.dtype == "float32" for v in bn.batch_normalization_train(xs, gs, bs))


def test_gradients():
    rng = np.random.RandomState(3)
    verify_grad(lambda x, g, b: bn.batch_normalization_train(x, g, b, axes="spatial")[0] ** 2,
                [rng.uniform(-1, 1, (3, 2, 2, 3)), rng.uniform(-1, 1, 2),
                 rng.uniform(-1, 1, 2)], rng=rng)


@pytest.mark.parametrize("call, message", [
    (lambda x, v: bn.batch_normalization_train(x, v, v, axes="channels"),
     r"batch_normalization_train: axes must be 'per-activation', 'spatial' or a tuple of "
     r"ints; got 'channels'"),
    (lambda x, v: bn.batch_normalization_train(x, v, v, axes=(0, 4)),
     r"batch_normalization_train: axes \(0, 4\) are out of range for inputs of rank 4"),
    (lambda x, v: bn.batch_normalization_train(x, v, v, epsilon=1e-6),
     r"batch_normalization_train: epsilon must be at least 1e-5; got 1e-06"),
    (lambda x, v: bn.batch_normalization_train(x, v, v, running_mean=v),
     r"batch_normalization_train: give both running_mean and running_var, or neither"),
    (lambda x, v: bn.batch_normalization_train(x, v, T.matrix("b")),
     r"batch_normalization_train: beta has rank 2; expected 3 \(the non-normalised axes\) "
     r"or 4 \(the inputs'\), the same for every parameter"),
    (lambda x, v: T.nnet.batch_normalization(x, x, x, x, x, mode="fast"),
     r"batch_normalization: mode must be 'low_mem' or 'high_mem'; got 'fast'"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match="^" + message + "$"):
        call(T.tensor4("x"), T.tensor3("v"))
