"""``theon.elemwise_op``: elementwise ops written as plain Python scalar functions.

numba compiles the function, once per combination of argument dtypes, to LLVM IR; theon
links that IR into its own fused kernels (``codegen/external.py``), where LLVM inlines it
into the loop.  The op therefore fuses with its neighbours like a built-in one: no C, no
separate kernel, no call per element.

The op's identity (what graph hashing, CSE and the compile caches see) is a digest of the
function's code, the constants and globals it reads, and the options; the compiled code
is identified by a digest of its LLVM IR.
"""
import functools
import hashlib
import re
import types
from dataclasses import dataclass

import numpy as np

from ..ir import dtypes
from ..ir import scalar as s
from ..ir.ops.elementwise import ELEMENTWISE, ElementwiseOp, float_kind, register_custom
from .elementwise import apply
from .variable import Variable, as_tensor_variable

__all__ = ["elemwise_op", "ElemwiseOp"]


def elemwise_op(fn=None, *, name=None, nin=None, output_dtype=None, input_dtypes=None,
                grad=None):
    """Turn a Python function of scalars into a theon elementwise op (usable as decorator).

    The function is compiled by numba in nopython mode (with numpy's error model: a
    division by zero gives inf or nan, it does not raise) for the dtypes the op is applied
    to, and its machine code is fused into theon's kernels: ``f(x) * 2 + y`` is one loop.

    Parameters
    ----------
    fn : callable
        A function of ``nin`` scalars returning one scalar (int, float or bool), using what
        numba's nopython mode supports (``math``, arithmetic, branches, loops).
    name : str, optional
        The op's name in graphs and reports (default: ``fn.__name__``); not the name of a
        built-in op.
    nin : int, optional
        Number of inputs (default: the function's positional parameters).
    output_dtype : str, optional
        The result's dtype.  Default: what numba infers for the argument dtypes, except
        that a float result of float arguments has their dtype (a Python float literal in
        the function does not turn float32 data into float64, as in theon's graphs).
    input_dtypes : sequence of str, optional
        The dtypes the inputs are converted to (default: all to their common float dtype,
        as theon's float functions do: float32 stays float32, integers become float64).
    grad : callable, optional
        ``grad(inputs, output, output_gradient) -> list`` of one Variable (or None) per
        input: the gradient of the cost with respect to each input, given the gradient
        with respect to the output (all symbolic Variables).  Without it, ``theon.grad``
        through the op raises NotImplementedError.  For derivatives computed
        automatically, define the op from a sympy expression (``theon.sympy_op``).

    Returns
    -------
    ElemwiseOp
        Call it on Variables (or numbers, arrays) to apply the op.

    Examples
    --------
    >>> @theon.elemwise_op
    ... def huber(r):
    ...     a = abs(r)
    ...     return 0.5 * r * r if a <= 1.0 else a - 0.5
    >>> x = T.vector('x')
    >>> f = theon.function([x], huber(x).sum())
    """
    options = dict(name=name, nin=nin, output_dtype=output_dtype, input_dtypes=input_dtypes,
                   grad=grad)
    if fn is None:
        return lambda function: ElemwiseOp(function, **options)
    return ElemwiseOp(fn, **options)


class ElemwiseOp:
    """An elementwise op defined by a Python scalar function (see ``elemwise_op``).

    Attributes
    ----------
    op : ir.ElementwiseOp
        The op nodes of the graph hold.
    fn : callable
        The Python function.
    """

    def __init__(self, fn, name=None, nin=None, output_dtype=None, input_dtypes=None,
                 grad=None):
        if not callable(fn) or not isinstance(fn, types.FunctionType):
            raise TypeError(f"elemwise_op: expected a Python function, got "
                            f"{type(fn).__name__}")
        name = fn.__name__ if name is None else name
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"elemwise_op: name must be an identifier, got {name!r}")
        if name in ELEMENTWISE or name == "cast":
            raise ValueError(f"elemwise_op: {name!r} is the name of a built-in op; choose "
                             "another name")
        nin = _arity(fn, name) if nin is None else nin
        if not isinstance(nin, int) or nin < 1:
            raise ValueError(f"elemwise_op {name!r}: nin must be a positive int, got {nin!r}")
        if output_dtype is not None:
            output_dtype = _dtype(output_dtype, name, "output_dtype")
        if input_dtypes is not None:
            input_dtypes = tuple(_dtype(d, name, "input_dtypes") for d in input_dtypes)
            if len(input_dtypes) != nin:
                raise ValueError(f"elemwise_op {name!r}: input_dtypes has "
                                 f"{len(input_dtypes)} dtypes; expected {nin} (nin)")
        if grad is not None and not callable(grad):
            raise TypeError(f"elemwise_op {name!r}: grad must be callable, got "
                            f"{type(grad).__name__}")
        self.fn = fn
        self.name = name
        self.nin = nin
        self._compiler = _Compiler(fn, name, output_dtype)
        self._input_dtypes = input_dtypes
        self._grad = grad
        attrs = (("function", _function_digest(fn)), ("output_dtype", output_dtype or ""),
                 ("input_dtypes", input_dtypes or ()))
        self.op = register_custom(CustomElementwiseOp(
            name, nin, self._signature, self._reference, self._lower, attrs=attrs,
            gradient=self._gradient))
        functools.update_wrapper(self, fn)

    def __call__(self, *operands):
        """Apply the op to ``operands`` (Variables, arrays or numbers); a Variable."""
        if len(operands) != self.nin:
            raise TypeError(f"{self.name}: expected {self.nin} argument"
                            f"{'s' if self.nin != 1 else ''}, got {len(operands)}")
        return apply(self.op, *operands)

    def __repr__(self):
        return f"<theon.elemwise_op {self.name} of {self.nin} input(s)>"

    def _signature(self, name, in_dtypes):
        if self._input_dtypes is not None:
            arg_dtypes = self._input_dtypes
        else:
            arg_dtypes, _ = float_kind(name, in_dtypes)
        arg_dtypes = tuple(arg_dtypes)
        out_dtype = self._compiler.output_dtype
        if out_dtype is None:  # what numba infers: compiling tells
            out_dtype = self._compiler.compiled(arg_dtypes).out_dtype
        return arg_dtypes, out_dtype

    def _lower(self, out_dtype, *args):
        compiled = self._compiler.compiled(tuple(a.dtype for a in args))
        return s.cast(s.call(compiled.function.symbol, args), out_dtype)

    def _reference(self, *arrays):
        compiled = self._compiler.compiled(tuple(a.dtype.name for a in arrays))
        return compiled.function.reference(*arrays)

    def _gradient(self, inputs, output, output_gradient):
        if self._grad is None:
            raise NotImplementedError(f"elemwise_op {self.name!r} has no gradient: pass "
                                      "grad=... to theon.elemwise_op, or define the op with "
                                      "theon.sympy_op to have it derived")
        variables = [Variable(node) for node in inputs]
        results = self._grad(variables, Variable(output), Variable(output_gradient))
        results = list(results) if isinstance(results, (list, tuple)) else [results]
        if len(results) != len(inputs):
            raise ValueError(f"elemwise_op {self.name!r}: grad returned {len(results)} "
                             f"gradient(s); expected {len(inputs)} (one per input, None "
                             "where there is none)")
        return tuple(None if r is None else as_tensor_variable(r).node for r in results)


@dataclass(frozen=True, eq=False)
class CustomElementwiseOp(ElementwiseOp):
    """The ir op of an ``elemwise_op``: an ElementwiseOp that prints as its name."""

    def describe(self):
        return self.name


@dataclass
class _Compiled:
    function: s.ExternalFunction
    out_dtype: str


class _Compiler:
    """numba compilations of one Python function, per tuple of argument dtypes."""

    def __init__(self, fn, name, output_dtype):
        self.fn = fn
        self.name = name
        self.output_dtype = output_dtype
        self._done = {}

    def compiled(self, arg_dtypes):
        """The _Compiled function for ``arg_dtypes`` (compiled on first use)."""
        done = self._done.get(arg_dtypes)
        if done is None:
            done = self._done[arg_dtypes] = self._compile(arg_dtypes)
        return done

    def _compile(self, arg_dtypes):
        import numba
        from numba.core.errors import NumbaError
        # numba has no bool arguments or results in its C calling convention that match
        # theon's i1: they cross as uint8 (the kernel casts)
        boundary = tuple("uint8" if d == dtypes.BOOL else d for d in arg_dtypes)
        argtypes = tuple(numba.from_dtype(np.dtype(d)) for d in boundary)
        options = dict(error_model="numpy", no_cpython_wrapper=True, no_cfunc_wrapper=True)
        dispatcher = numba.njit(**options)(self.fn)
        described = f"({', '.join(arg_dtypes)})"
        try:
            if self.output_dtype is None:
                dispatcher.compile(argtypes)
            else:
                result = numba.from_dtype(np.dtype(_boundary(self.output_dtype)))
                dispatcher.compile(result(*argtypes))
        except NumbaError as error:
            raise TypeError(f"elemwise_op {self.name!r}: numba cannot compile "
                            f"{self.fn.__qualname__} for scalar arguments {described}: "
                            f"{_first_line(error)}") from None
        (result,) = dispatcher.overloads.values()
        returned = _numba_scalar_dtype(result.signature.return_type, self.name,
                                       self.fn.__qualname__, described)
        out_dtype = self.output_dtype or returned
        if self.output_dtype is None and returned in dtypes.FLOATS and \
                set(arg_dtypes) <= set(dtypes.FLOATS):
            # a Python float literal makes numba compute in float64; as in theon's graphs,
            # it does not upcast float32 arguments (the kernel rounds the result)
            out_dtype = dtypes.upcast(*arg_dtypes)
        llvm_ir, callees = _normalised_ir(result)
        for callee in callees:
            _check_linkable(callee, self.name, self.fn.__qualname__)
        symbol = f"theon_ext_{self.name}_" + hashlib.blake2b(
            llvm_ir.encode(), digest_size=10).hexdigest()
        reference = _Reference(self.fn, boundary, _boundary(returned))
        function = s.register_external(s.ExternalFunction(
            symbol, boundary, _boundary(returned), llvm_ir.replace(_PLACEHOLDER, symbol),
            callees, reference, self.name))
        return _Compiled(function, out_dtype)


class _Reference:
    """The function over numpy arrays, through a numba ufunc compiled on first use (the
    numpy reference: constant folding, ``ir.evaluate``, DebugMode)."""

    def __init__(self, fn, arg_dtypes, out_dtype):
        self.fn, self.arg_dtypes, self.out_dtype = fn, arg_dtypes, out_dtype
        self._ufunc = None

    def __call__(self, *arrays):
        if self._ufunc is None:
            import numba
            signature = numba.from_dtype(np.dtype(self.out_dtype))(
                *[numba.from_dtype(np.dtype(d)) for d in self.arg_dtypes])
            self._ufunc = numba.vectorize([signature])(self.fn)
        arrays = [np.asarray(a).astype(d, copy=False) for a, d in zip(arrays, self.arg_dtypes)]
        with np.errstate(all="ignore"):
            return self._ufunc(*arrays)


_PLACEHOLDER = "theon_ext_function"
_GLOBAL_LINE = re.compile(r"^@(\S+) = (\w+ )*global ", re.MULTILINE)
_HEADER_LINE = re.compile(r"^(; ModuleID = .*|source_filename = .*)$", re.MULTILINE)


def _normalised_ir(result):
    """(LLVM IR of ``result``'s function, named ``_PLACEHOLDER``, its globals internal and
    its per-process names removed; the functions it calls)."""
    from ..codegen.llvm import binding
    text = result.library.get_llvm_str()
    text = text.replace(result.fndesc.env_name, _PLACEHOLDER + "_env")
    text = text.replace(result.fndesc.llvm_func_name, _PLACEHOLDER)
    text = _HEADER_LINE.sub("", text)
    # numba's environment pointer is a 'common' global: made private to the kernel module
    text = _GLOBAL_LINE.sub(lambda m: f"@{m.group(1)} = internal global ", text)
    module = binding().parse_assembly(text)
    defined = [f.name for f in module.functions if not f.is_declaration]
    if defined != [_PLACEHOLDER]:
        raise TypeError(f"numba produced the functions {defined} for one scalar function; "
                        "expected one")
    callees = tuple(sorted(f.name for f in module.functions if f.is_declaration))
    return text, callees


def _check_linkable(callee, name, qualname):
    """TypeError unless the CPU kernels can call ``callee`` (an LLVM intrinsic, a C library
    function, or one of numba's math helpers)."""
    if callee.startswith("llvm."):
        return
    from ..runtime.elf.memory import ElfLoadError, _process_symbol
    try:
        _process_symbol(callee)
    except ElfLoadError:
        raise TypeError(f"elemwise_op {name!r}: numba's code for {qualname} calls {callee}, "
                        "which theon's kernels cannot link (only C library functions and "
                        "numba's math helpers are available)") from None


def _numba_scalar_dtype(numba_type, name, qualname, described):
    """The dtype of numba type ``numba_type``; TypeError if it is not a scalar number."""
    import numba
    if isinstance(numba_type, numba.types.Boolean):
        return dtypes.BOOL
    if isinstance(numba_type, (numba.types.Integer, numba.types.Float)):
        return np.dtype(str(numba_type)).name
    raise TypeError(f"elemwise_op {name!r}: {qualname} must return a scalar (int, float or "
                    f"bool) for scalar arguments {described}; numba infers {numba_type}")


def _boundary(dtype):
    return "uint8" if dtype == dtypes.BOOL else dtype


def _arity(fn, name):
    import inspect
    parameters = inspect.signature(fn).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in parameters):
        raise TypeError(f"elemwise_op {name!r}: the function takes *args, **kwargs or "
                        "keyword-only parameters; give nin=")
    return len(parameters)


def _dtype(value, name, what):
    try:
        dtype = dtypes.canonical(value)
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype not in dtypes.INTS + dtypes.FLOATS + (dtypes.BOOL,):
        raise ValueError(f"elemwise_op {name!r}: {what} must be a numeric dtype name, got "
                         f"{value!r}")
    return dtype


def _first_line(error):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = [line for line in lines if not line.startswith(("Failed in", "File ", "During:"))]
    return (detail or lines or ["?"])[0]


def _function_digest(fn, depth=0):
    """A digest of what ``fn`` computes: its code (recursively through nested code
    objects), its constants and closure values, and the globals it reads (functions by
    their own digest, modules by name, values by repr)."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(f"{fn.__module__}.{fn.__qualname__}".encode())
    _hash_code(hasher, fn.__code__)
    for cell in fn.__closure__ or ():
        hasher.update(_value_text(cell.cell_contents, depth).encode())
    for global_name in _global_names(fn.__code__):
        if global_name in fn.__globals__:
            value = fn.__globals__[global_name]
            hasher.update(f"{global_name}={_value_text(value, depth)}".encode())
    if fn.__defaults__:
        hasher.update(repr(fn.__defaults__).encode())
    return hasher.hexdigest()


def _hash_code(hasher, code):
    hasher.update(code.co_code)
    hasher.update(repr(code.co_names).encode())
    hasher.update(repr(code.co_varnames).encode())
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            _hash_code(hasher, constant)
        else:
            hasher.update(repr(constant).encode())


def _global_names(code):
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return sorted(names)


def _value_text(value, depth):
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, types.FunctionType):
        return f"function {_function_digest(value, depth + 1)}" if depth < 4 else "function"
    if hasattr(value, "py_func"):  # a numba dispatcher the function calls
        return _value_text(value.py_func, depth)
    if isinstance(value, (int, float, complex, bool, str, bytes, tuple, np.number, np.ndarray)):
        return repr(value)
    return type(value).__qualname__
