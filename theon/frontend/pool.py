"""Theano's ``theano.tensor.signal.pool`` functions: ``pool_2d``, ``pool_3d`` and
``max_pool_2d_same_size``.

Each checks its arguments the way Theano 1.0 does (the deprecated names ``ds``, ``st`` and
``padding``, the warning for an unset ``ignore_border``, padding only with
``ignore_border=True`` and smaller than the window) and applies the ops of
``ir/ops/pool.py``, which also give the gradients.  Window lengths, strides and pads are
ints known while building the graph.
"""
import numpy as np

from ..ir.ops.pool import MODES, MaxPoolGrad, Pool, check_window
from .shape import _make
from .variable import Variable, as_tensor_variable, warn_user

# the names Theano also took for a mode: its CPU pool's 'max_deterministic', and the old
# name 'average' that its cuDNN pooling took for 'average_inc_pad'
_MODE_ALIASES = {"max_deterministic": "max", "average": "average_inc_pad"}

_INTEGERS = (int, np.integer)


def _named(variable):
    """'input 0 (input)' for messages, with the variable's name when it has one."""
    name = f" {variable.name!r}" if getattr(variable, "name", None) else ""
    return f"input 0 (input{name})"


def _renamed(function, argument, value, alias, alias_value, unset):
    """``value``, or ``alias_value`` with a DeprecationWarning when only the deprecated
    ``alias`` of ``argument`` was given; ValueError when both were."""
    if alias_value is None:
        return value
    if not unset(value):
        raise ValueError(f"{function}: both {argument}={value!r} and its deprecated alias "
                         f"{alias}={alias_value!r} given; expected only {argument}")
    warn_user(f"DEPRECATION: the '{alias}' parameter is not going to exist anymore as it "
              f"is going to be replaced by the parameter '{argument}'.", DeprecationWarning)
    return alias_value


def _is_none(value):
    return value is None


def _is_unset_pad(pad):
    """Whether ``pad`` is None or all zeros: Theano's test for 'pad was not given'."""
    if pad is None:
        return True
    return isinstance(pad, (tuple, list)) and all(
        isinstance(size, _INTEGERS) and size == 0 for size in pad)


def _window(function, argument, value, count):
    """``value`` (a tuple, list or 1-d array of ``count`` ints) as a tuple of Python ints."""
    if isinstance(value, Variable):
        raise TypeError(f"{function}: {argument} is the symbolic {value!r}; expected a tuple "
                        f"of {count} ints known while building the graph")
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{function}: {argument} is {type(value).__name__} {value!r}; "
                        f"expected a tuple of {count} ints")
    if len(value) != count:
        raise ValueError(f"{function}: {argument} {tuple(value)} has {len(value)} entries; "
                         f"expected {count}, one per pooled axis")
    for position, entry in enumerate(value):
        if isinstance(entry, (bool, np.bool_)) or not isinstance(entry, _INTEGERS):
            raise TypeError(f"{function}: {argument}[{position}] is "
                            f"{type(entry).__name__} {entry!r}; expected an int")
    return tuple(int(entry) for entry in value)


def _mode(function, mode):
    """``mode`` with Theano's aliases resolved; ValueError for an unknown one."""
    if isinstance(mode, str) and mode in MODES:
        return mode
    if isinstance(mode, str) and mode in _MODE_ALIASES:
        return _MODE_ALIASES[mode]
    accepted = ", ".join(repr(name) for name in MODES + tuple(_MODE_ALIASES))
    raise ValueError(f"{function}: mode {mode!r}; expected one of {accepted}")


def _ignore_border(function, ignore_border):
    """``ignore_border`` as a bool; None warns and gives False, as Theano 1.0."""
    if ignore_border is None:
        warn_user(f"{function}() will have the parameter ignore_border default value "
                  "changed to True (currently False). To have consistent behavior with all "
                  "Theano version, explicitly add the parameter ignore_border=True.")
        return False
    if not isinstance(ignore_border, (bool, np.bool_)):
        raise TypeError(f"{function}: ignore_border is {type(ignore_border).__name__} "
                        f"{ignore_border!r}; expected True or False")
    return bool(ignore_border)


def _arguments(function, count, input, ws, ignore_border, stride, pad, mode, ds, st, padding):
    """The checked input Variable and the ``Pool`` op of a ``pool_2d``/``pool_3d`` call."""
    ws = _renamed(function, "ws", ws, "ds", ds, _is_none)
    if ws is None:
        raise ValueError(f"{function}: no window size; expected ws, a tuple of {count} ints")
    stride = _renamed(function, "stride", stride, "st", st, _is_none)
    pad = _renamed(function, "pad", pad, "padding", padding, _is_unset_pad)
    x = as_tensor_variable(input)
    if x.ndim < count:
        raise NotImplementedError(f"{function}: {_named(x)} has rank {x.ndim}; expected "
                                  f"rank >= {count} (the last {count} axes are pooled)")
    ignore_border = _ignore_border(function, ignore_border)
    mode = _mode(function, mode)
    ws = _window(function, "ws", ws, count)
    stride = ws if stride is None else _window(function, "stride", stride, count)
    pad = (0,) * count if pad is None else _window(function, "pad", pad, count)
    check_window(function, ws, stride, pad, ignore_border)
    return x, Pool(ws, stride, pad, ignore_border, mode)


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max",
            ds=None, st=None, padding=None):
    """Pool the last 2 axes of ``input``: the maximum, sum or average of each window.

    Parameters
    ----------
    input : Variable or array_like
        Of rank >= 2, any dtype; the leading axes (batch, channels) are kept as they are.
    ws : tuple of 2 ints
        The window's (rows, columns).  ``(2, 2)`` halves each pooled axis.
    ignore_border : bool
        True: only whole windows, so a (5, 5) input with ``ws=(2, 2)`` gives (2, 2).
        False: also the ragged windows at the far border, giving (3, 3).  None (the
        default) warns and uses False, as Theano 1.0 did; say True or False.
    stride : tuple of 2 ints, optional
        How far the window moves between outputs, per axis; None means ``ws`` (windows
        that do not overlap).
    pad : tuple of 2 ints
        Rows and columns of padding on both sides of each pooled axis; each must be smaller
        than its window, and needs ``ignore_border=True``.  Padding never enters a maximum
        or a sum, and counts in an average only for 'average_inc_pad'.
    mode : str
        'max', 'sum', 'average_inc_pad' (divide by the window's size) or
        'average_exc_pad' (divide by the number of input elements in the window, padding
        excluded); Theano's 'max_deterministic' is 'max' and 'average' is
        'average_inc_pad'.  At ragged windows both averages divide by the part of the
        window inside the input.  An integer average is truncated to the input's dtype.
    ds, st, padding
        Deprecated names of ``ws``, ``stride`` and ``pad`` (a DeprecationWarning).

    Returns
    -------
    Variable
        Of the input's dtype and shape ``input.shape[:-2] + (rows, columns)``, where along
        each pooled axis of length ``n`` (``n + 2 * pad`` with padding), for window ``w``
        and stride ``s``: ``(n - w) // s + 1`` (at least 0) with ``ignore_border=True``;
        else ``(n - 1) // s + 1`` if ``s >= w``, and ``max(0, (n - 1 - w + s) // s) + 1``
        if ``s < w``.  Its gradient goes, for 'max', to every element equal to its
        window's maximum (overlapping windows add up), and otherwise is spread with the
        weights of the forward pass.

    Raises
    ------
    ValueError
        No ``ws``; both a name and its deprecated alias; an unknown mode; a tuple of the
        wrong length; a window or stride below 1 or a pad below 0.
    TypeError
        A window, stride or pad that is not a tuple of ints.
    NotImplementedError
        ``input`` of rank < 2, padding with ``ignore_border=False``, or a pad not smaller
        than its window (Theano's exceptions).

    Examples
    --------
    >>> images = T.tensor4('images')                      # (batch, channels, rows, columns)
    >>> pooled = pool.pool_2d(images, ws=(2, 2), ignore_border=True)
    """
    x, op = _arguments("pool_2d", 2, input, ws, ignore_border, stride, pad, mode, ds, st,
                       padding)
    return _make(op, (x.node,))


def pool_3d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0, 0), mode="max",
            ds=None, st=None, padding=None):
    """Pool the last 3 axes of ``input``: the maximum, sum or average of each window.

    The arguments mean what they mean for :func:`pool_2d`, with 3-tuples.

    Parameters
    ----------
    input : Variable or array_like
        Of rank >= 3, any dtype.
    ws : tuple of 3 ints
        The window's lengths along the last 3 axes.
    ignore_border : bool
        True: whole windows only; False: also ragged windows at the far border.  None
        warns and uses False, as Theano 1.0.
    stride : tuple of 3 ints, optional
        None means ``ws``.
    pad : tuple of 3 ints
        Padding on both sides of each pooled axis (needs ``ignore_border=True``).
    mode : str
        'max', 'sum', 'average_inc_pad' or 'average_exc_pad' (or Theano's aliases
        'max_deterministic' and 'average').
    ds, st, padding
        Deprecated names of ``ws``, ``stride`` and ``pad``.

    Returns
    -------
    Variable
        Of the input's dtype and shape ``input.shape[:-3]`` followed by the number of
        windows along each pooled axis (see :func:`pool_2d`).

    Raises
    ------
    ValueError, TypeError, NotImplementedError
        As :func:`pool_2d`; NotImplementedError for an input of rank < 3.

    Examples
    --------
    >>> volumes = T.tensor5('volumes')
    >>> pooled = pool.pool_3d(volumes, ws=(2, 2, 2), ignore_border=True)
    """
    x, op = _arguments("pool_3d", 3, input, ws, ignore_border, stride, pad, mode, ds, st,
                       padding)
    return _make(op, (x.node,))


def max_pool_2d_same_size(input, patch_size):
    """Keep each non-overlapping window's maximum where it is and set the rest to zero.

    Parameters
    ----------
    input : Variable or array_like
        Of rank >= 2; the last 2 axes are pooled.
    patch_size : tuple of 2 ints
        The windows' (rows, columns); windows at a ragged far border are left out
        (Theano's ``ignore_border=True``), so their elements become zero.

    Returns
    -------
    Variable
        Of the input's shape and dtype: an element equal to its window's maximum keeps its
        value (ties all keep it), every other element is 0.

    Raises
    ------
    NotImplementedError, ValueError, TypeError
        As :func:`pool_2d`.
    """
    x, op = _arguments("max_pool_2d_same_size", 2, input, patch_size, True, None, None,
                       "max", None, None, None)
    pooled = _make(op, (x.node,))
    return _make(MaxPoolGrad(op.ws, op.stride, op.pad, op.ignore_border),
                 (x.node, pooled.node, pooled.node))


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
    """Theano 0.7's ``theano.tensor.signal.downsample.max_pool_2d``: ``pool_2d`` with the
    old argument names (``ds`` the window, ``st`` the stride, ``padding`` the pad); despite
    its name it takes every ``mode`` ``pool_2d`` does."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding,
                   mode=mode)
