"""Minimal JIT harness for the mathlib tests: loop kernels compiled at O3 and called by ctypes.

Every kernel is ``void k(T* in0, [T* in1,] T* out, i64 n)`` with ``out[i] = f(in0[i], ...)``.
A scalar kernel calls ``mathlib.call`` on one element per iteration (default inline mode);
a vector kernel (``lanes`` = N) loads ``<N x T>`` per iteration, calls ``mathlib.call`` on the
vector with the given `inline` mode and stores ``<N x T>``; there n counts chunks of N and
`Kernels.run` pads the inputs to a multiple of N.
All kernels of one `Kernels` live in one module so that LLVM is run once for them.
"""

from __future__ import annotations

import ctypes
import re
from contextlib import contextmanager
from typing import Iterable

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir

from theon.codegen import mathlib

_IR_TYPES = {np.float32: ir.FloatType, np.float64: ir.DoubleType}
_CTYPES = {np.float32: ctypes.c_float, np.float64: ctypes.c_double}


def kernel_name(name: str, dtype: type, lanes: int | None = None,
                inline: bool = True) -> str:
    """Return the symbol of the loop kernel for (name, dtype[, lanes, inline])."""
    base = f"k_{name}_{np.dtype(dtype).name}"
    if lanes is None:
        return base
    return f"{base}_v{lanes}_{'inline' if inline else 'call'}"


@contextmanager
def _for_range(builder: ir.IRBuilder, n: ir.Value):
    """Yield the index of a counted loop 0 <= i < n (n > 0 is not required)."""
    i64 = n.type
    pre = builder.block
    head = builder.append_basic_block("head")
    body = builder.append_basic_block("body")
    done = builder.append_basic_block("done")
    builder.branch(head)
    builder.position_at_end(head)
    idx = builder.phi(i64)
    idx.add_incoming(ir.Constant(i64, 0), pre)
    builder.cbranch(builder.icmp_signed("<", idx, n), body, done)
    builder.position_at_end(body)
    yield idx
    idx.add_incoming(builder.add(idx, ir.Constant(i64, 1)), builder.block)
    builder.branch(head)
    builder.position_at_end(done)


def _add_kernel(module: ir.Module, name: str, dtype: type, nargs: int,
                lanes: int | None = None, inline: bool = True) -> None:
    """Add the loop kernel for (name, dtype[, lanes, inline]) to `module`."""
    fty = _IR_TYPES[dtype]()
    ptr = fty.as_pointer()
    i64 = ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr] * (nargs + 1) + [i64]),
                     name=kernel_name(name, dtype, lanes, inline))
    for arg in fn.args[:-1]:
        arg.add_attribute("noalias")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    *ins, out, n = fn.args
    if lanes is None:
        with _for_range(builder, n) as i:
            vals = [builder.load(builder.gep(p, [i]), typ=fty) for p in ins]
            res = mathlib.call(builder, name, vals)
            builder.store(res, builder.gep(out, [i]))
    else:
        vty = ir.VectorType(fty, lanes)
        vptr = vty.as_pointer()
        align = np.dtype(dtype).itemsize  # numpy guarantees element alignment only
        vins = [builder.bitcast(p, vptr) for p in ins]
        vout = builder.bitcast(out, vptr)
        with _for_range(builder, n) as i:
            vals = [builder.load(builder.gep(p, [i]), typ=vty, align=align) for p in vins]
            res = mathlib.call(builder, name, vals, inline=inline)
            builder.store(res, builder.gep(vout, [i]), align=align)
    builder.ret_void()


def _target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=3)


class Kernels:
    """A compiled module with one loop kernel per spec.

    A spec is ``(name, dtype, nargs)`` for a scalar kernel or
    ``(name, dtype, nargs, lanes, inline)`` for a vector kernel.
    """

    def __init__(self, specs: Iterable[tuple]) -> None:
        self.specs = {}
        for name, dtype, nargs, *rest in specs:
            lanes, inline = rest if rest else (None, True)
            self.specs[(name, dtype, lanes, inline)] = nargs
        self.tm = _target_machine()
        module = ir.Module(name="mathlib_tests")
        module.triple = self.tm.triple
        module.data_layout = str(self.tm.target_data)
        for (name, dtype, lanes, inline), nargs in self.specs.items():
            _add_kernel(module, name, dtype, nargs, lanes, inline)
        self.ir_text = str(module)
        mod = llvm.parse_assembly(self.ir_text)
        mod.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pb = llvm.create_pass_builder(self.tm, pto)
        pb.getModulePassManager().run(mod, pb)
        self.optimized_ir = str(mod)
        self.asm = self.tm.emit_assembly(mod)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(self.tm.emit_object(mod)))
        self.engine.finalize_object()
        self._funcs = {}

    def _func(self, name: str, dtype: type, lanes: int | None, inline: bool):
        key = (name, dtype, lanes, inline)
        if key not in self._funcs:
            nargs = self.specs[key]
            addr = self.engine.get_function_address(kernel_name(*key))
            ptr = ctypes.POINTER(_CTYPES[dtype])
            proto = ctypes.CFUNCTYPE(None, *([ptr] * (nargs + 1)), ctypes.c_int64)
            self._funcs[key] = proto(addr)
        return self._funcs[key]

    def run(self, name: str, dtype: type, *inputs: np.ndarray, lanes: int | None = None,
            inline: bool = True) -> np.ndarray:
        """Return f(*inputs) elementwise, computed by the compiled kernel (the vector kernel
        of `lanes` lanes and mode `inline` if lanes is given)."""
        shape = np.broadcast(*inputs).shape
        arrays = [np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).ravel()
                  for a in inputs]
        size = arrays[0].size
        count = size
        if lanes is not None:
            count = -(-size // lanes)
            pad = count * lanes - size
            # odd offset: the vector loads must not rely on more than element alignment
            arrays = [np.concatenate([np.ones(1, dtype), a, np.ones(pad, dtype)])[1:]
                      for a in arrays]
        out = np.empty(arrays[0].size + 1, dtype)[1:]
        ptr = ctypes.POINTER(_CTYPES[dtype])
        self._func(name, dtype, lanes, inline)(
            *[a.ctypes.data_as(ptr) for a in arrays + [out]], count)
        return out[:size].reshape(shape)

    def function_asm(self, name: str, dtype: type, lanes: int | None = None,
                     inline: bool = True) -> str:
        """Return the assembly of the kernel for (name, dtype[, lanes, inline]) only."""
        sym = kernel_name(name, dtype, lanes, inline)
        match = re.search(rf"^{re.escape(sym)}:\n(.*?)^\.Lfunc_end\d+:", self.asm,
                          re.S | re.M)
        assert match, f"no assembly found for {sym}"
        return match.group(1)
