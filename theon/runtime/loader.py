"""Native code for a schedule's kernels: compiled once per process per kernel.

Kernels are keyed by their symbol, which is their content hash: a kernel that another
function already compiled is reused, and only the missing ones go through LLVM, all in
one module.
"""
import threading

from ..codegen import compile_steps
from ..ir import KernelStep
from .abi import check_array_layout

_addresses = {}    # (target key, symbol) -> native address
_engines = []      # execution engines owning that code, kept for the process's life
_lock = threading.Lock()


def load_schedule(schedule, target, name, watch):
    """Native addresses of every kernel of ``schedule``, compiling the missing ones.

    Returns
    -------
    addresses : dict
        symbol -> address
    compiled : int
        How many kernels went through LLVM now (the rest came from this process's cache).
    """
    check_array_layout()
    target_key = target.cache_key()
    steps = [s for s in schedule.steps if isinstance(s, KernelStep)]
    with _lock:
        missing, seen = [], set()
        for step in steps:
            if (target_key, step.symbol) not in _addresses and step.symbol not in seen:
                missing.append(step)
                seen.add(step.symbol)
        if missing:
            compiled = compile_steps(missing, target, name, watch)
            with watch("load"):
                engine, addresses = target.load(compiled)
            _engines.append(engine)
            for symbol, address in addresses.items():
                _addresses[(target_key, symbol)] = address
        entries = {}
        for step in steps:
            for symbol in (step.symbol, step.symbol + ".all"):
                entries[symbol] = _addresses[(target_key, symbol)]
        return entries, len(missing)
