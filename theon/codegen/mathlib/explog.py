"""Exponentials, logarithms and pow.

exp-type functions reduce x = q*ln2 + r (Cody-Waite, |r| <= ln2/2), evaluate
expm1(r) = r + r**2 * P(r) and scale by 2**q in two steps so that subnormal results are
rounded once. log-type functions split x = m * 2**e with m in [sqrt(1/2), sqrt(2)) and use
log(m) = 2s + s**3 * Q(s**2), s = (m-1)/(m+1).
"""

from __future__ import annotations

from llvmlite import ir

from . import _coeffs as C
from ._emit import Emitter

# (hi, lo) splits: hi is the constant rounded to the type, lo the rounded remainder.
LN2 = {"f32": (0.6931471824645996, -1.9046542121259336e-09),
       "f64": (0.6931471805599453, 2.3190468138462996e-17)}
LOG2E = {"f32": (1.4426950216293335, 1.925963033500011e-08),
         "f64": (1.4426950408889634, 2.0355273740931033e-17)}
LOG10_2 = {"f32": (0.3010300099849701, -1.432098883924482e-08),
           "f64": (0.3010299956639812, -2.8037281277851704e-18)}
LOG10E = {"f32": (0.4342944920063019, -1.0103049952192578e-08),
          "f64": (0.4342944819032518, 1.098319650216765e-17)}
ONE = {"f32": (1.0, 0.0), "f64": (1.0, 0.0)}
# 2/3 = TWO_THIRDS[0] + TWO_THIRDS[1] exactly enough for the double-word log in pow.
TWO_THIRDS = (0.6666666666666666, 3.700743415417188e-17)


def expm1_reduced(e: Emitter, r: ir.Value) -> ir.Value:
    """Return expm1(r) for |r| <= ln2/2 as r + r**2 * P(r)."""
    return e.fma(e.mul(r, r), e.horner(r, C.EXPM1[e.tag]), r)


def _reduce_ln2(e: Emitter, x: ir.Value, qlo: float, qhi: float):
    """Return (q, r) with x = q*ln2 + r, q integral and clamped to [qlo, qhi] (nan-safe)."""
    hi, lo = LN2[e.tag]
    q = e.clamp(e.rint(e.mul(x, LOG2E[e.tag][0])), qlo, qhi)
    # With fma, x - q*hi is exact: both are multiples of ulp(hi) and the difference is < 1.
    r = e.fma(e.neg(q), hi, x)
    return q, e.fma(e.neg(q), lo, r)


def _exp_limits(e: Emitter) -> tuple[float, float]:
    """Arguments beyond which exp is certainly inf / 0 (inside them ldexp saturates)."""
    return (750.0, -760.0) if e.is64 else (100.0, -110.0)


def exp(e: Emitter, x: ir.Value) -> ir.Value:
    q, r = _reduce_ln2(e, x, -2000.0, 2000.0)
    res = e.ldexp(e.add(1.0, expm1_reduced(e, r)), q)
    hi, lo = _exp_limits(e)
    res = e.sel(e.cmp(">", x, hi), float("inf"), res)
    return e.sel(e.cmp("<", x, lo), 0.0, res)


def exp2(e: Emitter, x: ir.Value) -> ir.Value:
    q = e.clamp(e.rint(x), -2000.0, 2000.0)
    t = e.sub(x, q)
    hi, lo = LN2[e.tag]
    s = e.fma(t, hi, e.mul(t, lo))
    res = e.ldexp(e.add(1.0, expm1_reduced(e, s)), q)
    lim = 1100.0 if e.is64 else 160.0
    res = e.sel(e.cmp(">", x, lim), float("inf"), res)
    return e.sel(e.cmp("<", x, -lim), 0.0, res)


def expm1(e: Emitter, x: ir.Value) -> ir.Value:
    q, r = _reduce_ln2(e, x, -80.0, 2000.0)
    p = expm1_reduced(e, r)
    # 2**q * (1 + p) - 1 = fma(t, p, t - 1); t - 1 is exact while q <= mantissa + 2.
    t = e.pow2i(e.to_int(e.intrinsic("minnum", q, e.mant + 2)))
    small = e.fma(t, p, e.sub(t, 1.0))
    big = e.ldexp(e.add(1.0, p), q)
    res = e.sel(e.cmp(">", q, e.mant + 1), big, small)
    hi, _ = _exp_limits(e)
    res = e.sel(e.cmp(">", x, hi), float("inf"), res)
    # below this, e**x < ulp(1)/4 and the result rounds to -1
    res = e.sel(e.cmp("<", x, -40.0 if e.is64 else -20.0), -1.0, res)
    # keeps the sign of -0.0, which the reduction loses
    return e.sel(e.cmp("==", x, 0.0), x, res)


def log_reduced(e: Emitter, f: ir.Value) -> ir.Value:
    """Return log(1 + f) for 1 + f in [sqrt(1/2), sqrt(2)) and f exact."""
    s = e.div(f, e.add(2.0, f))
    z = e.mul(s, s)
    coeffs = (TWO_THIRDS[0],) + C.LOG[e.tag]
    w = e.mul(z, e.horner(z, coeffs))
    return e.fma(s, w, e.add(s, s))


def _log_specials(e: Emitter, x: ir.Value, res: ir.Value) -> ir.Value:
    """Apply log's special values: log(0) = -inf, log(<0) = nan, log(inf) = inf, nan."""
    res = e.sel(e.cmp("<", x, 0.0), float("nan"), res)
    res = e.sel(e.cmp("==", x, 0.0), float("-inf"), res)
    res = e.sel(e.cmp("==", x, float("inf")), float("inf"), res)
    return e.nan_through(x, res)


def _log_base(e: Emitter, x: ir.Value, scale: dict, per_log: dict) -> ir.Value:
    """Return e*scale + log(m)*per_log, i.e. log(x) in the base these constants encode."""
    ef, m = e.decompose(x)
    lp = log_reduced(e, e.sub(m, 1.0))
    a_hi, a_lo = scale[e.tag]
    b_hi, b_lo = per_log[e.tag]
    t = e.fma(lp, b_hi, e.mul(lp, b_lo))
    res = e.fma(ef, a_hi, e.fma(ef, a_lo, t))
    return _log_specials(e, x, res)


def log(e: Emitter, x: ir.Value) -> ir.Value:
    return _log_base(e, x, LN2, ONE)


def log2(e: Emitter, x: ir.Value) -> ir.Value:
    return _log_base(e, x, ONE, LOG2E)


def log10(e: Emitter, x: ir.Value) -> ir.Value:
    return _log_base(e, x, LOG10_2, LOG10E)


def log1p(e: Emitter, x: ir.Value) -> ir.Value:
    u = e.add(1.0, x)
    # err is the exact rounding error of u = 1 + x (Fast2Sum, larger operand first).
    big = e.cmp(">", e.abs(x), 1.0)
    a = e.sel(big, x, 1.0)
    c = e.sel(big, 1.0, x)
    err = e.add(e.sub(a, u), c)
    ef, m = e.decompose(u, subnormals=False)
    # log(u + err) = log(u) + err/u to first order, which is all that is left.
    lp = e.add(log_reduced(e, e.sub(m, 1.0)), e.div(err, u))
    hi, lo = LN2[e.tag]
    res = e.fma(ef, hi, e.fma(ef, lo, lp))
    res = e.sel(e.cmp("<", x, -1.0), float("nan"), res)
    res = e.sel(e.cmp("==", x, -1.0), float("-inf"), res)
    res = e.sel(e.cmp("==", x, float("inf")), float("inf"), res)
    res = e.sel(e.cmp("==", x, 0.0), x, res)
    return e.nan_through(x, res)


BODIES = {
    "exp": (1, exp),
    "exp2": (1, exp2),
    "expm1": (1, expm1),
    "log": (1, log),
    "log2": (1, log2),
    "log10": (1, log10),
    "log1p": (1, log1p),
}
