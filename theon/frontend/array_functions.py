"""numpy's array functions in ``theon.tensor`` (tile, repeat, roll, sort, argsort, cumsum,
cumprod, diag) and the matching Variable methods: each applies its op of
``ir/ops/array_functions.py``, run on the host through numpy."""
from ..ir.ops.array_functions import CumOp, Diag, Repeat, Roll, Sort, Tile
from .shape import _INTEGERS, _axis, _make, _parameter
from .variable import Variable, as_tensor_variable


def tile(x, reps):
    """``x`` repeated ``reps[i]`` times along each dimension (numpy's tile).

    Parameters
    ----------
    x : Variable
    reps : int or sequence of int
    """
    x = as_tensor_variable(x)
    reps = (int(reps),) if isinstance(reps, _INTEGERS) else tuple(int(r) for r in reps)
    return _make(Tile(reps), (x.node,))


def repeat(x, repeats, axis=None):
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (numpy's repeat;
    over the flattened ``x`` when ``axis`` is None).

    Parameters
    ----------
    x : Variable
    repeats : int, sequence of int, or integer scalar/vector Variable
    axis : int, optional
    """
    x = as_tensor_variable(x)
    axis = None if axis is None else _axis(axis, x.ndim, "repeat")
    if isinstance(repeats, Variable):
        return _make(Repeat(axis, None), (x.node, repeats.node))
    if isinstance(repeats, _INTEGERS):
        return _make(Repeat(axis, int(repeats)), (x.node,))
    return _make(Repeat(axis, tuple(int(r) for r in repeats)), (x.node,))


def roll(x, shift, axis=None):
    """``x`` shifted by ``shift`` positions along ``axis``, wrapping around (numpy's roll;
    over the flattened ``x`` when ``axis`` is None).  ``shift`` may be a scalar Variable."""
    x = as_tensor_variable(x)
    axis = None if axis is None else _axis(axis, x.ndim, "roll")
    known, node = _parameter(shift, "roll")
    return _make(Roll(axis, known), (x.node,) if node is None else (x.node, node))


def sort(x, axis=-1):
    """``x`` sorted along ``axis`` (None: the flattened ``x``); a stable sort."""
    x = as_tensor_variable(x)
    axis = None if axis is None else _axis(axis, x.ndim, "sort")
    return _make(Sort(axis, argsort=False), (x.node,))


def argsort(x, axis=-1):
    """The int64 indices that sort ``x`` along ``axis`` (None: the flattened ``x``); equal
    elements keep their order."""
    x = as_tensor_variable(x)
    axis = None if axis is None else _axis(axis, x.ndim, "argsort")
    return _make(Sort(axis, argsort=True), (x.node,))


def cumsum(x, axis=None):
    """Running sum along ``axis`` (None: the flattened ``x``), numpy's dtype rule."""
    x = as_tensor_variable(x)
    axis = None if axis is None else _axis(axis, x.ndim, "cumsum")
    return _make(CumOp(axis, "add"), (x.node,))


def cumprod(x, axis=None):
    """Running product along ``axis`` (None: the flattened ``x``), numpy's dtype rule."""
    x = as_tensor_variable(x)
    axis = None if axis is None else _axis(axis, x.ndim, "cumprod")
    return _make(CumOp(axis, "mul"), (x.node,))


def diag(x, k=0):
    """The square matrix with vector ``x`` on its ``k``-th diagonal, or the ``k``-th
    diagonal of matrix ``x`` (numpy's diag)."""
    x = as_tensor_variable(x)
    return _make(Diag(int(k)), (x.node,))


Variable.sort = sort
Variable.argsort = argsort
Variable.cumsum = cumsum
Variable.cumprod = cumprod
Variable.repeat = repeat

FUNCTIONS = {function.__name__: function for function in (
    tile, repeat, roll, sort, argsort, cumsum, cumprod, diag)}
