"""``theon demo``'s recurrent part: an Elman network, trained with ``scan``, that outputs the
running sum of its input sequence.

Written as a Theano user writes an RNN: the weights are shared variables, the recurrence is
a ``theano.scan`` over time whose step reads them, the gradient through all the steps comes
from ``T.grad``, and SGD updates are passed to ``theano.function``.
"""
import time

import numpy as np

import theon as theano
import theon.tensor as T


class ElmanRNN:
    """``h_t = tanh(x_t W_in + h_{t-1} W_rec + b)``, ``y_t = h_t w_out + c``, over a batch.

    Parameters
    ----------
    rng : numpy.random.RandomState
    x : Variable
        The inputs, shape (time, batch, n_in).
    n_in, n_hidden : int
    """

    def __init__(self, rng, x, n_in, n_hidden):
        def weights(rows, columns, scale):
            return theano.shared(np.asarray(rng.uniform(-scale, scale, (rows, columns)),
                                            dtype=theano.config.floatX), borrow=True)

        self.W_in = weights(n_in, n_hidden, 1.0 / np.sqrt(n_in))
        self.W_rec = weights(n_hidden, n_hidden, 1.0 / np.sqrt(n_hidden))
        self.b = theano.shared(np.zeros(n_hidden, dtype=theano.config.floatX), name="b")
        self.w_out = weights(n_hidden, 1, 1.0 / np.sqrt(n_hidden))
        self.c = theano.shared(np.zeros(1, dtype=theano.config.floatX), name="c")
        self.params = [self.W_in, self.W_rec, self.b, self.w_out, self.c]

        def step(x_t, h_previous):
            return T.tanh(T.dot(x_t, self.W_in) + T.dot(h_previous, self.W_rec) + self.b)

        h0 = T.zeros((x.shape[1], n_hidden), dtype=theano.config.floatX)
        self.h, _ = theano.scan(step, sequences=x, outputs_info=h0, name="elman")
        self.y = T.dot(self.h, self.w_out) + self.c  # (time, batch, 1)

    def mean_squared_error(self, target):
        """The mean over time, batch and output of ``(y - target)**2``."""
        return T.mean((self.y - target) ** 2)


def running_sum_data(rng, n_sequences, length):
    """Inputs uniform on [-1, 1], shape (length, n_sequences, 1), and their running sums."""
    x = rng.uniform(-1, 1, (length, n_sequences, 1)).astype(theano.config.floatX)
    return x, np.cumsum(x, axis=0, dtype=x.dtype)


def rmsprop(cost, params, learning_rate, decay=0.9, epsilon=1e-6):
    """The RMSprop updates Theano-era RNN code wrote by hand: each step divided by a
    running root mean square of its parameter's gradients (kept in shared variables)."""
    updates = []
    for param, gradient in zip(params, T.grad(cost, params)):
        mean_square = theano.shared(np.zeros_like(param.get_value()), borrow=True)
        new_mean_square = decay * mean_square + (1 - decay) * gradient ** 2
        updates.append((mean_square, new_mean_square))
        updates.append((param, param - learning_rate * gradient /
                        T.sqrt(new_mean_square + epsilon)))
    return updates


def train_running_sum(n_hidden=16, length=10, batch_size=32, n_batches=40, n_epochs=30,
                      learning_rate=0.005, seed=1234):
    """Train the Elman network on running sums by minibatch RMSprop.

    Returns
    -------
    dict
        ``compile``: function name -> CompileReport; ``epoch_s``; ``test_mse`` and
        ``target_var`` (the variance of the test targets: an untrained model that outputs
        their mean has an MSE near it); ``steps``: the sequence length.
    """
    rng = np.random.RandomState(seed)
    x, target = T.tensor3("x"), T.tensor3("target")
    model = ElmanRNN(rng, x, n_in=1, n_hidden=n_hidden)
    cost = model.mean_squared_error(target)
    updates = rmsprop(cost, model.params, learning_rate)
    train_model = theano.function([x, target], cost, updates=updates)
    test_model = theano.function([x, target], cost)

    data_rng = np.random.default_rng(seed)
    train = [running_sum_data(data_rng, batch_size, length) for _ in range(n_batches)]
    test_x, test_y = running_sum_data(data_rng, 500, length)
    epoch_s = []
    for _ in range(n_epochs):
        start = time.perf_counter()
        for batch_x, batch_y in train:
            train_model(batch_x, batch_y)
        epoch_s.append(time.perf_counter() - start)
    return {"compile": {"train_model": train_model.report, "test_model": test_model.report},
            "epoch_s": epoch_s, "test_mse": float(test_model(test_x, test_y)),
            "target_var": float(test_y.var()), "steps": length}


TARGET_RELATIVE_MSE = 0.02  # test MSE at most 2 % of the targets' variance (R^2 >= 0.98)


def run_rnn():
    """Train the Elman network in float32, print its compile times, epoch time and test
    error; return whether the error met ``TARGET_RELATIVE_MSE``."""
    with theano.config.change_flags(floatX="float32"):
        result = train_running_sum()
    print(f"\n== training: Elman RNN 1-16-1 with scan, running sum of {result['steps']} "
          "inputs, RMSprop, float32")
    for name, report in result["compile"].items():
        print(f"compile {name + ':':<13}{report.total_s * 1e3:7.1f} ms, cache {report.cache}, "
              f"{report.kernels} kernels ({report.kernels_compiled} compiled)")
    epoch_s = result["epoch_s"]
    print(f"{len(epoch_s)} epochs x 40 minibatches of 32 sequences: median "
          f"{np.median(epoch_s) * 1e3:.2f} ms per epoch, {sum(epoch_s):.2f} s in all")
    relative = result["test_mse"] / result["target_var"]
    met = relative <= TARGET_RELATIVE_MSE
    print(f"test MSE {result['test_mse']:.4f} = {relative:.4f} of the targets' variance "
          f"(target <= {TARGET_RELATIVE_MSE}: {'met' if met else 'NOT MET'})")
    return met
