"""erf and erfc.

|x| < 1/2: erf(x) = x * P(x**2). Otherwise erfc(|x|) = exp(-x**2) * G(1/|x|) with G a
piecewise polynomial (coefficients chosen by a chain of selects, no table loads), and
exp(-x**2) evaluated from the exact double-word square of x.
"""

from __future__ import annotations

from llvmlite import ir

from . import _coeffs as C
from ._emit import Emitter


def _erf_small(e: Emitter, x: ir.Value) -> ir.Value:
    """Return erf(x) for |x| <= 1/2."""
    return e.mul(x, e.horner(e.mul(x, x), C.ERF[e.tag]))


def _erfc_tail(e: Emitter, ax: ir.Value) -> ir.Value:
    """Return erfc(ax) for ax >= 1/2 (any larger value, inf included, gives 0 or a tiny
    positive number)."""
    pieces = C.ERFC_TAIL[e.tag]
    ax = e.intrinsic("minnum", ax, 28.0 if e.is64 else 11.0)
    mid, *coeffs = e.piecewise(ax, [p[0] for p in pieces], [(p[1],) + p[2] for p in pieces])
    g = e.horner(e.sub(e.div(1.0, ax), mid), coeffs)
    # exp(-(h + l)) = exp(-h) * (1 - l) with h + l = ax**2 exactly
    h, lo = e.two_prod(ax, ax)
    eg = e.mul(e.call("exp", e.neg(h)), g)
    return e.fma(e.neg(lo), eg, eg)


def erf(e: Emitter, x: ir.Value) -> ir.Value:
    ax = e.abs(x)
    big = e.copysign(e.sub(1.0, _erfc_tail(e, e.intrinsic("maxnum", ax, 0.5))), x)
    res = e.sel(e.cmp("<", ax, 0.5), _erf_small(e, x), big)
    return e.nan_through(x, res)


def erfc(e: Emitter, x: ir.Value) -> ir.Value:
    ax = e.abs(x)
    tail = _erfc_tail(e, e.intrinsic("maxnum", ax, 0.5))
    res = e.sel(e.cmp("<", x, 0.0), e.sub(2.0, tail), tail)
    res = e.sel(e.cmp("<", ax, 0.5), e.sub(1.0, _erf_small(e, x)), res)
    return e.nan_through(x, res)


BODIES = {
    "erf": (1, erf),
    "erfc": (1, erfc),
}
