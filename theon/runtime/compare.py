"""Comparing a computed array with its reference, and saying how they differ (DebugMode)."""
import math

import numpy as np

# dtype -> (rtol, atol): float32 as Theano's DebugMode; float64 tighter than Theano's
# (1e-5, 1e-8), still far above the few ulps native math functions differ by
TOLERANCES = {"float32": (1e-5, 1e-5), "float64": (1e-7, 1e-10)}


class Tolerance:
    """How close a result must be to its reference.

    Floats: ``|result - reference| <= atol + rtol * |reference|`` elementwise, NaN equal to
    NaN and an infinity equal to the same infinity, with ``(rtol, atol)`` from
    ``TOLERANCES`` for the result's dtype unless given.  Integers and booleans: equal.

    Parameters
    ----------
    rtol, atol : float or None
        None: the dtype's default.
    """

    def __init__(self, rtol=None, atol=None):
        self.rtol = rtol
        self.atol = atol

    def of(self, dtype):
        """(rtol, atol) for results of ``dtype``."""
        default_rtol, default_atol = TOLERANCES.get(np.dtype(dtype).name, (0.0, 0.0))
        return (default_rtol if self.rtol is None else self.rtol,
                default_atol if self.atol is None else self.atol)


def mismatch(result, reference, tolerance, slack=None, skip_nonfinite_reference=False):
    """The boolean mask of the elements of ``result`` that differ from ``reference``
    beyond ``tolerance``; None when none does.

    Parameters
    ----------
    result, reference : numpy.ndarray
        Of one shape; the reference is compared in the result's dtype.
    tolerance : Tolerance
    slack : numpy.ndarray or None
        An absolute difference allowed on top of the tolerance, elementwise (the rounding
        of a reduction).
    skip_nonfinite_reference : bool
        Accept a finite result where the reference is NaN or infinite (the unoptimised
        graph overflows where a stabilised form does not).
    """
    with np.errstate(all="ignore"):
        expected = np.asarray(reference).astype(result.dtype)
        if result.dtype.kind in "biu":
            bad = result != expected
        else:
            rtol, atol = tolerance.of(result.dtype)
            # in float64, so that the tolerance itself is not rounded to float32
            got, expected = result.astype(np.float64), expected.astype(np.float64)
            close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
            if slack is not None:
                close |= np.abs(got - expected) <= slack
            if skip_nonfinite_reference:
                close |= ~np.isfinite(expected) & np.isfinite(got)
            bad = ~close
    return bad if bad.any() else None


def describe_mismatch(result, reference, bad, tolerance, kind):
    """How ``result`` differs from ``reference`` at the elements ``bad``: '1 of 3 elements
    differ beyond rtol=1e-07, atol=1e-10 (float64); max abs difference 1, max rel
    difference 0.333; first at index (1,): native 4.0, reference 3.0' (``kind`` names
    the result)."""
    with np.errstate(all="ignore"):
        absolute = np.abs(result.astype(np.float64) - reference.astype(np.float64))[bad]
        relative = absolute / np.abs(reference.astype(np.float64)[bad])
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    if result.dtype.kind in "biu":
        bounds = ""
    else:
        rtol, atol = tolerance.of(result.dtype)
        bounds = f" beyond rtol={rtol:g}, atol={atol:g} ({result.dtype})"
    return (f"{count} of {bad.size} element{'' if bad.size == 1 else 's'} "
            f"differ{'s' if count == 1 else ''}{bounds}; max abs difference "
            f"{_largest(absolute):.3g}, max rel difference {_largest(relative):.3g}; first at "
            f"index {index}: {kind} {result[index]!s}, reference {reference[index]!s}")


def _largest(differences):
    """The largest of ``differences`` ignoring NaNs (NaN when all are)."""
    known = differences[~np.isnan(differences)]
    return float(known.max()) if known.size else math.nan
