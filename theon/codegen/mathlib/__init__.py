"""theon's own branch-free transcendental functions, emitted as LLVM IR.

libm has no vector entry points theon can call and does not exist on NVPTX, so every
function here is built from arithmetic, `select`, bit manipulation and a few portable
intrinsics (fma, fabs, copysign, floor, rint, sqrt, minnum, maxnum), and works on scalars and
on vectors alike. Each (name, type) pair becomes one internal function per module, e.g.
``theon.exp.f32`` or ``theon.exp.v16f32``. With ``inline=True`` (default) it is
`alwaysinline`. With ``inline=False`` (what the CPU target uses) it is `noinline`, so a big
kernel calling it many times compiles one body instead of one per call site.
Accuracy and algorithms are documented in docs/mathlib.md.
"""

from __future__ import annotations

from typing import Callable, Sequence

from llvmlite import ir

from . import erf, explog, hyper, power, trig
from ._emit import Emitter, scalar_of, type_tag

# name -> (number of arguments, body emitter)
_BODIES: dict[str, tuple[int, Callable]] = {}
for _mod in (explog, trig, hyper, erf, power):
    _BODIES.update(_mod.BODIES)

SUPPORTED = frozenset(_BODIES)

_ATTRS = ("nounwind", "readnone")


def _float_type(args: Sequence[ir.Value], name: str) -> ir.Type:
    """Return the common (scalar or vector) float type of `args`, or raise TypeError."""
    if not args:
        raise TypeError(f"mathlib.call({name!r}): no arguments given")
    fty = args[0].type
    if not isinstance(scalar_of(fty), (ir.FloatType, ir.DoubleType)):
        raise TypeError(
            f"mathlib.call({name!r}): arguments must be float or double, got {fty}")
    for a in args[1:]:
        if a.type != fty:
            raise TypeError(
                f"mathlib.call({name!r}): all arguments must have type {fty}, got {a.type}")
    return fty


def function_name(name: str, fty: ir.Type) -> str:
    """Return the symbol of math function `name` for float type `fty`, e.g.
    ``theon.exp.f32``, ``theon.sin.v8f64``."""
    return f"theon.{name}.{type_tag(fty)}"


def _get_function(module: ir.Module, name: str, fty: ir.Type, inline: bool) -> ir.Function:
    """Return ``theon.<name>.<tag>`` in `module`, emitting its body on first use.

    The first request decides the inline attribute; later ones get the existing function.
    """
    nargs, body = _BODIES[name]
    fname = function_name(name, fty)
    existing = module.globals.get(fname)
    if existing is not None:
        return existing
    fn = ir.Function(module, ir.FunctionType(fty, [fty] * nargs), name=fname)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline" if inline else "noinline")
    for attr in _ATTRS:
        fn.attributes.add(attr)
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    emitter = Emitter(builder, fty, call, inline=inline)
    builder.ret(body(emitter, *fn.args))
    return fn


def call(builder: ir.IRBuilder, name: str, args: Sequence[ir.Value],
         inline: bool = True) -> ir.Value:
    """Emit a call to theon's implementation of math function `name` on float args.

    Parameters
    ----------
    builder : ir.IRBuilder
        Where the call is emitted; the implementation is added to ``builder.module``.
    name : str
        One of `SUPPORTED` (numpy names: ``exp``, ``log1p``, ``arctan2``, ``pow`` ...).
    args : sequence of ir.Value
        Arguments of one common type: ``float``, ``double``, ``<N x float>`` or
        ``<N x double>`` (any N; vectors are computed lane by lane, bit-identical to the
        scalar function); two for ``arctan2`` (y, x) and ``pow`` (x, y), one otherwise.
    inline : bool, default True
        True: the function is ``alwaysinline`` (LLVM pastes the body into every caller).
        False: it is ``noinline`` and called, so its body is compiled once per module.
        The attribute is fixed when the function is created: the first request for a
        (name, type) in a module decides it, later requests reuse that function whatever
        they pass. Functions built on others (tanh on expm1, ...) request those in their
        own mode.

    Returns
    -------
    ir.Value
        The result, of the same type as the arguments.

    Raises
    ------
    KeyError
        If `name` is not a supported function.
    TypeError
        If the arguments are not all float or all double (or vectors of one of them, all of
        the same type), or their number is wrong.

    Examples
    --------
    >>> y = call(builder, "exp", [x])          # doctest: +SKIP
    >>> v = call(builder, "sin", [x8], inline=False)   # x8: <8 x double>; doctest: +SKIP
    """
    if name not in _BODIES:
        raise KeyError(
            f"mathlib: unknown function {name!r}; supported: {', '.join(sorted(SUPPORTED))}")
    fty = _float_type(args, name)
    nargs = _BODIES[name][0]
    if len(args) != nargs:
        raise TypeError(f"mathlib.call({name!r}): expected {nargs} argument(s), got {len(args)}")
    fn = _get_function(builder.module, name, fty, inline)
    return builder.call(fn, list(args))


__all__ = ["SUPPORTED", "call", "function_name"]
