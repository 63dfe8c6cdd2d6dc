"""Theano's ``theano.tensor.nnet`` functions: softmax and its relatives, the sigmoid family
and the cross-entropy losses.

All are composites of elementwise ops, reductions and indexing, so they fuse, and their
gradients come from those ops.  They are written the way Theano 1.0 writes them (for
example ``binary_crossentropy`` takes the log of its ``output``); the ``stabilize`` pass
then rewrites the unstable patterns they form with a sigmoid or a softmax (log(sigmoid(z)),
log(softmax(x)[arange(n), y])) into exact ones, as Theano's optimiser does.
"""
from ..ir import dtypes
from . import reduce as _reduce
from .elementwise import FUNCTIONS as E
from .elementwise import cast
from .shape import arange
from .variable import as_tensor_variable

# Theano 1.0's selu constants (Klambauer et al., 2017)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _named(variable, argument, position):
    """``input <position> (<argument> 'name')`` for messages; the name when it has one."""
    name = f" {variable.name!r}" if getattr(variable, "name", None) else ""
    return f"input {position} ({argument}{name})"


def _as_float(x):
    """``x`` as a float tensor: int8 -> float32, int32 -> float64 (Theano's upgrade)."""
    x = as_tensor_variable(x)
    return cast(x, dtypes.to_float(x.dtype))


def _check_rank(function, variable, argument, position, ndim, error=TypeError):
    if variable.ndim != ndim:
        raise error(f"{function}: {_named(variable, argument, position)} has rank "
                    f"{variable.ndim}; expected {ndim}")


def _check_labels(function, labels, argument, position):
    if labels.ndim != 1 or labels.dtype not in dtypes.INTS:
        raise TypeError(f"{function}: {_named(labels, argument, position)} is a "
                        f"{labels.dtype} tensor of rank {labels.ndim}; expected an integer "
                        f"vector of class indices")


# ---- softmax ------------------------------------------------------------------------------

def softmax(c, axis=-1):
    """Softmax along the last axis: ``exp(c) / sum(exp(c), axis=-1, keepdims=True)``.

    Computed as ``exp(c - m) / sum(exp(c - m))`` with ``m`` the maximum along the axis, so
    it is exact for logits of any size (1e4 included).

    Parameters
    ----------
    c : Variable or array_like
        A vector (the result is a vector: Theano 1.0 returned a 1-row matrix) or a matrix
        (row-wise, as Theano), or any tensor of rank >= 1.
    axis : int, optional
        The axis normalised over (theon's extension; Theano always used the last).

    Returns
    -------
    Variable
        Of ``c``'s shape; float.

    Raises
    ------
    TypeError
        ``c`` is a scalar.

    Examples
    --------
    >>> p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    """
    c = as_tensor_variable(c)
    if c.ndim == 0:
        raise TypeError("softmax: input 0 (c) is a scalar; expected a tensor of rank >= 1")
    return _reduce.softmax(c, axis=axis)


def logsoftmax(c, axis=-1):
    """``log(softmax(c))`` along the last axis, computed as ``(c - m) - log(sum(exp(c - m)))``
    with ``m`` the maximum: exact, never ``-inf`` from an underflowed ``exp``.

    Parameters
    ----------
    c : Variable or array_like
        Rank >= 1.
    axis : int, optional

    Returns
    -------
    Variable

    Raises
    ------
    TypeError
        ``c`` is a scalar.
    """
    c = as_tensor_variable(c)
    if c.ndim == 0:
        raise TypeError("logsoftmax: input 0 (c) is a scalar; expected a tensor of rank >= 1")
    return _reduce.logsoftmax(c, axis=axis)


def softmax_graph(c):
    """The softmax written out, ``exp(c) / exp(c).sum(axis=-1, keepdims=True)``.

    Theano's graph form; the ``stabilize`` pass shifts it by the maximum when it is
    compiled, so it does not overflow either.

    Parameters
    ----------
    c : Variable or array_like

    Returns
    -------
    Variable
    """
    c = as_tensor_variable(c)
    exps = E["exp"](c)
    return exps / _reduce.sum(exps, axis=-1, keepdims=True)


def softmax_with_bias(x, b):
    """``softmax(x + b)``, row-wise: Theano's fused softmax of a matrix plus a bias row.

    Parameters
    ----------
    x : Variable
        A matrix.
    b : Variable
        A vector, one bias per column.

    Returns
    -------
    Variable

    Raises
    ------
    ValueError
        ``x`` is not a matrix or ``b`` not a vector (Theano's exception).
    """
    x, b = as_tensor_variable(x), as_tensor_variable(b)
    _check_rank("softmax_with_bias", x, "x", 0, 2, ValueError)
    _check_rank("softmax_with_bias", b, "b", 1, 1, ValueError)
    return softmax(x + b)


# ---- the sigmoid family -------------------------------------------------------------------

def hard_sigmoid(x):
    """A piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)`` (Theano's hard_sigmoid).

    Parameters
    ----------
    x : Variable or array_like
        Integers compute in float (int8 in float32, int32 in float64).

    Returns
    -------
    Variable
    """
    x = _as_float(x)
    return E["clip"](x * 0.2 + 0.5, 0, 1)


def ultra_fast_sigmoid(x):
    """Theano's piecewise approximation of the sigmoid (absolute error below 0.028):
    ``0.5 * (1 + t(x / 2))`` with ``t`` a rational-then-linear approximation of tanh,
    saturating at ``t = 0.99505475368673``.

    Parameters
    ----------
    x : Variable or array_like

    Returns
    -------
    Variable
    """
    x = _as_float(x)
    half = x * 0.5
    size = E["abs"](half)
    middle = 0.935409070603099 + 0.0458812946797165 * (size - 1.7)
    tanh = E["switch"](size < 1.7, 1.5 * size / (1 + size),
                       E["switch"](size < 3, middle, 0.99505475368673))
    tanh = E["switch"](half < 0, -tanh, tanh)
    return 0.5 * (tanh + 1)


def softsign(x):
    """``x / (1 + |x|)``, a sigmoid-shaped function with values in (-1, 1).

    Parameters
    ----------
    x : Variable or array_like

    Returns
    -------
    Variable
    """
    x = _as_float(x)
    return x / (1 + E["abs"](x))


def elu(x, alpha=1):
    """The exponential linear unit: ``x`` where ``x > 0``, else ``alpha * expm1(x)``.

    Parameters
    ----------
    x : Variable or array_like
    alpha : float, optional

    Returns
    -------
    Variable
    """
    x = _as_float(x)
    return E["switch"](x > 0, x, alpha * E["expm1"](x))


def selu(x):
    """The scaled exponential linear unit: ``scale * elu(x, alpha)`` with Theano's
    constants (alpha = 1.6733, scale = 1.0507, Klambauer et al., 2017).

    Parameters
    ----------
    x : Variable or array_like

    Returns
    -------
    Variable
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


# ---- cross-entropies ----------------------------------------------------------------------

def binary_crossentropy(output, target):
    """Cross-entropy of binary variables: ``-(target * log(output) + (1 - target) *
    log(1 - output))``, elementwise.

    When ``output`` is ``sigmoid(z)``, the compiled function computes the exact
    ``target * softplus(-z) + (1 - target) * softplus(z)`` instead (the ``stabilize``
    pass), finite for any ``z``; ``sigmoid_binary_crossentropy(z, target)`` builds that
    form directly.

    Parameters
    ----------
    output : Variable or array_like
        Probabilities in (0, 1).
    target : Variable or array_like
        Probabilities in [0, 1] (often 0/1 labels); broadcasts with ``output``.

    Returns
    -------
    Variable
        One loss per element.

    Examples
    --------
    >>> cost = T.nnet.binary_crossentropy(T.nnet.sigmoid(T.dot(x, w) + b), t).mean()
    """
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    return -(target * E["log"](output) + (1.0 - target) * E["log"](1.0 - output))


def sigmoid_binary_crossentropy(output, target):
    """``binary_crossentropy(sigmoid(output), target)`` computed from the logits:
    ``target * softplus(-output) + (1 - target) * softplus(output)``, exact and finite for
    any ``output``, with the gradient ``sigmoid(output) - target``.

    Parameters
    ----------
    output : Variable or array_like
        Logits, any real value.
    target : Variable or array_like
        Probabilities in [0, 1].

    Returns
    -------
    Variable
    """
    output = _as_float(output)
    target = as_tensor_variable(target)
    return target * E["softplus"](-output) + (1.0 - target) * E["softplus"](output)


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """``-log(coding_dist[arange(n), true_one_of_n])``: the negative log-probability of
    each row's true class.

    Parameters
    ----------
    coding_dist : Variable
        A matrix, one distribution per row.
    true_one_of_n : Variable
        An integer vector, the true class of each row.

    Returns
    -------
    Variable
        A vector of length n.

    Raises
    ------
    TypeError
        ``coding_dist`` is not a matrix or ``true_one_of_n`` not an integer vector.
    """
    coding_dist = as_tensor_variable(coding_dist)
    true_one_of_n = as_tensor_variable(true_one_of_n)
    _check_rank("crossentropy_categorical_1hot", coding_dist, "coding_dist", 0, 2)
    _check_labels("crossentropy_categorical_1hot", true_one_of_n, "true_one_of_n", 1)
    rows = arange(coding_dist.shape[0])
    return -E["log"](coding_dist[rows, true_one_of_n])


def categorical_crossentropy(coding_dist, true_dist):
    """Cross-entropy between a predicted distribution and the true one, per row.

    With ``true_dist`` of ``coding_dist``'s rank (one-hot rows or probabilities):
    ``-sum(true_dist * log(coding_dist), axis=-1)``.  With an integer vector of class
    indices: ``-log(coding_dist[arange(n), true_dist])`` (``crossentropy_categorical_1hot``).
    When ``coding_dist`` is a softmax, the compiled function takes the log-softmax instead
    of the log of the softmax (the ``stabilize`` pass): exact for logits of any size.

    Parameters
    ----------
    coding_dist : Variable
        Predicted distributions along the last axis (a matrix for class indices).
    true_dist : Variable
        Same rank as ``coding_dist``, or an integer vector of class indices.

    Returns
    -------
    Variable
        One loss per row.

    Raises
    ------
    TypeError
        ``true_dist`` has another rank, or is a vector of floats, or ``coding_dist`` is not
        a matrix while ``true_dist`` holds class indices.

    Examples
    --------
    >>> p = T.nnet.softmax(T.dot(x, W) + b)
    >>> cost = T.nnet.categorical_crossentropy(p, y).mean()     # y: T.ivector
    """
    coding_dist = as_tensor_variable(coding_dist)
    true_dist = as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -_reduce.sum(true_dist * E["log"](coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        if true_dist.dtype not in dtypes.INTS:
            raise TypeError(f"categorical_crossentropy: {_named(true_dist, 'true_dist', 1)} "
                            f"is a {true_dist.dtype} tensor of rank {true_dist.ndim}; class "
                            f"indices must be integers")
        _check_rank("categorical_crossentropy", coding_dist, "coding_dist", 0, 2)
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError(f"categorical_crossentropy: {_named(true_dist, 'true_dist', 1)} has rank "
                    f"{true_dist.ndim}; expected {coding_dist.ndim} (distributions, like "
                    f"coding_dist) or {coding_dist.ndim - 1} (integer class indices)")


def crossentropy_softmax_1hot_with_bias(x, b, y_idx):
    """The softmax of ``x + b`` and the negative log-probability of each row's class.

    Parameters
    ----------
    x : Variable
        A matrix of logits.
    b : Variable
        A bias vector, one per column.
    y_idx : Variable
        An integer vector, the true class of each row.

    Returns
    -------
    (nll, softmax) : tuple of Variable
        ``nll[i] = -log(softmax(x + b)[i, y_idx[i]])``, computed from the log-softmax.

    Raises
    ------
    ValueError
        ``x`` is not a matrix or ``b`` not a vector (Theano's exception).
    TypeError
        ``y_idx`` is not an integer vector.
    """
    x, b = as_tensor_variable(x), as_tensor_variable(b)
    y_idx = as_tensor_variable(y_idx)
    _check_rank("crossentropy_softmax_1hot_with_bias", x, "x", 0, 2, ValueError)
    _check_rank("crossentropy_softmax_1hot_with_bias", b, "b", 1, 1, ValueError)
    _check_labels("crossentropy_softmax_1hot_with_bias", y_idx, "y_idx", 2)
    logits = x + b
    nll = -logsoftmax(logits)[arange(logits.shape[0]), y_idx]
    return nll, softmax(logits)


def crossentropy_softmax_1hot(x, y_idx):
    """``crossentropy_softmax_1hot_with_bias`` without a bias: ``(nll, softmax(x))``.

    Parameters
    ----------
    x : Variable
        A matrix of logits.
    y_idx : Variable
        An integer vector of class indices.

    Returns
    -------
    (nll, softmax) : tuple of Variable

    Raises
    ------
    ValueError
        ``x`` is not a matrix.
    TypeError
        ``y_idx`` is not an integer vector.
    """
    x, y_idx = as_tensor_variable(x), as_tensor_variable(y_idx)
    _check_rank("crossentropy_softmax_1hot", x, "x", 0, 2, ValueError)
    _check_labels("crossentropy_softmax_1hot", y_idx, "y_idx", 1)
    nll = -logsoftmax(x)[arange(x.shape[0]), y_idx]
    return nll, softmax(x)


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
    """``crossentropy_softmax_1hot_with_bias`` plus each row's most probable class.

    Parameters
    ----------
    x, b, y_idx : Variable
        As ``crossentropy_softmax_1hot_with_bias``.

    Returns
    -------
    (nll, softmax, argmax) : tuple of Variable
        ``argmax`` has ``y_idx``'s dtype.
    """
    nll, probabilities = crossentropy_softmax_1hot_with_bias(x, b, y_idx)
    y_idx = as_tensor_variable(y_idx)
    best = cast(_reduce.argmax(as_tensor_variable(x) + b, axis=-1), y_idx.dtype)
    return nll, probabilities, best


sigmoid = E["sigmoid"]
softplus = E["softplus"]

__all__ = ["softmax", "logsoftmax", "softmax_graph", "softmax_with_bias", "sigmoid",
           "softplus", "hard_sigmoid", "ultra_fast_sigmoid", "softsign", "elu", "selu",
           "binary_crossentropy", "sigmoid_binary_crossentropy",
           "crossentropy_categorical_1hot", "categorical_crossentropy",
           "crossentropy_softmax_1hot", "crossentropy_softmax_1hot_with_bias",
           "crossentropy_softmax_argmax_1hot_with_bias"]
