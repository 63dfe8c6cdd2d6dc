"""Reductions and what is built on them: sum, prod, mean, var, std, max, min, argmax,
argmin, any, all, max_and_argmax, logsumexp, softmax, logsoftmax.

Each reduction is one ``Reduce`` node, fused with the elementwise expression feeding it into
one kernel; mean and var are composites (a sum times the reciprocal of the element count),
and softmax is exp(x - max) / sum(exp(x - max)) along the last axis, so its subtract, exp
and divide fuse around the two reductions.
"""
from .. import ir
from ..ir import dtypes
from ..ir.ops import ZeroGrad
from ..ir.ops.reduce import Reduce, normalize_axes
from .elementwise import FUNCTIONS as E
from .elementwise import cast
from .variable import Variable, as_tensor_variable, user_trace


def _reduce(x, combiner, axis, keepdims, dtype, name):
    x = as_tensor_variable(x)
    axes = normalize_axes(axis, x.ndim, name)
    op = Reduce(combiner, axes, bool(keepdims), dtype)
    return Variable(ir.Node.make(op, (x.node,), trace=user_trace()))


def _sum_dtype(dtype):
    """numpy's accumulator for sum and prod: platform ints widen to int64 (uint to uint64),
    bools count as int64, floats keep their width."""
    if dtype == dtypes.BOOL or dtype in dtypes.SIGNED:
        return "int64"
    if dtype in dtypes.UNSIGNED:
        return "uint64"
    return dtype


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):  # noqa: A001
    """Sum of ``x`` over ``axis`` (None: all axes; an int or a tuple).

    Integer sums accumulate in int64 as numpy's; float32 sums accumulate in float64 along
    a reduced last axis, so long sums lose no accuracy to their order."""
    x = as_tensor_variable(x)
    return _reduce(x, "add", axis, keepdims, dtype or _sum_dtype(x.dtype), "sum")


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Product of ``x`` over ``axis``."""
    x = as_tensor_variable(x)
    return _reduce(x, "mul", axis, keepdims, dtype or _sum_dtype(x.dtype), "prod")


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``; nan if any element is nan (numpy's max)."""
    x = as_tensor_variable(x)
    return _reduce(x, "maximum", axis, keepdims, x.dtype, "max")


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``; nan if any element is nan (numpy's min)."""
    x = as_tensor_variable(x)
    return _reduce(x, "minimum", axis, keepdims, x.dtype, "min")


def any(x, axis=None, keepdims=False):  # noqa: A001
    """Whether any element over ``axis`` is nonzero (bool)."""
    return _reduce(x, "or", axis, keepdims, dtypes.BOOL, "any")


def all(x, axis=None, keepdims=False):  # noqa: A001
    """Whether every element over ``axis`` is nonzero (bool)."""
    return _reduce(x, "and", axis, keepdims, dtypes.BOOL, "all")


def _count(x, axis):
    """Number of elements reduced over ``axis``, as a float of x's float dtype."""
    axes = normalize_axes(axis, x.ndim, "mean")
    count = None
    for axis_ in axes:
        length = x.shape[axis_]
        count = length if count is None else count * length
    return 1 if count is None else count


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Arithmetic mean over ``axis`` (float: int inputs give float64, as numpy)."""
    x = as_tensor_variable(x)
    out_dtype = dtype or (x.dtype if x.dtype in dtypes.FLOATS else "float64")
    total = sum(cast(x, out_dtype), axis=axis, keepdims=keepdims)
    return total / cast(_count(x, axis), out_dtype)


def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Variance over ``axis`` (``ddof`` as numpy's; Theano's ``corrected=True`` is ddof=1)."""
    x = as_tensor_variable(x)
    ddof = 1 if corrected else ddof
    centred = x - mean(x, axis=axis, keepdims=True)
    squares = sum(centred * centred, axis=axis, keepdims=keepdims)
    float_dtype = squares.dtype
    count = cast(_count(x, axis), float_dtype)
    return squares / (count - ddof) if ddof else squares / count


def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Standard deviation over ``axis``."""
    return E["sqrt"](var(x, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected))


def _shift(peak):
    """``peak`` as the shift of a softmax or logsumexp, which does not depend on it: wrapped
    in ``zero_grad``, so the gradient does not go through the max only to cancel (the
    compile pipeline removes the wrapper)."""
    return Variable(ir.Node.make(ZeroGrad(), (peak.node,)))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed without overflow: m + log(sum(exp(x - m)))
    with m the maximum (and m = 0 where it is infinite)."""
    x = as_tensor_variable(x)
    peak = max(x, axis=axis, keepdims=True)
    peak = _shift(E["switch"](E["isinf"](peak), 0, peak))
    total = sum(E["exp"](x - peak), axis=axis, keepdims=True)
    result = E["log"](total) + peak
    if keepdims:
        return result
    return _drop_axes(result, normalize_axes(axis, x.ndim, "logsumexp"))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (the last: Theano's row-wise softmax on
    matrices), stable for large logits."""
    x = as_tensor_variable(x)
    shifted = x - _shift(max(x, axis=axis, keepdims=True))
    exps = E["exp"](shifted)
    return exps / sum(exps, axis=axis, keepdims=True)


def logsoftmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed as x - logsumexp(x): exact for large
    logits, never -inf from an underflowed exp."""
    x = as_tensor_variable(x)
    shifted = x - _shift(max(x, axis=axis, keepdims=True))
    return shifted - E["log"](sum(E["exp"](shifted), axis=axis, keepdims=True))


def _drop_axes(x, axes):
    """``x`` with its length-1 ``axes`` removed (a sum over them: no data moves)."""
    return sum(x, axis=axes) if x.dtype in dtypes.FLOATS else x


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` (None: of the flattened array); first on ties."""
    return _arg(x, "argmax", axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along ``axis`` (None: of the flattened array); first on ties."""
    return _arg(x, "argmin", axis, keepdims)


def max_and_argmax(x, axis=None, keepdims=False):
    """(max, argmax) over ``axis`` (Theano's ``T.max_and_argmax``)."""
    return max(x, axis=axis, keepdims=keepdims), argmax(x, axis=axis, keepdims=keepdims)


def _arg(x, which, axis, keepdims):
    from ..ir.ops.reduce import ArgReduce
    x = as_tensor_variable(x)
    if axis is not None:
        (axis,) = normalize_axes(axis, x.ndim, which)
    op = ArgReduce(which, axis, bool(keepdims))
    return Variable(ir.Node.make(op, (x.node,), trace=user_trace()))


def _method(function):
    def method(self, axis=None, keepdims=False, **options):
        return function(self, axis=axis, keepdims=keepdims, **options)
    method.__name__ = function.__name__
    method.__doc__ = function.__doc__
    return method


for _function in (sum, prod, mean, var, std, max, min, any, all, argmax, argmin):
    setattr(Variable, _function.__name__, _method(_function))

__all__ = ["sum", "prod", "mean", "var", "std", "max", "min", "any", "all", "argmax",
           "argmin", "max_and_argmax", "logsumexp", "softmax", "logsoftmax"]
