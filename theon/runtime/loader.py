"""Native code for a schedule's kernels: from this process, from the disk cache, or compiled.

Kernels are keyed by their symbol, which is their content hash, plus the target's cache
key: a kernel another function (or another process, through the disk cache) already
compiled is reused, and only the missing ones go through LLVM, all in one module.  Cached
object code is mapped by theon's own ELF loader, so a warm start never imports LLVM.
"""
import dataclasses
import hashlib
import json
import struct
import threading
from dataclasses import dataclass

from ..codegen.host import cache_key
from ..ir import KernelStep
from .abi import check_array_layout
from .disk_cache import get_cache

_OBJECT_MAGIC = b"THEONOBJ"
_REFERENCE_MAGIC = b"THEONREF"

_addresses = {}    # (target key, symbol) -> native address
_owners = []       # loaded objects and execution engines, kept for the process's life
_lock = threading.Lock()


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
    steps = [s for s in schedule.steps if isinstance(s, KernelStep)]
    return load_steps(steps, target_name, name, watch)


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


def _load_from_disk(disk, steps, key, target_name, watch):
    """(steps still missing, kernels loaded) after trying the disk cache for each."""
    still, loaded = [], 0
    for step in steps:
        if (key, step.symbol) in _addresses:
            loaded += 1  # it came with the object of an earlier kernel
            continue
        blob = _module_of(disk, disk.get("kernel", kernel_key(key, step.symbol)))
        unpacked = _unpack(blob) if blob is not None else None
        if unpacked is None or step.symbol not in unpacked[0]:
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
    compiled = compile_steps(steps, target, name, watch)
    with watch("load"):
        _load_code(compiled.code, compiled.symbols, key, target_name)
    if disk is not None:
        with watch("store"):
            # the module's object once, and per kernel a reference to it: a function of n
            # kernels stores one object, not n copies
            blob = _pack(compiled.symbols, compiled.code)
            module = hashlib.blake2b(blob, digest_size=20).hexdigest()
            if disk.put("module", module, blob):
                for step in steps:
                    disk.put("kernel", kernel_key(key, step.symbol),
                             _REFERENCE_MAGIC + module.encode())


def _load_code(code, symbols, key, target_name):
    """Map object ``code`` into the process and record the addresses of ``symbols``."""
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
    _owners.append(loaded)
    for symbol, address in addresses.items():
        _addresses[(key, symbol)] = address


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
