"""Converting values to declared tensor types, or saying why not: call arguments, and the
values given to shared variables (``frontend.shared.filter_value``)."""
import numpy as np

from ..ir import DTypeError


def convert_argument(value, dtype, ndim, description, allow_input_downcast):
    """``value`` as an ndarray of ``dtype`` and rank ``ndim``, or TypeError.

    Parameters
    ----------
    value : array_like
        An ndarray, a Python scalar, or a (nested) list.
    dtype : numpy.dtype
    ndim : int
    description : str
        How the error names this input: "input 0 ('x', float32[?])".
    allow_input_downcast : bool or None
        True: any conversion numpy can do.  None (Theano's default): conversions that lose
        nothing, plus Python floats to float32.  False: conversions that lose nothing.
    """
    return coerce(value, dtype, ndim, f"function: {description}", allow_input_downcast,
                  noun="an array",
                  advice="pass allow_input_downcast=True to theon.function to allow it",
                  exact_python_values=False)


def coerce(value, dtype, ndim, description, allow_downcast, noun, advice,
           exact_python_values):
    """``value`` as a native-byte-order ndarray of ``dtype`` and rank ``ndim``: itself when
    it already is one.

    Parameters
    ----------
    description : str
        Starts every error message, naming the target.
    allow_downcast : bool or None
        True: any conversion numpy can do.  Otherwise safe casts only, and for a Python
        value (not an ndarray) also a conversion that loses nothing and, with None, any
        float to a float dtype.
    noun : str
        What the messages call the value ("an array", "a value").
    advice : str
        How the downcast error says to allow the conversion.
    exact_python_values : bool
        Whether a Python value converted without loss is accepted with
        ``allow_downcast=False`` too (shared variables, as Theano's ``filter``), not only
        with None (function arguments).

    Raises
    ------
    DTypeError
        A non-numeric value, or a conversion that could lose precision.
    TypeError
        The wrong rank.
    """
    python_value = not isinstance(value, np.ndarray)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"{description} got {noun} of dtype {array.dtype}; expected "
                         f"{dtype.name}")
    if array.ndim != ndim:
        raise TypeError(f"{description} got {noun} of rank {array.ndim} "
                        f"(shape {array.shape}); expected rank {ndim}")
    if array.dtype != dtype:
        return _cast(array, dtype, description, allow_downcast, advice,
                     python_value and (allow_downcast is None or exact_python_values))
    if not array.dtype.isnative:
        return array.astype(dtype.newbyteorder("="))
    return array


def _cast(array, dtype, description, allow_downcast, advice, may_downcast_exact):
    if allow_downcast or np.can_cast(array.dtype, dtype, "safe"):
        return array.astype(dtype)
    if may_downcast_exact:
        converted = array.astype(dtype)
        # Python numbers may be downcast when nothing is lost (or, with None, floats)
        same = np.array_equal(converted.astype(array.dtype), array, equal_nan=True)
        floats = allow_downcast is None and array.dtype.kind == "f" and dtype.kind == "f"
        if same or floats:
            return converted
    raise DTypeError(f"{description} got dtype {array.dtype}; expected {dtype.name}, and "
                     f"the conversion could lose precision ({advice})")
