"""Converting call arguments to the declared input types, or saying why not."""
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
    python_value = not isinstance(value, np.ndarray)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"function: {description} got an array of dtype {array.dtype}; "
                         f"expected {dtype.name}")
    if array.ndim != ndim:
        raise TypeError(f"function: {description} got an array of rank {array.ndim} "
                        f"(shape {array.shape}); expected rank {ndim}")
    if array.dtype != dtype:
        array = _cast(array, dtype, description, allow_input_downcast, python_value)
    elif not array.dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array


def _cast(array, dtype, description, allow_input_downcast, python_value):
    if allow_input_downcast or np.can_cast(array.dtype, dtype, "safe"):
        return array.astype(dtype)
    if allow_input_downcast is None and python_value:
        converted = array.astype(dtype)
        # Python numbers may be downcast when nothing is lost (or, floats to float32)
        same = np.array_equal(converted.astype(array.dtype), array, equal_nan=True)
        if same or (array.dtype.kind == "f" and dtype.kind == "f"):
            return converted
    raise DTypeError(f"function: {description} got dtype {array.dtype}; expected "
                     f"{dtype.name}, and the conversion could lose precision (pass "
                     "allow_input_downcast=True to theon.function to allow it)")
