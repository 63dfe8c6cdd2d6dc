"""pow(x, y) = exp(y * log|x|) with log|x| and the product carried in double-word precision.

float64 needs log|x| to about 2**-64 relative because y*log|x| can reach 745 and its
absolute error becomes the relative error of the result. float32 pow converts to double
and rounds the double result (measured: a float32-only exp(y*log x) is off by hundreds of
ulp for large results).
"""

from __future__ import annotations

from llvmlite import ir

from . import _coeffs as C
from ._emit import Emitter
from .explog import LN2, LOG2E, TWO_THIRDS, expm1_reduced


def _log_dd(e: Emitter, ax: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Return (hi, lo) with hi + lo = log(ax) to ~2**-66 relative, ax positive finite."""
    ef, m = e.decompose(ax)
    f = e.sub(m, 1.0)
    # s = f / (2 + f) as a double word: den is exact as den + den_lo (Fast2Sum, 2 >= |f|)
    den, den_lo = e.fast_two_sum(e.k(2.0), f)
    s = e.div(f, den)
    rem = e.sub(e.fma(e.neg(s), den, f), e.mul(s, den_lo))
    s_lo = e.div(rem, den)
    # log(m) = 2s + s**3 * (2/3 + w), w = z * P(z), z = s**2
    z, z_lo = e.two_prod(s, s)
    z_lo = e.fma(e.add(s, s), s_lo, z_lo)
    w = e.mul(z, e.horner(z, C.LOG["f64"]))
    in_hi, in_lo = e.fast_two_sum(e.k(TWO_THIRDS[0]), w)
    in_lo = e.add(in_lo, TWO_THIRDS[1])
    s3, s3_lo = e.two_prod(z, s)
    s3_lo = e.fma(z, s_lo, e.fma(z_lo, s, s3_lo))
    t, t_lo = e.two_prod(s3, in_hi)
    t_lo = e.fma(s3, in_lo, e.fma(s3_lo, in_hi, t_lo))
    # e*ln2 as a double word
    ln2_hi, ln2_lo = LN2["f64"]
    l2, l2_lo = e.two_prod(ef, ln2_hi)
    l2_lo = e.fma(ef, ln2_lo, l2_lo)
    h1, lo1 = e.two_sum(l2, e.add(s, s))
    h2, lo2 = e.two_sum(h1, t)
    lo = e.add(e.add(lo1, lo2), e.add(e.add(l2_lo, e.add(s_lo, s_lo)), t_lo))
    return e.fast_two_sum(h2, lo)


def _exp_dd(e: Emitter, p: ir.Value, p_lo: ir.Value) -> ir.Value:
    """Return exp(p + p_lo), saturating to inf / 0 outside the double range."""
    ln2_hi, ln2_lo = LN2["f64"]
    q = e.clamp(e.rint(e.mul(p, LOG2E["f64"][0])), -2000.0, 2000.0)
    r = e.fma(e.neg(q), ln2_hi, p)
    r = e.add(e.fma(e.neg(q), ln2_lo, r), p_lo)
    res = e.ldexp(e.add(1.0, expm1_reduced(e, r)), q)
    res = e.sel(e.cmp(">", p, 750.0), float("inf"), res)
    return e.sel(e.cmp("<", p, -760.0), 0.0, res)


def _pow_f64(e: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:
    """C99 pow for doubles."""
    ax = e.abs(x)
    lh, ll = _log_dd(e, ax)
    p, p_lo = e.two_prod(y, lh)
    mag = _exp_dd(e, p, e.fma(y, ll, p_lo))
    inf = float("inf")
    y_neg = e.cmp("<", y, 0.0)
    mag = e.sel(e.cmp("==", ax, 0.0), e.sel(y_neg, inf, 0.0), mag)
    mag = e.sel(e.cmp("==", ax, inf), e.sel(y_neg, 0.0, inf), mag)
    y_int = e.cmp("==", e.floor(y), y)
    half = e.mul(y, 0.5)
    y_odd = e.and_(y_int, e.cmp("!=", e.floor(half), half))
    res = e.sel(e.and_(e.signbit(x), y_odd), e.neg(mag), mag)
    # a finite negative base needs an integer exponent
    neg_finite = e.and_(e.cmp("<", x, 0.0), e.cmp(">", x, -inf))
    res = e.sel(e.and_(neg_finite, e.not_(y_int)), float("nan"), res)
    # log|nan| is finite garbage in the bit-level decomposition, so propagate nan here
    res = e.sel(e.b.fcmp_unordered("uno", x, y), e.add(x, y), res)
    one_inf = e.and_(e.cmp("==", ax, 1.0), e.cmp("==", e.abs(y), inf))
    res = e.sel(one_inf, 1.0, res)
    res = e.sel(e.cmp("==", x, 1.0), 1.0, res)
    return e.sel(e.cmp("==", y, 0.0), 1.0, res)


def pow(e: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:  # noqa: A001 - numpy's name
    if e.is64:
        return _pow_f64(e, x, y)
    dty = e.like(ir.DoubleType())
    res = e.call("pow", e.b.fpext(x, dty), e.b.fpext(y, dty))
    return e.b.fptrunc(res, e.ty)


BODIES = {"pow": (2, pow)}
