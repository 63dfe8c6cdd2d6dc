"""theon's own branch-free transcendental functions, emitted as LLVM IR.

libm calls block LLVM's loop vectoriser and do not exist on NVPTX, so every function here is
built from arithmetic, `select`, bit manipulation and a few portable intrinsics (fma, fabs,
copysign, floor, rint, sqrt, minnum, maxnum). Each (name, type) pair becomes one internal
`alwaysinline` function per module, e.g. ``theon.exp.f32``; LLVM inlines it into the caller's
loop and vectorises the result. Accuracy and algorithms are documented in docs/mathlib.md.
"""

from __future__ import annotations

from typing import Callable, Sequence

from llvmlite import ir

from . import erf, explog, hyper, power, trig
from ._emit import Emitter

# name -> (number of arguments, body emitter)
_BODIES: dict[str, tuple[int, Callable]] = {}
for _mod in (explog, trig, hyper, erf, power):
    _BODIES.update(_mod.BODIES)

SUPPORTED = frozenset(_BODIES)

_ATTRS = ("alwaysinline", "nounwind", "readnone")


def _float_type(args: Sequence[ir.Value], name: str) -> ir.Type:
    """Return the common float type of `args`, or raise TypeError."""
    if not args:
        raise TypeError(f"mathlib.call({name!r}): no arguments given")
    fty = args[0].type
    if not isinstance(fty, (ir.FloatType, ir.DoubleType)):
        raise TypeError(
            f"mathlib.call({name!r}): arguments must be float or double, got {fty}")
    for a in args[1:]:
        if a.type != fty:
            raise TypeError(
                f"mathlib.call({name!r}): all arguments must have type {fty}, got {a.type}")
    return fty


def _get_function(module: ir.Module, name: str, fty: ir.Type) -> ir.Function:
    """Return ``theon.<name>.<f32|f64>`` in `module`, emitting its body on first use."""
    nargs, body = _BODIES[name]
    tag = "f64" if isinstance(fty, ir.DoubleType) else "f32"
    fname = f"theon.{name}.{tag}"
    existing = module.globals.get(fname)
    if existing is not None:
        return existing
    fn = ir.Function(module, ir.FunctionType(fty, [fty] * nargs), name=fname)
    fn.linkage = "internal"
    for attr in _ATTRS:
        fn.attributes.add(attr)
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    emitter = Emitter(builder, fty, call)
    builder.ret(body(emitter, *fn.args))
    return fn


def call(builder: ir.IRBuilder, name: str, args: Sequence[ir.Value]) -> ir.Value:
    """Emit a call to theon's implementation of math function `name` on scalar float args.

    Parameters
    ----------
    builder : ir.IRBuilder
        Where the call is emitted; the implementation is added to ``builder.module``.
    name : str
        One of `SUPPORTED` (numpy names: ``exp``, ``log1p``, ``arctan2``, ``pow`` ...).
    args : sequence of ir.Value
        Scalar arguments, all ``float`` or all ``double``; two for ``arctan2`` (y, x) and
        ``pow`` (x, y), one otherwise.

    Returns
    -------
    ir.Value
        The result, of the same type as the arguments.

    Raises
    ------
    KeyError
        If `name` is not a supported function.
    TypeError
        If the arguments are not all float or all double, or their number is wrong.

    Examples
    --------
    >>> y = call(builder, "exp", [x])          # doctest: +SKIP
    """
    if name not in _BODIES:
        raise KeyError(
            f"mathlib: unknown function {name!r}; supported: {', '.join(sorted(SUPPORTED))}")
    fty = _float_type(args, name)
    nargs = _BODIES[name][0]
    if len(args) != nargs:
        raise TypeError(f"mathlib.call({name!r}): expected {nargs} argument(s), got {len(args)}")
    fn = _get_function(builder.module, name, fty)
    return builder.call(fn, list(args))


__all__ = ["SUPPORTED", "call"]
