"""The dtypes theon knows, their promotion rules and the autocasting of Python scalars.

Promotion between tensors follows numpy (``np.result_type`` on dtypes).  Two places differ
from numpy, both on purpose and both as in Theano:

* float functions of small integers compute in float32, not float16 (theon has no float16);
* Python scalars are *weak*: ``float32_var * 0.5`` stays float32 and ``int8_var + 3`` stays
  int8, so a constant never widens the graph it is mixed into.
"""
import functools

import numpy as np

BOOL = "bool"
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
INTS = SIGNED + UNSIGNED
FLOATS = ("float32", "float64")
ALL = (BOOL,) + INTS + FLOATS
INTEGRAL = (BOOL,) + INTS  # dtypes with exact arithmetic
NUMERIC = INTS + FLOATS
_ALL_SET = frozenset(ALL)

# Theano's short prefixes for the constructor families (fvector, imatrix, ...).
PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64",
            "f": "float32", "d": "float64"}


def canonical(dtype):
    """Return the canonical name of ``dtype`` ('float32', ...), or raise TypeError.

    Parameters
    ----------
    dtype : str, numpy dtype or type
        Anything ``numpy.dtype`` accepts, e.g. ``'float32'``, ``np.int64`` or ``'floatX'``
        (resolved by the caller beforehand).
    """
    if dtype in _ALL_SET:
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {', '.join(ALL)}") from None
    if name not in ALL:
        raise TypeError(f"dtype {name!r} is not supported; expected one of {', '.join(ALL)}")
    return name


def itemsize(dtype):
    """Bytes one element of ``dtype`` takes in memory (bool takes one byte)."""
    return np.dtype(dtype).itemsize


def is_float(dtype):
    """True for float32 and float64."""
    return dtype in FLOATS


def is_int(dtype):
    """True for the signed and unsigned integer dtypes (not bool)."""
    return dtype in INTS


def is_signed(dtype):
    """True for dtypes whose values may be negative."""
    return dtype in SIGNED or dtype in FLOATS


def upcast(*dtypes):
    """Numpy's result dtype for operands of ``dtypes``."""
    return _upcast(dtypes)


@functools.lru_cache(maxsize=4096)
def _upcast(dtypes):
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


def to_float(dtype):
    """The float dtype a float function of ``dtype`` computes in (Theano's upgrade_to_float)."""
    if dtype in FLOATS:
        return dtype
    if dtype in (BOOL, "int8", "uint8", "int16", "uint16"):
        return "float32"
    return "float64"


def smallest_int(value):
    """The narrowest signed int dtype holding the Python int ``value`` (Theano's autocast)."""
    for name in SIGNED:
        info = np.iinfo(name)
        if info.min <= value <= info.max:
            return name
    if 0 <= value <= np.iinfo("uint64").max:
        return "uint64"
    raise OverflowError(f"Python int {value} does not fit in any theon integer dtype")


def weak_scalar_dtype(value, other, float_x):
    """The dtype a Python scalar takes when combined with a tensor of dtype ``other``.

    Parameters
    ----------
    value : bool, int or float
        The Python scalar.
    other : str
        Dtype of the tensor operand.
    float_x : str
        ``config.floatX``, the dtype of a Python float mixed with integers.
    """
    if isinstance(value, (bool, np.bool_)):
        return other if other else BOOL
    if isinstance(value, (int, np.integer)):
        if other in FLOATS:
            return other
        if other in INTS:
            info = np.iinfo(other)
            if info.min <= value <= info.max:
                return other
            return upcast(other, smallest_int(int(value)))
        return smallest_int(int(value))
    if isinstance(value, (float, np.floating)):
        if other in FLOATS:
            return other
        return float_x
    raise TypeError(f"cannot use {type(value).__name__} {value!r} in a theon graph; "
                    "expected bool, int, float or an array")
