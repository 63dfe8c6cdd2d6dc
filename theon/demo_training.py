"""``theon demo``'s training part: logistic regression, a tanh MLP and a LeNet-style convnet
trained by minibatch SGD on scikit-learn's bundled 8x8 digits.

The models are written the way the deeplearning.net tutorials (``logistic_sgd.py``,
``mlp.py``, ``convolutional_mlp.py``) write them, so that a Theano user recognises every
line: parameters are shared variables, gradients come from ``T.grad``, and the training
function takes only a minibatch index, its data reaching it through ``givens`` from a
dataset held in shared variables.
"""
import time

import numpy as np

# the tutorials' own spelling: theon is a drop-in for these imports
import theon as theano
import theon.tensor as T
from theon.tensor.signal import pool

INSTALL_HINT = ('skipped: training needs scikit-learn (for its digits data set); '
                'pip install "theon[demo]", or pip install ".[demo]" from a clone')


class LogisticRegression:
    """Multi-class logistic regression, ``p(y | x) = softmax(x W + b)``.

    Parameters
    ----------
    input : Variable
        A symbolic minibatch, one example per row.
    n_in, n_out : int
        Number of input features and of classes.
    """

    def __init__(self, input, n_in, n_out):
        # zeros, as in logistic_sgd.py: the loss is convex, any start converges
        self.W = theano.shared(np.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name="W", borrow=True)
        self.b = theano.shared(np.zeros((n_out,), dtype=theano.config.floatX),
                               name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        """Mean negative log-probability of the labels ``y`` over the minibatch.

        Parameters
        ----------
        y : Variable
            Integer labels, one per row of the input.

        Returns
        -------
        Variable
            A scalar.
        """
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        """Fraction of the minibatch whose predicted class differs from ``y``.

        Parameters
        ----------
        y : Variable
            Integer labels, one per row of the input.

        Returns
        -------
        Variable
            A scalar.
        """
        return T.mean(T.neq(self.y_pred, y))


class HiddenLayer:
    """A fully connected layer, ``tanh(x W + b)``, with Glorot-uniform weights.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Draws the initial weights.
    input : Variable
        A symbolic minibatch, one example per row.
    n_in, n_out : int
        Number of inputs and of hidden units.
    """

    def __init__(self, rng, input, n_in, n_out):
        bound = np.sqrt(6.0 / (n_in + n_out))
        W_values = np.asarray(rng.uniform(low=-bound, high=bound, size=(n_in, n_out)),
                              dtype=theano.config.floatX)
        self.W = theano.shared(W_values, name="W", borrow=True)
        self.b = theano.shared(np.zeros((n_out,), dtype=theano.config.floatX),
                               name="b", borrow=True)
        self.output = T.tanh(T.dot(input, self.W) + self.b)
        self.params = [self.W, self.b]


class MLP:
    """One tanh hidden layer under a logistic regression layer.

    Parameters
    ----------
    rng : numpy.random.RandomState
    input : Variable
    n_in, n_hidden, n_out : int
    """

    def __init__(self, rng, input, n_in, n_hidden, n_out):
        self.hiddenLayer = HiddenLayer(rng, input, n_in, n_hidden)
        self.logRegressionLayer = LogisticRegression(self.hiddenLayer.output, n_hidden, n_out)
        self.L2_sqr = (self.hiddenLayer.W ** 2).sum() + (self.logRegressionLayer.W ** 2).sum()
        self.negative_log_likelihood = self.logRegressionLayer.negative_log_likelihood
        self.errors = self.logRegressionLayer.errors
        self.params = self.hiddenLayer.params + self.logRegressionLayer.params


class LeNetConvPoolLayer:
    """A convolution + max-pooling layer, ``pool(relu(conv2d(x, W) + b))``, as the LeNet
    tutorial (``convolutional_mlp.py``) writes it, with a rectifier for its tanh.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Draws the initial filters.
    input : Variable
        A symbolic 4-D minibatch, ``image_shape``.
    filter_shape : tuple of 4 ints
        ``(number of filters, input feature maps, filter rows, filter columns)``.
    image_shape : tuple of 4 (int or None)
        ``(batch size or None, input feature maps, image rows, image columns)``.
    poolsize : tuple of 2 ints
        The max-pooling window (rows, columns).
    """

    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        assert image_shape[1] == filter_shape[1]
        self.input = input
        # each unit of a feature map sees fan_in inputs; each input reaches fan_out units
        # of the layer above, divided by the pooling (Glorot and Bengio, 2010)
        fan_in = np.prod(filter_shape[1:])
        fan_out = filter_shape[0] * np.prod(filter_shape[2:]) // np.prod(poolsize)
        W_bound = np.sqrt(6.0 / (fan_in + fan_out))
        self.W = theano.shared(
            np.asarray(rng.uniform(low=-W_bound, high=W_bound, size=filter_shape),
                       dtype=theano.config.floatX),
            name="W", borrow=True)
        self.b = theano.shared(np.zeros((filter_shape[0],), dtype=theano.config.floatX),
                               name="b", borrow=True)
        conv_out = T.nnet.conv2d(input=input, filters=self.W, filter_shape=filter_shape,
                                 input_shape=image_shape)
        # one bias per feature map, broadcast over the batch and the map's rows and columns
        activation = T.nnet.relu(conv_out + self.b.dimshuffle("x", 0, "x", "x"))
        self.output = pool.pool_2d(input=activation, ws=poolsize, ignore_border=True)
        self.params = [self.W, self.b]


class LeNet:
    """The LeNet tutorial's network cut to the 8x8 digits: a convolution + pooling layer,
    a small tanh hidden layer and a logistic regression layer.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Draws the initial filters and hidden weights.
    input : Variable
        A symbolic minibatch of images, one flattened image (rows * columns pixels) per row.
    image_size : tuple of 2 ints
        The images' (rows, columns).
    nkerns : int
        Number of convolution filters (feature maps).
    filter_size : tuple of 2 ints
        The filters' (rows, columns); the convolution is 'valid'.
    n_hidden, n_out : int
        Number of hidden units and of classes.
    poolsize : tuple of 2 ints
        The max-pooling window.
    """

    def __init__(self, rng, input, image_size, nkerns, filter_size, n_hidden, n_out,
                 poolsize=(2, 2)):
        rows, columns = image_size
        # the batch size is left free, so that one call can score the whole test set
        layer0_input = input.reshape((input.shape[0], 1, rows, columns))
        self.convPoolLayer = LeNetConvPoolLayer(
            rng, layer0_input, filter_shape=(nkerns, 1) + tuple(filter_size),
            image_shape=(None, 1, rows, columns), poolsize=poolsize)
        # a 'valid' convolution, then pooling that drops a ragged border
        pooled_rows = (rows - filter_size[0] + 1) // poolsize[0]
        pooled_columns = (columns - filter_size[1] + 1) // poolsize[1]
        # (batch, nkerns, pooled rows, pooled columns) -> one row of features per image
        self.hiddenLayer = HiddenLayer(rng, self.convPoolLayer.output.flatten(2),
                                       n_in=nkerns * pooled_rows * pooled_columns,
                                       n_out=n_hidden)
        self.logRegressionLayer = LogisticRegression(self.hiddenLayer.output, n_hidden, n_out)
        self.negative_log_likelihood = self.logRegressionLayer.negative_log_likelihood
        self.errors = self.logRegressionLayer.errors
        self.params = (self.logRegressionLayer.params + self.hiddenLayer.params
                       + self.convPoolLayer.params)


def shared_dataset(data_x, data_y):
    """The tutorials' ``shared_dataset``: features and labels as shared variables.

    The labels are stored as floatX and cast to int32 symbolically, as the tutorials do
    (on a GPU, Theano kept only float shared variables in device memory).

    Parameters
    ----------
    data_x : numpy.ndarray
        Features, one example per row.
    data_y : numpy.ndarray
        Integer labels.

    Returns
    -------
    tuple
        ``(shared_x, labels)``: a shared floatX matrix and an int32 vector expression.
    """
    shared_x = theano.shared(np.asarray(data_x, dtype=theano.config.floatX), borrow=True)
    shared_y = theano.shared(np.asarray(data_y, dtype=theano.config.floatX), borrow=True)
    return shared_x, T.cast(shared_y, "int32")


def load_digits_split(n_train=1500, seed=1234):
    """scikit-learn's 8x8 digits, scaled to [0, 1], shuffled once and split.

    Parameters
    ----------
    n_train : int
        Examples in the training set; the rest (297 by default) form the test set.
    seed : int
        Seed of the shuffle, so that every run trains on the same split.

    Returns
    -------
    tuple
        ``((train_x, train_y), (test_x, test_y))`` as float64 / int64 numpy arrays.

    Raises
    ------
    ImportError
        scikit-learn is not installed.
    """
    from sklearn.datasets import load_digits
    digits = load_digits()  # bundled with scikit-learn: no download
    order = np.random.RandomState(seed).permutation(len(digits.target))
    features = digits.data[order] / 16.0  # pixel intensities are 0..16
    labels = digits.target[order]
    return ((features[:n_train], labels[:n_train]), (features[n_train:], labels[n_train:]))


def train_model_sgd(classifier, x, y, cost, datasets, learning_rate, n_epochs, batch_size):
    """Compile the tutorials' ``train_model`` and ``test_model``, run minibatch SGD.

    Parameters
    ----------
    classifier : LogisticRegression, MLP or LeNet
        Provides ``params`` and ``errors(y)``.
    x, y : Variable
        The symbolic minibatch and labels the classifier and ``cost`` were built on.
    cost : Variable
        The scalar to minimise.
    datasets : tuple
        ``((train_x, train_y), (test_x, test_y))`` from ``shared_dataset``.
    learning_rate : float
    n_epochs : int
    batch_size : int

    Returns
    -------
    dict
        ``compile``: function name -> its CompileReport; ``epoch_s``: the wall time of
        every epoch; ``test_accuracy``: accuracy on the test set after the last epoch.
    """
    (train_set_x, train_set_y), (test_set_x, test_set_y) = datasets
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    index = T.lscalar("index")

    gparams = [T.grad(cost, param) for param in classifier.params]
    updates = [(param, param - learning_rate * gparam)
               for param, gparam in zip(classifier.params, gparams)]
    train_model = theano.function(
        inputs=[index], outputs=cost, updates=updates,
        givens={x: train_set_x[index * batch_size:(index + 1) * batch_size],
                y: train_set_y[index * batch_size:(index + 1) * batch_size]})
    # the test set is small: one call scores all of it, so no batch is weighted wrongly
    test_model = theano.function(inputs=[], outputs=classifier.errors(y),
                                 givens={x: test_set_x, y: test_set_y})

    epoch_s = []
    for _ in range(n_epochs):
        start = time.perf_counter()
        for minibatch_index in range(n_train_batches):
            train_model(minibatch_index)
        epoch_s.append(time.perf_counter() - start)
    return {"compile": {"train_model": train_model.report, "test_model": test_model.report},
            "epoch_s": epoch_s, "test_accuracy": 1.0 - float(test_model())}


def _print_result(title, result, n_epochs, n_batches, batch_size, target):
    """Prints one model's compile times, epoch time and accuracy; returns whether the
    accuracy met ``target``."""
    print(f"\n== training: {title}")
    for name, report in result["compile"].items():
        slowest = sorted(report.stages.items(), key=lambda item: -item[1])[:2]
        stages = ", ".join(f"{stage} {seconds * 1e3:.1f} ms" for stage, seconds in slowest)
        print(f"compile {name + ':':<13}{report.total_s * 1e3:7.1f} ms, cache {report.cache}, "
              f"{report.kernels} kernels ({report.kernels_compiled} compiled); {stages}")
    epoch_s = result["epoch_s"]
    print(f"{n_epochs} epochs x {n_batches} minibatches of {batch_size}: "
          f"median {np.median(epoch_s) * 1e3:.2f} ms per epoch, {sum(epoch_s):.2f} s in all")
    accuracy = result["test_accuracy"]
    met = accuracy >= target
    verdict = "met" if met else "NOT MET"
    print(f"test accuracy {accuracy:.4f} (target >= {target:.2f}: {verdict})")
    return met


def run_training():
    """Train the three models on the digits and print what happened.

    Returns
    -------
    bool
        True when every model reached its test-accuracy target, or when scikit-learn is
        missing and training was skipped (the skip is printed, not an error).
    """
    try:
        (train_x, train_y), (test_x, test_y) = load_digits_split()
    except ImportError:
        print(f"\n== training: {INSTALL_HINT}")
        return True
    # the tutorials ran in float32 (THEANO_FLAGS)
    with theano.config.change_flags(floatX="float32"):
        return _train_all(train_x, train_y, test_x, test_y)


def _train_all(train_x, train_y, test_x, test_y):
    """Trains the logistic regression, the MLP and the LeNet convnet; returns whether each
    met its target."""
    batch_size = 50
    n_batches = len(train_y) // batch_size
    split = f"{len(train_y)} train / {len(test_y)} test, {theano.config.floatX}"

    x, y = T.matrix("x"), T.ivector("y")
    datasets = (shared_dataset(train_x, train_y), shared_dataset(test_x, test_y))
    classifier = LogisticRegression(x, n_in=64, n_out=10)
    n_epochs = 40
    result = train_model_sgd(classifier, x, y, classifier.negative_log_likelihood(y),
                             datasets, learning_rate=0.2, n_epochs=n_epochs,
                             batch_size=batch_size)
    ok = _print_result(f"logistic regression 64-10 on sklearn digits ({split})", result,
                       n_epochs, n_batches, batch_size, target=0.93)

    x, y = T.matrix("x"), T.ivector("y")
    datasets = (shared_dataset(train_x, train_y), shared_dataset(test_x, test_y))
    classifier = MLP(np.random.RandomState(1234), x, n_in=64, n_hidden=100, n_out=10)
    cost = classifier.negative_log_likelihood(y) + 1e-4 * classifier.L2_sqr
    n_epochs = 40
    result = train_model_sgd(classifier, x, y, cost, datasets, learning_rate=0.1,
                             n_epochs=n_epochs, batch_size=batch_size)
    ok &= _print_result(f"tanh MLP 64-100-10, L2 1e-4 ({split})", result, n_epochs,
                        n_batches, batch_size, target=0.95)

    x, y = T.matrix("x"), T.ivector("y")
    datasets = (shared_dataset(train_x, train_y), shared_dataset(test_x, test_y))
    # 5 maps of 6x6 pooled to 3x3 give 45 features; softmax on them alone missed 0.95 for
    # some seeds, while with a small tanh layer (the tutorial's HiddenLayer) every seed
    # tried reached 0.96 or more
    classifier = LeNet(np.random.RandomState(1234), x, image_size=(8, 8), nkerns=5,
                       filter_size=(3, 3), n_hidden=32, n_out=10)
    n_epochs = 40
    result = train_model_sgd(classifier, x, y, classifier.negative_log_likelihood(y),
                             datasets, learning_rate=0.1, n_epochs=n_epochs,
                             batch_size=batch_size)
    ok &= _print_result(f"LeNet: conv 5x3x3, relu, 2x2 max pool, tanh 45-32-10 ({split})",
                        result, n_epochs, n_batches, batch_size, target=0.95)
    return ok
