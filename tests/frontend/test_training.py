"""Whole SGD epochs written the Theano-tutorial way (shared parameters, ``theon.grad``,
``updates``, ``givens`` slicing a shared dataset by an ``lscalar`` index) against a
hand-written numpy forward/backward/update of the same models (logistic regression, a tanh
MLP, a LeNet-style convnet), in float64; and ``theon demo``'s training part
(``theon.demo_training``)."""
import sys

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import demo_training

N_EXAMPLES, N_IN, N_HIDDEN, N_OUT, BATCH = 100, 64, 16, 10, 20
TOLERANCE = dict(rtol=1e-8, atol=1e-8)


def _data(seed=0):
    """Synthetic features in [0, 1) and labels that depend on them, so training has signal."""
    rng = np.random.RandomState(seed)
    data_x = rng.uniform(size=(N_EXAMPLES, N_IN))
    data_y = np.argmax(data_x @ rng.normal(size=(N_IN, N_OUT)), axis=1).astype(np.int64)
    return data_x, data_y


def _glorot(rng, n_in, n_out):
    bound = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(low=-bound, high=bound, size=(n_in, n_out))


def _softmax_cotangent(logits, labels):
    """d mean(-log softmax(logits)[i, labels[i]]) / d logits."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    probabilities[np.arange(len(labels)), labels] -= 1.0
    return probabilities / len(labels)


def _numpy_nll(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(len(labels)), labels])


def _numpy_logistic_step(params, xb, yb, lr):
    """One SGD step of logistic regression; returns (cost before the step, new params)."""
    W, b = params
    logits = xb @ W + b
    cotangent = _softmax_cotangent(logits, yb)
    return _numpy_nll(logits, yb), [W - lr * xb.T @ cotangent, b - lr * cotangent.sum(axis=0)]


def _numpy_mlp_step(params, xb, yb, lr, l2):
    """One SGD step of the tanh MLP with an L2 penalty on both weight matrices."""
    W1, b1, W2, b2 = params
    hidden = np.tanh(xb @ W1 + b1)
    logits = hidden @ W2 + b2
    cost = _numpy_nll(logits, yb) + l2 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    d_logits = _softmax_cotangent(logits, yb)
    d_pre = (d_logits @ W2.T) * (1.0 - hidden ** 2)
    gradients = [xb.T @ d_pre + 2 * l2 * W1, d_pre.sum(axis=0),
                 hidden.T @ d_logits + 2 * l2 * W2, d_logits.sum(axis=0)]
    return cost, [p - lr * g for p, g in zip(params, gradients)]


def _numpy_conv_valid(images, filters):
    """conv2d with border_mode='valid': a cross-correlation with the filters flipped."""
    flipped = filters[:, :, ::-1, ::-1]
    filter_rows, filter_columns = filters.shape[2:]
    rows = images.shape[2] - filter_rows + 1
    columns = images.shape[3] - filter_columns + 1
    out = np.zeros((images.shape[0], filters.shape[0], rows, columns))
    for u in range(filter_rows):
        for v in range(filter_columns):
            patch = images[:, :, u:u + rows, v:v + columns]
            out += np.einsum("ncij,kc->nkij", patch, flipped[:, :, u, v])
    return out


def _numpy_conv_valid_filters_gradient(images, d_out, filter_shape):
    """d sum(conv_valid(images, W) * d_out) / d W: correlate, then undo the flip."""
    d_flipped = np.zeros(filter_shape)
    rows, columns = d_out.shape[2:]
    for u in range(filter_shape[2]):
        for v in range(filter_shape[3]):
            patch = images[:, :, u:u + rows, v:v + columns]
            d_flipped[:, :, u, v] = np.einsum("nkij,ncij->kc", d_out, patch)
    return d_flipped[:, :, ::-1, ::-1]


def _numpy_max_pool_2x2(maps):
    n, k, rows, columns = maps.shape
    return maps.reshape(n, k, rows // 2, 2, columns // 2, 2).max(axis=(3, 5))


def _numpy_max_pool_2x2_gradient(maps, pooled, d_pooled):
    """Each window's cotangent goes to its maximum (to every element equal to it, as in
    Theano; after a relu, ties are zeros whose relu gradient is 0 anyway)."""
    n, k, rows, columns = maps.shape
    windows = maps.reshape(n, k, rows // 2, 2, columns // 2, 2)
    is_max = windows == pooled[:, :, :, None, :, None]
    return (is_max * d_pooled[:, :, :, None, :, None]).reshape(maps.shape)


def _numpy_lenet_forward(params, xb):
    """The convnet's layers on a minibatch of flattened 8x8 images; returns them all."""
    _, _, W_hidden, b_hidden, W_conv, b_conv = params
    images = xb.reshape(len(xb), 1, 8, 8)
    pre = _numpy_conv_valid(images, W_conv) + b_conv[None, :, None, None]
    maps = np.maximum(pre, 0.0)
    pooled = _numpy_max_pool_2x2(maps)
    features = pooled.reshape(len(xb), -1)
    hidden = np.tanh(features @ W_hidden + b_hidden)
    return images, pre, maps, pooled, features, hidden


def _numpy_lenet_step(params, xb, yb, lr):
    """One SGD step of conv + relu + 2x2 max pool -> tanh layer -> softmax, in the order of
    ``LeNet.params``: logistic W, b; hidden W, b; filters, conv bias."""
    W_out, b_out, W_hidden, _, W_conv, _ = params
    images, pre, maps, pooled, features, hidden = _numpy_lenet_forward(params, xb)
    logits = hidden @ W_out + b_out
    d_logits = _softmax_cotangent(logits, yb)
    d_hidden_pre = (d_logits @ W_out.T) * (1.0 - hidden ** 2)
    d_pooled = (d_hidden_pre @ W_hidden.T).reshape(pooled.shape)
    d_pre = _numpy_max_pool_2x2_gradient(maps, pooled, d_pooled) * (pre > 0)
    gradients = [hidden.T @ d_logits, d_logits.sum(axis=0),
                 features.T @ d_hidden_pre, d_hidden_pre.sum(axis=0),
                 _numpy_conv_valid_filters_gradient(images, d_pre, W_conv.shape),
                 d_pre.sum(axis=(0, 2, 3))]
    return _numpy_nll(logits, yb), [p - lr * g for p, g in zip(params, gradients)]


def _train_function(params, cost, x, y, data_x, data_y, lr):
    """The tutorials' train_model: SGD updates from theon.grad, the minibatch by givens."""
    train_x = theon.shared(data_x, name="train_x")
    train_y = theon.shared(data_y, name="train_y")
    index = T.lscalar("index")
    gradients = theon.grad(cost, params)
    updates = [(p, p - lr * g) for p, g in zip(params, gradients)]
    return theon.function([index], cost, updates=updates,
                          givens={x: train_x[index * BATCH:(index + 1) * BATCH],
                                  y: train_y[index * BATCH:(index + 1) * BATCH]})


def _build_logistic(rng):
    x, y = T.dmatrix("x"), T.lvector("y")
    # random rather than zero weights, so that a transposed gradient cannot hide
    W = theon.shared(rng.normal(size=(N_IN, N_OUT)) * 0.1, name="W")
    b = theon.shared(rng.normal(size=N_OUT) * 0.1, name="b")
    p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    return [W, b], cost, x, y


def _build_mlp(rng, l2):
    x, y = T.dmatrix("x"), T.lvector("y")
    W1 = theon.shared(_glorot(rng, N_IN, N_HIDDEN), name="W1")
    b1 = theon.shared(rng.normal(size=N_HIDDEN) * 0.1, name="b1")
    W2 = theon.shared(_glorot(rng, N_HIDDEN, N_OUT), name="W2")
    b2 = theon.shared(rng.normal(size=N_OUT) * 0.1, name="b2")
    hidden = T.tanh(T.dot(x, W1) + b1)
    p_y_given_x = T.nnet.softmax(T.dot(hidden, W2) + b2)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    cost = nll + l2 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    return [W1, b1, W2, b2], cost, x, y


def _run_epoch_against_numpy(params, train, numpy_step, data_x, data_y):
    """Runs one epoch through ``train`` and ``numpy_step``, checking cost and parameters
    after every minibatch; returns the costs."""
    reference = [p.get_value() for p in params]
    costs = []
    for index in range(N_EXAMPLES // BATCH):
        xb = data_x[index * BATCH:(index + 1) * BATCH]
        yb = data_y[index * BATCH:(index + 1) * BATCH]
        expected_cost, reference = numpy_step(reference, xb, yb)
        cost = train(index)
        np.testing.assert_allclose(cost, expected_cost, **TOLERANCE)
        for param, expected in zip(params, reference):
            np.testing.assert_allclose(param.get_value(), expected, **TOLERANCE,
                                       err_msg=f"{param.name} after minibatch {index}")
        costs.append(float(cost))
    return costs


def test_logistic_regression_sgd_epoch_matches_numpy():
    data_x, data_y = _data()
    lr = 0.5
    params, cost, x, y = _build_logistic(np.random.RandomState(1))
    train = _train_function(params, cost, x, y, data_x, data_y, lr)
    first = _run_epoch_against_numpy(
        params, train, lambda p, xb, yb: _numpy_logistic_step(p, xb, yb, lr), data_x, data_y)
    second = _run_epoch_against_numpy(
        params, train, lambda p, xb, yb: _numpy_logistic_step(p, xb, yb, lr), data_x, data_y)
    assert np.mean(second) < np.mean(first)  # it learns, not just agrees


def test_mlp_sgd_epoch_matches_numpy():
    data_x, data_y = _data(seed=2)
    lr, l2 = 0.3, 1e-3
    params, cost, x, y = _build_mlp(np.random.RandomState(3), l2)
    train = _train_function(params, cost, x, y, data_x, data_y, lr)
    step = lambda p, xb, yb: _numpy_mlp_step(p, xb, yb, lr, l2)  # noqa: E731
    first = _run_epoch_against_numpy(params, train, step, data_x, data_y)
    second = _run_epoch_against_numpy(params, train, step, data_x, data_y)
    assert np.mean(second) < np.mean(first)


def test_sgd_updates_write_into_the_parameter_arrays():
    # documented: an update keeps the shared variable's array (get_value(borrow=True)),
    # so code holding it, as the tutorials' best-model snapshots do, sees the new values
    data_x, data_y = _data(seed=4)
    lr = 0.1
    params, cost, x, y = _build_mlp(np.random.RandomState(5), 1e-4)
    train = _train_function(params, cost, x, y, data_x, data_y, lr)
    arrays = [p.get_value(borrow=True) for p in params]
    before = [a.copy() for a in arrays]
    for index in range(N_EXAMPLES // BATCH):
        train(index)
    for param, array, old in zip(params, arrays, before):
        assert param.get_value(borrow=True) is array, param.name
        assert not np.array_equal(array, old), param.name


def test_demo_models_train_like_numpy_in_float64(monkeypatch):
    # the demo's tutorial classes and its SGD loop, on synthetic data (no scikit-learn)
    monkeypatch.setattr(theon.config, "floatX", "float64")
    data_x, data_y = _data(seed=6)
    test_x, test_y = data_x[:40], data_y[:40]
    x, y = T.matrix("x"), T.ivector("y")
    datasets = (demo_training.shared_dataset(data_x, data_y),
                demo_training.shared_dataset(test_x, test_y))
    classifier = demo_training.MLP(np.random.RandomState(7), x, N_IN, N_HIDDEN, N_OUT)
    lr, l2 = 0.2, 1e-4
    cost = classifier.negative_log_likelihood(y) + l2 * classifier.L2_sqr
    reference = [p.get_value() for p in classifier.params]
    result = demo_training.train_model_sgd(classifier, x, y, cost, datasets, lr,
                                           n_epochs=2, batch_size=BATCH)
    for _ in range(2):
        for index in range(N_EXAMPLES // BATCH):
            batch = slice(index * BATCH, (index + 1) * BATCH)
            _, reference = _numpy_mlp_step(reference, data_x[batch], data_y[batch], lr, l2)
    for param, expected in zip(classifier.params, reference):
        np.testing.assert_allclose(param.get_value(), expected, **TOLERANCE)
    W1, b1, W2, b2 = reference
    predicted = np.argmax(np.tanh(test_x @ W1 + b1) @ W2 + b2, axis=1)
    assert result["test_accuracy"] == pytest.approx(np.mean(predicted == test_y), abs=1e-12)
    assert len(result["epoch_s"]) == 2
    assert set(result["compile"]) == {"train_model", "test_model"}


def test_demo_lenet_trains_like_numpy_in_float64(monkeypatch):
    monkeypatch.setattr(theon.config, "floatX", "float64")
    data_x, data_y = _data(seed=8)  # 64 features: one 8x8 image per row
    test_x, test_y = data_x[:40], data_y[:40]
    x, y = T.matrix("x"), T.ivector("y")
    datasets = (demo_training.shared_dataset(data_x, data_y),
                demo_training.shared_dataset(test_x, test_y))
    classifier = demo_training.LeNet(np.random.RandomState(9), x, image_size=(8, 8), nkerns=3,
                                     filter_size=(3, 3), n_hidden=N_HIDDEN, n_out=N_OUT)
    # random rather than zero: a zero top layer would stop the first step's gradient
    # from reaching the filters, and zero biases would hide a wrongly broadcast one
    rng = np.random.RandomState(10)
    for param in classifier.params:
        if param is not classifier.convPoolLayer.W and param is not classifier.hiddenLayer.W:
            param.set_value(rng.normal(size=param.get_value().shape) * 0.1)
    initial = [p.get_value() for p in classifier.params]
    lr = 0.1
    result = demo_training.train_model_sgd(classifier, x, y,
                                           classifier.negative_log_likelihood(y), datasets,
                                           lr, n_epochs=2, batch_size=BATCH)
    reference = initial
    for _ in range(2):
        for index in range(N_EXAMPLES // BATCH):
            batch = slice(index * BATCH, (index + 1) * BATCH)
            _, reference = _numpy_lenet_step(reference, data_x[batch], data_y[batch], lr)
    for param, expected, old in zip(classifier.params, reference, initial):
        np.testing.assert_allclose(param.get_value(), expected, **TOLERANCE,
                                   err_msg=param.name)
        assert np.max(np.abs(expected - old)) > 1e-3, param.name  # every parameter learnt
    hidden = _numpy_lenet_forward(reference, test_x)[-1]
    predicted = np.argmax(hidden @ reference[0] + reference[1], axis=1)
    assert result["test_accuracy"] == pytest.approx(np.mean(predicted == test_y), abs=1e-12)


def test_lenet_conv_pool_layer_shapes():
    x = T.dmatrix("x")
    layer = demo_training.LeNetConvPoolLayer(
        np.random.RandomState(0), x.reshape((x.shape[0], 1, 8, 8)), filter_shape=(5, 1, 3, 3),
        image_shape=(None, 1, 8, 8))
    # 8x8 -> 'valid' 3x3 convolution -> 6x6 -> 2x2 max pool -> 3x3, the batch left free
    assert layer.output.type.shape == (None, 5, 3, 3)
    assert layer.output.flatten(2).type.shape == (None, 45)
    assert [p.get_value().shape for p in layer.params] == [(5, 1, 3, 3), (5,)]
    bound = np.sqrt(6.0 / (1 * 3 * 3 + 5 * 3 * 3 // 4))  # Glorot: fan_in 9, fan_out 11
    assert 0 < np.max(np.abs(layer.W.get_value())) <= bound
    assert not layer.b.get_value().any()
    f = theon.function([x], layer.output)
    for batch in (7, 1):
        images = np.random.RandomState(batch).uniform(size=(batch, 64))
        assert f(images).shape == (batch, 5, 3, 3)
    classifier = demo_training.LeNet(np.random.RandomState(0), x, image_size=(8, 8), nkerns=5,
                                     filter_size=(3, 3), n_hidden=32, n_out=10)
    assert classifier.hiddenLayer.W.get_value().shape == (45, 32)


def test_demo_training_without_scikit_learn_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    assert demo_training.run_training() is True
    out = capsys.readouterr().out
    assert out.count("\n") == 2  # one blank line, one message
    assert 'pip install "theon[demo]"' in out and "skipped" in out


def test_demo_training_on_digits_meets_its_targets(capsys):
    pytest.importorskip("sklearn")
    float_x = theon.config.floatX
    assert demo_training.run_training() is True
    assert theon.config.floatX == float_x  # restored after training in float32
    out = capsys.readouterr().out
    assert out.count("target >= ") == 3 and "NOT MET" not in out


def test_demo_rnn_learns_running_sums():
    # theon demo's Elman network, trained through scan, in the float32 it runs in
    from theon.demo_rnn import TARGET_RELATIVE_MSE, train_running_sum
    with theon.config.change_flags(floatX="float32"):
        result = train_running_sum()
    assert result["test_mse"] <= TARGET_RELATIVE_MSE * result["target_var"]
    assert result["compile"]["train_model"].kernels > 0
