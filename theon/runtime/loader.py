"""Native code for a schedule's kernels: from this process, from the disk cache, or compiled.

Kernels are keyed by their symbol, which is their content hash, plus the target's cache
key: a kernel another function (or another process, through the disk cache) already
compiled is reused, and only the missing ones go through LLVM, all in one module.  Cached
object code is mapped by theon's own ELF loader, so a warm start never imports LLVM.

Tiered compilation (CPU, ``config.tiered_compile``): a module is first emitted by LLVM's
fastest back end, in about a third of the time, and runs at once; a background thread
compiles the same IR with the optimising back end once no first-tier compile has run for
``QUIET_S``, maps it, moves every kernel call to it (``follow_upgrades``) and only then
stores it in the disk cache, so warm starts always load optimised code.  The first-tier code stays mapped: a call already running in it finishes
there.  ``wait_for_optimized`` waits for the background work; the interpreter waits for it at
exit, and so does ``os.fork`` (a child must not inherit LLVM's lock held by a thread it does
not have).
"""
import dataclasses
import hashlib
import json
import os
import struct
import threading
import time
import warnings
import weakref
from dataclasses import dataclass

from ..codegen.host import cache_key
from ..config import config
from ..ir import KernelStep
from .abi import check_array_layout
from .disk_cache import get_cache

_OBJECT_MAGIC = b"THEONOBJ"
_REFERENCE_MAGIC = b"THEONREF"

_addresses = {}    # (target key, symbol) -> native address
_owners = []       # loaded objects and execution engines, kept for the process's life
_lock = threading.RLock()  # reentrant: loading code records addresses under it too
_followers = {}    # (target key, symbol) -> WeakSet of kernel calls bound to that symbol

# Tiered compilation's second tier runs in one worker thread, one module after another, and
# only after no first-tier compile has run for QUIET_S seconds: LLVM serialises its calls
# under one lock, so a module being optimised would delay the next theon.function by up to
# its whole back-end time (a test function compiled right after a training function took
# 155 ms instead of ~40).
QUIET_S = 0.05
_jobs = []            # (compiled module, kernel symbols, key, target name, name, disk cache)
_worker = None        # the thread running _jobs, while there are any
_last_compile = 0.0   # time.monotonic() when a first-tier compile last ended


@dataclass
class Loaded:
    """The result of ``load_schedule``.

    Attributes
    ----------
    addresses : dict
        Kernel entry symbol -> native address.
    compiled : int
        Kernels that went through LLVM now.
    from_disk : int
        Kernels whose code came from the disk cache.
    """

    addresses: dict
    compiled: int
    from_disk: int


def load_schedule(schedule, target_name, name, watch):
    """Native addresses of every kernel of ``schedule``, compiling only what neither this
    process nor the disk cache has."""
    return load_steps(schedule.kernel_steps(), target_name, name, watch)


def strided_variant(step):
    """``step`` with its kernel's variant that reads inputs strided along the inner axis."""
    kernel = dataclasses.replace(step.kernel, strided=True)
    return KernelStep(kernel, step.inputs, step.outputs, f"theon_{kernel.digest()[:16]}")


def load_steps(steps, target_name, name, watch):
    """Native addresses of the kernels of ``steps`` (see ``load_schedule``)."""
    with watch("load"):
        check_array_layout()
    key = cache_key(target_name)
    with _lock:
        missing, seen = [], set()
        for step in steps:
            if (key, step.symbol) not in _addresses and step.symbol not in seen:
                missing.append(step)
                seen.add(step.symbol)
        disk = get_cache() if missing else None
        from_disk = 0
        if disk is not None:
            missing, from_disk = _load_from_disk(disk, missing, key, target_name, watch)
        if missing:
            _compile(missing, key, target_name, name, watch, disk)
        entries = {}
        for step in steps:
            for symbol in (step.symbol, step.symbol + ".all"):
                entries[symbol] = _addresses[(key, symbol)]
        return Loaded(entries, len(missing), from_disk)


def load_support(symbol, define, target_name):
    """The native address of ``symbol``, a function of theon's runtime rather than of a
    graph (the native loop driver): from this process, the disk cache, or compiled from
    the module ``define(module)`` fills.  Its cache key is the target's, which names
    theon's code, so a change to the function's generator compiles it again."""
    key = cache_key(target_name)
    with _lock:
        address = _addresses.get((key, symbol))
        if address is not None:
            return address
        disk = get_cache()
        unpacked = _cached_object(disk, key, symbol) if disk is not None else None
        if unpacked is not None:
            _load_code(unpacked[1], unpacked[0], key, target_name)
            return _addresses[(key, symbol)]
        from ..codegen import get_target
        from ..stopwatch import Stopwatch
        target = get_target(target_name)
        module = target.new_module(symbol)
        define(module)
        # LLVM's fastest back end: 36 ms instead of 78 for the loop driver, whose time
        # goes to the kernels it calls (steps measured no slower)
        compiled = target.compile(module, symbol, Stopwatch(), quick=True)
        _load_code(compiled.code, compiled.symbols, key, target_name)
        if disk is not None:
            _store(disk, compiled, [symbol], key)
        return _addresses[(key, symbol)]


def _load_from_disk(disk, steps, key, target_name, watch):
    """(steps still missing, kernels loaded) after trying the disk cache for each."""
    still, loaded = [], 0
    for step in steps:
        if (key, step.symbol) in _addresses:
            loaded += 1  # it came with the object of an earlier kernel
            continue
        unpacked = _cached_object(disk, key, step.symbol)
        if unpacked is None:
            still.append(step)
            continue
        with watch("load"):
            _load_code(unpacked[1], unpacked[0], key, target_name)
        loaded += 1
    return still, loaded


def _compile(steps, key, target_name, name, watch, disk):
    with watch("codegen"):
        from ..codegen import compile_steps, get_target  # imports llvmlite
        target = get_target(target_name)
    quick = target.tiered and config.tiered_compile
    compiled = compile_steps(steps, target, name, watch, quick=quick)
    with watch("load"):
        _load_code(compiled.code, compiled.symbols, key, target_name)
    kernels = [step.symbol for step in steps]
    if quick:
        _optimize_later((compiled, kernels, key, target_name, name, disk))
    elif disk is not None:
        with watch("store"):
            _store(disk, compiled, kernels, key)


def _store(disk, compiled, kernels, key):
    """The module's object once, and per kernel a reference to it: a function of n kernels
    stores one object, not n copies."""
    blob = _pack(compiled.symbols, compiled.code)
    module = hashlib.blake2b(blob, digest_size=20).hexdigest()
    if disk.put("module", module, blob):
        for symbol in kernels:
            disk.put("kernel", kernel_key(key, symbol), _REFERENCE_MAGIC + module.encode())


def _optimize_later(job):
    """Queue a module for the second tier; start the worker if none is running."""
    global _worker, _last_compile
    with _lock:
        _last_compile = time.monotonic()
        _jobs.append(job)
        if _worker is None:
            _worker = threading.Thread(target=_work, name="theon-optimize")
            _worker.start()


def _work():
    """The worker: after a quiet spell without first-tier compiles, optimise the oldest
    queued module; stop when none is left."""
    global _worker
    while True:
        with _lock:  # held by a first-tier compile while it runs
            wait = _last_compile + QUIET_S - time.monotonic()
            if wait <= 0:
                if not _jobs:
                    _worker = None
                    return
                job = _jobs.pop(0)
        if wait > 0:
            time.sleep(wait)
            continue
        _optimize(*job)


def _optimize(quick, kernels, key, target_name, name, disk):
    """The second tier: ``quick``'s IR compiled with the optimising back end, mapped, the
    kernel calls moved to it, then stored on disk.  A failure leaves the first tier in
    place (its code is correct, only slower) and is reported as a warning."""
    from ..codegen import get_target
    from ..stopwatch import Stopwatch
    try:
        compiled = get_target(target_name).compile_text(quick.llvm_ir, quick.symbols, name,
                                                        Stopwatch())
        _load_code(compiled.code, compiled.symbols, key, target_name)
        if disk is not None:
            _store(disk, compiled, kernels, key)
    except Exception as error:  # noqa: BLE001 - a background failure must not kill the process
        warnings.warn(f"theon: optimising the kernels of {name!r} failed ({error}); they keep "
                      "running in their first-tier code", RuntimeWarning)


def wait_for_optimized():
    """Wait until every kernel compiled so far runs its optimised code (tiered compilation);
    at once when none is being optimised."""
    while True:
        with _lock:
            worker = _worker
        if worker is None:
            return
        worker.join()


def follow_upgrades(call, target_name, symbol):
    """Have ``call`` (whose ``upgrade(symbol, entries)`` rebinds it) moved to optimised code
    when the second tier of ``symbol`` is mapped; at once if it already is."""
    key = cache_key(target_name)
    with _lock:
        _followers.setdefault((key, symbol), weakref.WeakSet()).add(call)
        entries = {s: _addresses.get((key, s)) for s in (symbol, symbol + ".all")}
    if call.address != entries[symbol]:
        call.upgrade(symbol, entries)


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(before=wait_for_optimized)


def _load_code(code, symbols, key, target_name):
    """Map object ``code`` into the process and record the addresses of ``symbols``; kernel
    calls bound to an older copy of a symbol (a first tier) move to the new one."""
    from .elf import ElfLoadError, load_object
    try:
        loaded = load_object(code, symbols)
        addresses = loaded.addresses
    except ElfLoadError:
        # not an object theon's loader understands: LLVM's own JIT linker can
        from ..codegen import get_target
        from ..codegen.target import CompiledModule
        loaded, addresses = get_target(target_name).load(
            CompiledModule(target_name, tuple(symbols), code, "", ""))
    moved = []
    with _lock:
        _owners.append(loaded)
        for symbol, address in addresses.items():
            _addresses[(key, symbol)] = address
        for symbol in addresses:
            for call in _followers.get((key, symbol), ()):
                moved.append((call, symbol))
    for call, symbol in moved:
        call.upgrade(symbol, {s: addresses[s] for s in (symbol, symbol + ".all")
                              if s in addresses})


def _cached_object(disk, key, symbol):
    """(symbols, object code) of the disk cache's module defining ``symbol`` for the
    target ``key``; None when it is missing, damaged or does not define it."""
    blob = _module_of(disk, disk.get("kernel", kernel_key(key, symbol)))
    unpacked = _unpack(blob) if blob is not None else None
    if unpacked is None or symbol not in unpacked[0]:
        return None
    return unpacked


def _module_of(disk, reference):
    """The module entry a kernel entry refers to (None when either is missing or bad)."""
    if reference is None or not reference.startswith(_REFERENCE_MAGIC):
        return None
    module = reference[len(_REFERENCE_MAGIC):].decode("ascii", "replace")
    try:
        return disk.get("module", module)
    except ValueError:  # not a key the store accepts: a damaged reference
        return None


def kernel_key(target_key, symbol):
    """The disk-cache key of kernel ``symbol`` compiled for ``target_key``."""
    return hashlib.blake2b(repr((target_key, symbol)).encode(), digest_size=20).hexdigest()


def _pack(symbols, code):
    header = json.dumps(list(symbols)).encode()
    return _OBJECT_MAGIC + struct.pack("<I", len(header)) + header + code


def _unpack(blob):
    """(symbols, object code) from a kernel entry, or None if it is not one."""
    if blob[:8] != _OBJECT_MAGIC or len(blob) < 12:
        return None
    (length,) = struct.unpack_from("<I", blob, 8)
    try:
        symbols = json.loads(blob[12:12 + length])
    except ValueError:
        return None
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        return None
    return symbols, blob[12 + length:]
