"""Circular functions and their inverses.

sin/cos/tan reduce x = q*pi/2 + r with a three-part Cody-Waite constant applied by fma
(the first step is exact), then evaluate minimax polynomials for sin and cos on
|r| <= pi/4 and pick/negate by q mod 4. The inverse functions reduce to atan on [0, 1]
and asin on [0, 1/2].
"""

from __future__ import annotations

from llvmlite import ir

from . import _coeffs as C
from ._emit import Emitter

# pi/2 as three full-precision parts (each the rounded remainder of the previous ones).
PIO2_3 = {"f32": (1.5707963705062866, -4.371138828673793e-08, -1.7151245100058819e-15),
          "f64": (1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33)}
PIO2 = {"f32": (1.5707963705062866, -4.371138828673793e-08),
        "f64": (1.5707963267948966, 6.123233995736766e-17)}
PI = {"f32": (3.1415927410125732, -8.742277657347586e-08),
      "f64": (3.141592653589793, 1.2246467991473532e-16)}
TWO_OVER_PI = 0.6366197723675814


def _reduce_pio2(e: Emitter, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Return (r, q mod 4 as int) with x = q*pi/2 + r, |r| <= ~pi/4.

    Beyond the accurate range the reduction is no longer exact; r is then clamped so the
    polynomials still return values in [-1, 1] instead of garbage.
    """
    p1, p2, p3 = PIO2_3[e.tag]
    q = e.rint(e.mul(x, TWO_OVER_PI))
    r = e.fma(e.neg(q), p1, x)
    r = e.fma(e.neg(q), p2, r)
    r = e.fma(e.neg(q), p3, r)
    lim = 0.8
    r = e.sel(e.cmp(">", e.abs(r), lim), e.copysign(lim, r), r)
    # q mod 4, computed in float so huge or non-finite q never reaches fptosi out of range.
    qm = e.sub(q, e.mul(4.0, e.floor(e.mul(q, 0.25))))
    return r, e.to_int(e.clamp(qm, 0.0, 3.0))


def _sin_poly(e: Emitter, r: ir.Value, z: ir.Value) -> ir.Value:
    """Return sin(r) for |r| <= 0.8, z = r*r."""
    return e.fma(e.mul(r, z), e.horner(z, C.SIN[e.tag]), r)


def _cos_poly(e: Emitter, z: ir.Value) -> ir.Value:
    """Return cos(r) for |r| <= 0.8, z = r*r, as 1 - z/2 with the rounding error of that
    subtraction added back (FreeBSD k_cos)."""
    hz = e.mul(0.5, z)
    w = e.sub(1.0, hz)
    tail = e.fma(e.mul(z, z), e.horner(z, C.COS[e.tag]), e.sub(e.sub(1.0, w), hz))
    return e.add(w, tail)


def _bit(e: Emitter, qi: ir.Value, mask: int) -> ir.Value:
    """Return an i1 (per lane) that is true when `qi & mask` is nonzero."""
    return e.b.icmp_unsigned("!=", e.b.and_(qi, e.ki(mask)), e.ki(0))


def _sincos(e: Emitter, x: ir.Value, cos_shift: int) -> ir.Value:
    """Return sin(x + cos_shift*pi/2)."""
    r, qi = _reduce_pio2(e, x)
    if cos_shift:
        qi = e.b.add(qi, e.ki(cos_shift))
    z = e.mul(r, r)
    v = e.sel(_bit(e, qi, 1), _cos_poly(e, z), _sin_poly(e, r, z))
    return e.sel(_bit(e, qi, 2), e.neg(v), v)


def sin(e: Emitter, x: ir.Value) -> ir.Value:
    # the reduction turns -0.0 into +0.0
    return e.sel(e.cmp("==", x, 0.0), x, _sincos(e, x, 0))


def cos(e: Emitter, x: ir.Value) -> ir.Value:
    return _sincos(e, x, 1)


def tan(e: Emitter, x: ir.Value) -> ir.Value:
    r, qi = _reduce_pio2(e, x)
    z = e.mul(r, r)
    s = _sin_poly(e, r, z)
    c = _cos_poly(e, z)
    odd = _bit(e, qi, 1)
    res = e.div(e.sel(odd, e.neg(c), s), e.sel(odd, s, c))
    return e.sel(e.cmp("==", x, 0.0), x, res)


def _atan_unit(e: Emitter, t: ir.Value) -> ir.Value:
    """Return atan(t) for t in [0, 1]."""
    z = e.mul(t, t)
    return e.fma(e.mul(t, z), e.horner(z, C.ATAN[e.tag]), t)


def _minus_from(e: Emitter, const: dict, a: ir.Value) -> ir.Value:
    """Return const - a with const given as (hi, lo)."""
    hi, lo = const[e.tag]
    return e.sub(hi, e.sub(a, lo))


def arctan(e: Emitter, x: ir.Value) -> ir.Value:
    ax = e.abs(x)
    inv = e.cmp(">", ax, 1.0)
    a = _atan_unit(e, e.sel(inv, e.div(1.0, ax), ax))
    # atan(x) = pi/2 - atan(1/x) for x > 1
    a = e.sel(inv, _minus_from(e, PIO2, a), a)
    return e.copysign(a, x)


def arctan2(e: Emitter, y: ir.Value, x: ir.Value) -> ir.Value:
    ax = e.abs(x)
    ay = e.abs(y)
    swap = e.cmp(">", ay, ax)
    t = e.div(e.sel(swap, ax, ay), e.sel(swap, ay, ax))
    # (0, 0) behaves like y/x = +0; (inf, inf) like |y/x| = 1 (C99 Annex F)
    t = e.sel(e.and_(e.cmp("==", ax, 0.0), e.cmp("==", ay, 0.0)), 0.0, t)
    both_inf = e.and_(e.cmp("==", ax, float("inf")), e.cmp("==", ay, float("inf")))
    t = e.sel(both_inf, 1.0, t)
    a = _atan_unit(e, t)
    a = e.sel(swap, _minus_from(e, PIO2, a), a)
    a = e.sel(e.signbit(x), _minus_from(e, PI, a), a)
    res = e.copysign(a, y)
    return e.nan_through(x, e.nan_through(y, res))


def _asin_unit(e: Emitter, t: ir.Value, z: ir.Value) -> ir.Value:
    """Return asin(t) for |t| <= 1/2, z = t*t."""
    return e.fma(e.mul(t, z), e.horner(z, C.ASIN[e.tag]), t)


def _asin_parts(e: Emitter, x: ir.Value):
    """Return (big, p): for |x| < 1/2, p = asin(|x|); else p = asin(sqrt((1-|x|)/2)), so that
    asin(|x|) = pi/2 - 2p. |x| > 1 gives nan through the sqrt."""
    ax = e.abs(x)
    big = e.cmp(">=", ax, 0.5)
    z = e.sel(big, e.mul(e.sub(1.0, ax), 0.5), e.mul(x, x))
    t = e.sel(big, e.sqrt(z), ax)
    return big, _asin_unit(e, t, z)


def arcsin(e: Emitter, x: ir.Value) -> ir.Value:
    big, p = _asin_parts(e, x)
    v = e.sel(big, _minus_from(e, PIO2, e.add(p, p)), p)
    return e.nan_through(x, e.copysign(v, x))


def arccos(e: Emitter, x: ir.Value) -> ir.Value:
    big, p = _asin_parts(e, x)
    p2 = e.add(p, p)
    neg = e.cmp("<", x, 0.0)
    # |x| >= 1/2: acos(x) = 2p for x > 0 and pi - 2p for x < 0
    v_big = e.sel(neg, _minus_from(e, PI, p2), p2)
    # |x| < 1/2: acos(x) = pi/2 - asin(x)
    v_small = _minus_from(e, PIO2, e.copysign(p, x))
    return e.nan_through(x, e.sel(big, v_big, v_small))


BODIES = {
    "sin": (1, sin),
    "cos": (1, cos),
    "tan": (1, tan),
    "arcsin": (1, arcsin),
    "arccos": (1, arccos),
    "arctan": (1, arctan),
    "arctan2": (2, arctan2),
}
