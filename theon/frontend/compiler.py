"""From a Graph to native code: the graph-level caches, the pass pipeline, the kernels.

A graph is looked up by its structural digest (plus the target's cache key): first in this
process (the same graph, or an identical one rebuilt from scratch), then in the disk cache,
whose entry holds the schedule; only a miss runs the passes.  Kernels then come from this
process, the disk cache, or LLVM (``runtime/loader.py``).
"""
import threading
from dataclasses import dataclass, field

from .. import ir
from ..codegen.host import cache_key
from ..ir.serialize import SerializationError, dumps_schedule, loads_schedule
from ..passes import run_pipeline
from ..runtime.disk_cache import get_cache


@dataclass
class Compiled:
    """A compiled graph and how it was obtained.

    Attributes
    ----------
    schedule : Schedule
    addresses : dict
        Kernel symbol -> native address.
    cache : str
        'miss', 'memory' or 'disk': where the schedule came from.
    kernels_compiled : int
        Kernels that went through LLVM for this compile.
    kernels_cached : int
        Kernels whose code was reused (this process or the disk cache).
    nodes : dict
        Pass name -> (nodes before, nodes after); empty on a cache hit.
    """

    schedule: object
    addresses: dict
    cache: str
    kernels_compiled: int = 0
    kernels_cached: int = 0
    nodes: dict = field(default_factory=dict)


_memory = {}
_memory_lock = threading.Lock()


def compile_graph(graph, target_name, name, watch):
    """Native code for ``graph`` on ``target_name``, from the cheapest place that has it."""
    with watch("build"):
        key = ir.graph_digest(graph, extra=cache_key(target_name))
    with _memory_lock:
        hit = _memory.get(key)
    if hit is not None:
        schedule, addresses = hit
        return Compiled(schedule, addresses, "memory",
                        kernels_cached=_count_kernels(schedule))
    disk = get_cache()
    with watch("load"):
        schedule, cache, nodes = _schedule_from_disk(disk, key), "disk", {}
    if schedule is None:
        cache = "miss"
        schedule, nodes = _run_passes(graph, watch)
        if disk is not None:
            with watch("store"):
                disk.put("graph", key, dumps_schedule(schedule))
    from ..runtime.loader import load_schedule
    loaded = load_schedule(schedule, target_name, name or "function", watch)
    with _memory_lock:
        _memory[key] = (schedule, loaded.addresses)
    return Compiled(schedule, loaded.addresses, cache, loaded.compiled,
                    _count_kernels(schedule) - loaded.compiled, nodes)


def compile_graph_to_ptx(graph, name, watch, arch):
    """(Compiled, CompiledModule of PTX) for ``graph`` on the CUDA target for GPU
    architecture ``arch``, from the cheapest place that has it: this process, the disk
    cache (the schedule and the module's PTX, keyed by ``arch``), or the passes and LLVM.
    Generating PTX needs only llvmlite; loading and launching it is the CUDA runtime's."""
    with watch("build"):
        key = ir.graph_digest(graph, extra=cache_key("cuda") + (arch,))
    with _memory_lock:
        hit = _memory.get(key)
    if hit is not None:
        schedule, ptx = hit
        return Compiled(schedule, {}, "memory", 0, len(ptx.symbols)), ptx
    disk = get_cache()
    with watch("load"):
        schedule = _schedule_from_disk(disk, key)
        blob = disk.get("ptx", key) if schedule is not None else None
        ptx = decode_ptx(blob) if blob is not None else None
    if ptx is not None:
        compiled = Compiled(schedule, {}, "disk", 0, len(ptx.symbols))
    else:
        schedule, nodes = _run_passes(graph, watch)
        ptx = ptx_of(schedule, arch, name, watch)
        compiled = Compiled(schedule, {}, "miss", len(ptx.symbols), 0, nodes)
        if disk is not None:
            with watch("store"):
                disk.put("graph", key, dumps_schedule(schedule))
                disk.put("ptx", key, encode_ptx(ptx))
    with _memory_lock:
        _memory[key] = (schedule, ptx)
    return compiled, ptx


def ptx_of(schedule, arch, name, watch):
    """The CompiledModule of PTX for ``arch`` holding every kernel of ``schedule``."""
    from ..codegen import compile_steps, get_target
    steps = {s.symbol: s for s in schedule.kernel_steps()}
    return compile_steps(list(steps.values()), get_target("cuda", arch), name or "function",
                         watch)


def encode_ptx(module):
    """The bytes of a disk-cache entry for a module of PTX: its kernel symbols on one line,
    the PTX's length on the next, then the PTX and the optimised LLVM IR it came from (what
    ``f.source('opt')`` shows and what the SIMT tests interpret)."""
    return b"%s\n%d\n%s%s" % (" ".join(module.symbols).encode(), len(module.code),
                              module.code, module.optimized_ir.encode())


def decode_ptx(blob):
    """The CompiledModule of a disk-cache entry made by ``encode_ptx`` (None if it is not
    one: the entry is then rebuilt)."""
    try:
        symbols, length, rest = blob.split(b"\n", 2)
        length = int(length)
        code, optimized = rest[:length], rest[length:].decode()
    except ValueError:  # also UnicodeDecodeError
        return None
    if len(code) != length:
        return None
    from ..codegen.target import CompiledModule
    return CompiledModule("cuda", tuple(symbols.decode().split()), code, "", optimized)


def _schedule_from_disk(disk, key):
    if disk is None:
        return None
    blob = disk.get("graph", key)
    if blob is None:
        return None
    try:
        return loads_schedule(blob)
    except SerializationError:
        disk.counters["corrupt"] += 1  # intact bytes, but not a schedule this theon reads
        return None


def _run_passes(graph, watch):
    schedule, records = run_pipeline(graph)
    nodes = {}
    for record in records:
        watch.stages[record.name] = record.seconds
        nodes[record.name] = (record.nodes_before, record.nodes_after)
    return schedule, nodes


def _count_kernels(schedule):
    return len(schedule.kernel_steps())
