"""Minimal JIT harness for the mathlib tests: loop kernels compiled at O3 and called by ctypes.

Every kernel is ``void k(T* in0, [T* in1,] T* out, i64 n)`` with ``out[i] = f(in0[i], ...)``.
All kernels live in one module so that LLVM is run once per test session.
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


def kernel_name(name: str, dtype: type) -> str:
    """Return the symbol of the loop kernel for (name, dtype)."""
    return f"k_{name}_{np.dtype(dtype).name}"


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


def _add_kernel(module: ir.Module, name: str, dtype: type, nargs: int) -> None:
    """Add the loop kernel for (name, dtype) to `module`."""
    fty = _IR_TYPES[dtype]()
    ptr = fty.as_pointer()
    i64 = ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr] * (nargs + 1) + [i64]),
                     name=kernel_name(name, dtype))
    for arg in fn.args[:-1]:
        arg.add_attribute("noalias")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    *ins, out, n = fn.args
    with _for_range(builder, n) as i:
        vals = [builder.load(builder.gep(p, [i]), typ=fty) for p in ins]
        res = mathlib.call(builder, name, vals)
        builder.store(res, builder.gep(out, [i]))
    builder.ret_void()


def _target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=3)


class Kernels:
    """A compiled module with one loop kernel per (name, dtype, nargs) spec."""

    def __init__(self, specs: Iterable[tuple[str, type, int]]) -> None:
        self.specs = {(name, dtype): nargs for name, dtype, nargs in specs}
        self.tm = _target_machine()
        module = ir.Module(name="mathlib_tests")
        module.triple = self.tm.triple
        module.data_layout = str(self.tm.target_data)
        for (name, dtype), nargs in self.specs.items():
            _add_kernel(module, name, dtype, nargs)
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

    def _func(self, name: str, dtype: type):
        key = (name, dtype)
        if key not in self._funcs:
            nargs = self.specs[key]
            addr = self.engine.get_function_address(kernel_name(name, dtype))
            ptr = ctypes.POINTER(_CTYPES[dtype])
            proto = ctypes.CFUNCTYPE(None, *([ptr] * (nargs + 1)), ctypes.c_int64)
            self._funcs[key] = proto(addr)
        return self._funcs[key]

    def run(self, name: str, dtype: type, *inputs: np.ndarray) -> np.ndarray:
        """Return f(*inputs) elementwise, computed by the compiled kernel."""
        arrays = [np.ascontiguousarray(np.broadcast_to(a, np.broadcast(*inputs).shape),
                                       dtype=dtype).ravel() for a in inputs]
        out = np.empty_like(arrays[0])
        ptr = ctypes.POINTER(_CTYPES[dtype])
        self._func(name, dtype)(*[a.ctypes.data_as(ptr) for a in arrays + [out]],
                                out.size)
        return out.reshape(np.broadcast(*inputs).shape)

    def function_asm(self, name: str, dtype: type) -> str:
        """Return the assembly of the kernel for (name, dtype) only."""
        sym = kernel_name(name, dtype)
        match = re.search(rf"^{re.escape(sym)}:\n(.*?)^\.Lfunc_end\d+:", self.asm,
                          re.S | re.M)
        assert match, f"no assembly found for {sym}"
        return match.group(1)
