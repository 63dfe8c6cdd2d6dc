"""Float emitter shared by every mathlib function body.

`Emitter` wraps an `ir.IRBuilder` and one float type so that function bodies read like the
reference C code: python floats become constants of the right type, and every helper is
branch-free (arithmetic, `select`, bit manipulation and a few portable intrinsics only).

The float type is either a scalar (``float``/``double``) or a vector of them
(``<N x float>``/``<N x double>``). Every helper is written once for both: integer
reinterpretations, comparisons and conversions take the matching shape (``<N x i32>``,
``<N x i1>``), constants are splatted and intrinsics get the vector suffix
(``llvm.fma.v8f32``). Each lane of a vector body computes exactly what the scalar body
computes for that lane, since it is the same sequence of IEEE operations.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

from llvmlite import ir

Operand = Union[ir.Value, float, int]

# Per scalar float type: (bits, mantissa bits, exponent bias, tag).
_LAYOUT = {
    "float": (32, 23, 127, "f32"),
    "double": (64, 52, 1023, "f64"),
}


def scalar_of(ty: ir.Type) -> ir.Type:
    """Return the element type of a vector type, or `ty` itself."""
    return ty.element if isinstance(ty, ir.VectorType) else ty


def type_tag(ty: ir.Type) -> str:
    """Return LLVM's overload suffix of a float type: ``f32``, ``f64``, ``v8f32``, ..."""
    tag = _LAYOUT[str(scalar_of(ty))][3]
    return f"v{ty.count}{tag}" if isinstance(ty, ir.VectorType) else tag


def declare_float_intrinsic(module: ir.Module, name: str, ty: ir.Type,
                            nargs: int) -> ir.Function:
    """Get or declare ``llvm.<name>.<tag>`` : (ty,) * nargs -> ty.

    (llvmlite's `Module.declare_intrinsic` has no suffix for vector types.)
    """
    fname = f"llvm.{name}.{type_tag(ty)}"
    existing = module.globals.get(fname)
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(ty, [ty] * nargs), name=fname)


class Emitter:
    """Branch-free helpers for one `IRBuilder` and one (scalar or vector) float type.

    Parameters
    ----------
    builder : ir.IRBuilder
        Positioned inside the function body being emitted.
    fty : ir.FloatType, ir.DoubleType or ir.VectorType of one of them
        The float type every operand has.
    caller : callable
        ``caller(builder, name, args, inline=...)``; used so that one mathlib function can
        call another through the same get-or-create path as the rest of theon.
    inline : bool
        Passed on to `caller` for such internal calls (the mode of the function being built).
    """

    def __init__(self, builder: ir.IRBuilder, fty: ir.Type, caller: Callable,
                 inline: bool = True) -> None:
        self.b = builder
        self.ty = fty
        self.lanes = fty.count if isinstance(fty, ir.VectorType) else None
        bits, mant, bias, tag = _LAYOUT[str(scalar_of(fty))]
        self.ity = self.like(ir.IntType(bits))
        self.mant = mant
        self.bias = bias
        self.tag = tag  # scalar tag: selects the coefficient tables
        self.is64 = bits == 64
        self._caller = caller
        self._inline = inline

    def like(self, scalar: ir.Type) -> ir.Type:
        """Return `scalar`, or a vector of it with as many lanes as the float type."""
        return scalar if self.lanes is None else ir.VectorType(scalar, self.lanes)

    # -- constants and conversions -------------------------------------------------------------

    def k(self, v: Operand) -> ir.Value:
        """Return `v` as a value of the float type (python numbers become constants)."""
        if isinstance(v, ir.Value):
            return v
        return ir.Constant(self.ty, float(v))

    def ki(self, v: int) -> ir.Constant:
        """Return an integer constant of the same width (and lanes) as the float type."""
        return ir.Constant(self.ity, v)

    def call(self, name: str, *args: ir.Value) -> ir.Value:
        """Call another mathlib function (emitted once per module, in this body's mode)."""
        return self._caller(self.b, name, list(args), inline=self._inline)

    def intrinsic(self, name: str, *args: Operand) -> ir.Value:
        """Call the overloaded float intrinsic `llvm.<name>` on float operands."""
        fn = declare_float_intrinsic(self.b.module, name, self.ty, len(args))
        return self.b.call(fn, [self.k(a) for a in args])

    # -- arithmetic ----------------------------------------------------------------------------

    def add(self, a: Operand, c: Operand) -> ir.Value:
        return self.b.fadd(self.k(a), self.k(c))

    def sub(self, a: Operand, c: Operand) -> ir.Value:
        return self.b.fsub(self.k(a), self.k(c))

    def mul(self, a: Operand, c: Operand) -> ir.Value:
        return self.b.fmul(self.k(a), self.k(c))

    def div(self, a: Operand, c: Operand) -> ir.Value:
        return self.b.fdiv(self.k(a), self.k(c))

    def neg(self, a: Operand) -> ir.Value:
        return self.b.fneg(self.k(a))

    def fma(self, a: Operand, c: Operand, d: Operand) -> ir.Value:
        """Return a*c + d with one rounding (llvm.fma, never contracted away)."""
        return self.intrinsic("fma", a, c, d)

    def abs(self, a: Operand) -> ir.Value:
        return self.intrinsic("fabs", a)

    def copysign(self, mag: Operand, sgn: Operand) -> ir.Value:
        return self.intrinsic("copysign", mag, sgn)

    def floor(self, a: Operand) -> ir.Value:
        return self.intrinsic("floor", a)

    def rint(self, a: Operand) -> ir.Value:
        return self.intrinsic("rint", a)

    def sqrt(self, a: Operand) -> ir.Value:
        return self.intrinsic("sqrt", a)

    def clamp(self, a: Operand, lo: float, hi: float) -> ir.Value:
        """Return `a` limited to [lo, hi]; nan becomes `lo` (minnum/maxnum drop nan), so the
        result is always safe to convert to an integer."""
        return self.intrinsic("maxnum", self.intrinsic("minnum", a, hi), lo)

    # -- comparisons and selection -------------------------------------------------------------

    def cmp(self, op: str, a: Operand, c: Operand) -> ir.Value:
        """Ordered comparison: false whenever an operand is nan."""
        return self.b.fcmp_ordered(op, self.k(a), self.k(c))

    def isnan(self, a: Operand) -> ir.Value:
        return self.b.fcmp_unordered("uno", self.k(a), self.k(a))

    def sel(self, cond: ir.Value, a: Operand, c: Operand) -> ir.Value:
        return self.b.select(cond, self.k(a), self.k(c))

    def and_(self, p: ir.Value, q: ir.Value) -> ir.Value:
        return self.b.and_(p, q)

    def or_(self, p: ir.Value, q: ir.Value) -> ir.Value:
        return self.b.or_(p, q)

    def not_(self, p: ir.Value) -> ir.Value:
        return self.b.not_(p)

    def nan_through(self, x: ir.Value, res: ir.Value) -> ir.Value:
        """Return `x` where it is nan (keeping its payload), else `res`."""
        return self.sel(self.isnan(x), x, res)

    def signbit(self, x: ir.Value) -> ir.Value:
        """Return an i1 (per lane) that is true when the sign bit of `x` is set (also for
        -0.0, -nan)."""
        return self.b.icmp_signed("<", self.bits(x), self.ki(0))

    # -- bit level -----------------------------------------------------------------------------

    def bits(self, x: ir.Value) -> ir.Value:
        return self.b.bitcast(x, self.ity)

    def from_bits(self, i: ir.Value) -> ir.Value:
        return self.b.bitcast(i, self.ty)

    def to_int(self, x: ir.Value) -> ir.Value:
        """Convert an integer-valued float that is known to be in range (clamped) to int."""
        return self.b.fptosi(x, self.ity)

    def pow2i(self, n: ir.Value) -> ir.Value:
        """Return 2**n as a float for an integer `n` in the normal exponent range."""
        biased = self.b.add(n, self.ki(self.bias))
        return self.from_bits(self.b.shl(biased, self.ki(self.mant)))

    def ldexp(self, x: ir.Value, q: ir.Value) -> ir.Value:
        """Return x * 2**q for integer-valued float `q`, rounding once even into subnormals.

        The scale is applied in two factors, each a normal power of two, so that
        2**q itself never has to be representable; `q` is clamped to the range where both
        halves stay normal (far beyond where the product saturates).
        """
        lim = 2 * self.bias - 2
        n = self.to_int(self.clamp(q, -lim, lim))
        half = self.b.ashr(n, self.ki(1))
        rest = self.b.sub(n, half)
        return self.mul(self.mul(x, self.pow2i(half)), self.pow2i(rest))

    def decompose(self, x: ir.Value, subnormals: bool = True) -> tuple[ir.Value, ir.Value]:
        """Return (e, m) with x = m * 2**e, m in [sqrt(1/2), sqrt(2)), for positive finite x.

        Other inputs give finite garbage that the caller replaces with `select`.
        Subnormal inputs are first scaled into the normal range when `subnormals` is set.
        """
        e_adj = self.k(0.0)
        if subnormals:
            up = 64 if self.is64 else 32
            tiny = self.cmp("<", x, 2.0 ** (1 - self.bias))
            x = self.sel(tiny, self.mul(x, 2.0 ** up), x)
            e_adj = self.sel(tiny, -float(up), 0.0)
        # Offsetting by the bits of sqrt(1/2) moves the exponent boundary to sqrt(2) (musl).
        sqrt_half = 0x3FE6A09E667F3BCD if self.is64 else 0x3F3504F3
        one = (self.bias << self.mant)
        shifted = self.b.add(self.bits(x), self.ki(one - sqrt_half))
        e = self.b.sub(self.b.ashr(shifted, self.ki(self.mant)), self.ki(self.bias))
        mbits = self.b.and_(shifted, self.ki((1 << self.mant) - 1))
        m = self.from_bits(self.b.add(mbits, self.ki(sqrt_half)))
        ef = self.add(self.b.sitofp(e, self.ty), e_adj)
        return ef, m

    # -- polynomials and double-word arithmetic ------------------------------------------------

    def horner(self, t: ir.Value, coeffs: Sequence[float]) -> ir.Value:
        """Return sum(coeffs[i] * t**i) by Horner's rule with fma."""
        acc = self.k(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, t, c)
        return acc

    def two_sum(self, a: ir.Value, c: ir.Value) -> tuple[ir.Value, ir.Value]:
        """Return (s, err) with s = fl(a + c) and s + err == a + c exactly (Knuth)."""
        s = self.add(a, c)
        cc = self.sub(s, a)
        err = self.add(self.sub(a, self.sub(s, cc)), self.sub(c, cc))
        return s, err

    def fast_two_sum(self, a: ir.Value, c: ir.Value) -> tuple[ir.Value, ir.Value]:
        """Like `two_sum` but requires |a| >= |c| (Dekker)."""
        s = self.add(a, c)
        return s, self.sub(c, self.sub(s, a))

    def two_prod(self, a: Operand, c: Operand) -> tuple[ir.Value, ir.Value]:
        """Return (p, err) with p = fl(a * c) and p + err == a * c exactly (fma)."""
        p = self.mul(a, c)
        return p, self.fma(a, c, self.neg(p))

    def piecewise(self, x: ir.Value, breaks: Sequence[float],
                  tables: Sequence[Sequence[float]]) -> list[ir.Value]:
        """Return, per position, tables[i][pos] for the last i with x >= breaks[i].

        This replaces a table lookup by a chain of selects so that the code stays
        branch- and memory-free.
        """
        conds = [self.cmp(">=", x, bp) for bp in breaks[1:]]
        out = []
        for pos in range(len(tables[0])):
            v = self.k(tables[0][pos])
            for cond, tab in zip(conds, tables[1:]):
                v = self.sel(cond, tab[pos], v)
            out.append(v)
        return out
