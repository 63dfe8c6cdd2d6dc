"""Batch normalisation with Theano 1.0's ``theano.tensor.nnet.bn`` functions.

Each is a composite of elementwise ops and reductions, so it fuses with its neighbours and
its gradients come from those ops; the formulas are the ones Theano documents as
equivalent to its ops.
"""
import numbers

import numpy as np

from . import reduce as _reduce
from .elementwise import FUNCTIONS as E
from .elementwise import cast
from .shape import addbroadcast
from .variable import as_tensor_variable


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """``(inputs - mean) * (gamma / std) + beta``, every operand broadcast against
    ``inputs`` (same rank).

    Parameters
    ----------
    inputs, gamma, beta, mean, std : Variable
        Tensors of the same rank; the parameters usually have length 1 along the
        normalised axes.
    mode : {'low_mem', 'high_mem'}
        Theano's choice of implementation; both give the same values here (the expression
        fuses into one kernel either way).
    """
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode must be 'low_mem' or 'high_mem'; "
                         f"got {mode!r}")
    inputs, gamma, beta, mean, std = (as_tensor_variable(v)
                                      for v in (inputs, gamma, beta, mean, std))
    return (inputs - mean) * (gamma / std) + beta


def _axes(axes, ndim, function):
    """(normalised axes, the others) from 'per-activation', 'spatial' or a sequence."""
    if isinstance(axes, str) and axes == "per-activation":
        axes = (0,)
    elif isinstance(axes, str) and axes == "spatial":
        axes = (0,) + tuple(range(2, ndim))
    elif isinstance(axes, (tuple, list, np.ndarray)) and all(
            isinstance(a, numbers.Integral) for a in axes):
        axes = tuple(sorted(int(a) for a in axes))
    else:
        raise ValueError(f"{function}: axes must be 'per-activation', 'spatial' or a tuple "
                         f"of ints; got {axes!r}")
    if not axes:
        raise ValueError(f"{function}: axes is empty; expected at least one axis")
    if axes[0] < 0 or axes[-1] >= ndim:
        raise ValueError(f"{function}: axes {axes} are out of range for inputs of rank {ndim}")
    return axes, tuple(i for i in range(ndim) if i not in axes)


def _parameters(function, inputs, named, axes, kept):
    """The parameters broadcast against ``inputs``: given at the inputs' rank, or with only
    the non-normalised axes (then dimshuffled); ValueError naming the odd one."""
    ndim = inputs.ndim
    variables = [as_tensor_variable(v) for v in named.values()]
    rank = variables[0].ndim if variables[0].ndim == ndim else len(kept)
    for name, variable in zip(named, variables):
        if variable.ndim != rank:
            raise ValueError(f"{function}: {name} has rank {variable.ndim}; expected "
                             f"{len(kept)} (the non-normalised axes) or {ndim} (the inputs')"
                             f", the same for every parameter")
    if rank == ndim:
        return [addbroadcast(v, *axes) for v in variables]
    pattern = ["x"] * ndim
    for position, axis in enumerate(kept):
        pattern[axis] = position
    return [v.dimshuffle(*pattern) for v in variables]


def _epsilon(function, epsilon):
    """``epsilon`` checked, as a Python float: it takes the dtype of what it is added to."""
    if epsilon < 1e-5:
        raise ValueError(f"{function}: epsilon must be at least 1e-5; got {epsilon}")
    return float(epsilon)


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None,
                              running_var=None):
    """Normalise ``inputs`` with the mean and variance over ``axes`` of this batch.

    Parameters
    ----------
    inputs : Variable
    gamma, beta : Variable
        Scale and shift, with the inputs' rank (length 1 along ``axes``) or with only the
        other axes.
    axes : 'per-activation' (= (0,)), 'spatial' (= (0, 2, 3, ...)) or tuple of ints
    epsilon : float
        Added to the variance (at least 1e-5, as Theano).
    running_average_factor : float
        Weight of this batch in the running averages.
    running_mean, running_var : Variable, optional
        Both or neither; laid out as ``gamma``.

    Returns
    -------
    tuple
        ``(out, mean, invstd)``, plus ``(new_running_mean, new_running_var)`` when running
        averages are given, where ``new_running_var`` uses the unbiased batch variance
        ``m / (m - 1) * var`` (``m`` the number of values averaged); the statistics have
        ``gamma``'s layout.
    """
    function = "batch_normalization_train"
    inputs = as_tensor_variable(inputs)
    axes, kept = _axes(axes, inputs.ndim, function)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{function}: give both running_mean and running_var, or neither")
    named = {"gamma": gamma, "beta": beta}
    if running_mean is not None:
        named.update(running_mean=running_mean, running_var=running_var)
    params = _parameters(function, inputs, named, axes, kept)
    epsilon = _epsilon(function, epsilon)
    mean = _reduce.mean(inputs, axis=axes, keepdims=True)
    var = _reduce.var(inputs, axis=axes, keepdims=True)
    invstd = 1.0 / E["sqrt"](var + epsilon)
    out = (inputs - mean) * params[0] * invstd + params[1]
    results = [out, mean, invstd]
    if running_mean is not None:
        factor = float(running_average_factor)
        count = cast(_reduce.prod(inputs.shape) // _reduce.prod(mean.shape), var.dtype)
        results.append(params[2] * (1 - factor) + mean * factor)
        results.append(params[3] * (1 - factor) + count / (count - 1) * var * factor)
    if params[0].ndim != as_tensor_variable(gamma).ndim:
        # the parameters came without the normalised axes: so do the statistics
        results[1:] = [r.dimshuffle(*kept) for r in results[1:]]
    return tuple(results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation",
                             epsilon=1e-4):
    """Normalise ``inputs`` with given statistics (running averages, at test time):
    ``(inputs - mean) * gamma / sqrt(var + epsilon) + beta``; the parameters are laid out
    as in ``batch_normalization_train``."""
    function = "batch_normalization_test"
    inputs = as_tensor_variable(inputs)
    axes, kept = _axes(axes, inputs.ndim, function)
    gamma, beta, mean, var = _parameters(
        function, inputs, {"gamma": gamma, "beta": beta, "mean": mean, "var": var}, axes,
        kept)
    return (inputs - mean) * gamma / E["sqrt"](var + _epsilon(function, epsilon)) + beta
