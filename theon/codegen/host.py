"""Facts that code depends on, available without importing LLVM.

A warm start (everything in the disk cache) must not pay for ``llvmlite.binding``, nor even
for importing ``llvmlite``: the cache key of a target is computed here from the OS's view of
the CPU, llvmlite's version file and LLVM's settings, and the layout of numpy's array struct
that CPU kernels read is declared here.
"""
import functools
import hashlib
import importlib.util
import os
import pathlib
import platform

# Offsets of fields of numpy's PyArrayObject on 64-bit CPython, read by CPU kernels
# (checked against numpy itself by runtime/abi.py before the first call).
ARRAY_DATA = 16
ARRAY_ND = 24       # int32 (read by the loop driver's BIND)
ARRAY_DIMS = 32
ARRAY_STRIDES = 40
ARRAY_FLAGS = 64    # int32 (read by the loop driver's BIND)

# The IR theon emits is already vectorised, with its loops and math functions written out:
# the middle end only has to clean up (``PIPELINE``), not to discover parallelism.  LLVM's
# whole O2 pipeline cost 5x the compile time of this short list for the same machine code
# speed (17-kernel logistic-regression step on znver4: 157 vs 30 ms), and its inliner
# copied every kernel into its ``.all`` wrapper, doubling the back end's work.  The
# "less" back end gives the run time of "aggressive" at ~30% less compile time.
PIPELINE = ("always_inliner", "sroa", "instruction_combine", "simplify_cfg", "loop_rotate",
            "new_gvn", "instruction_combine", "simplify_cfg", "aggressive_dce",
            "global_dead_code_eliminate")
# the first tier only inlines the math library and promotes accumulators to registers
QUICK_PIPELINE = ("always_inliner", "sroa")
OPT_LEVEL = "theon-" + "+".join(PIPELINE)  # part of the cache key: a change recompiles
CODEGEN_LEVEL = 1
# Tiered compilation's first tier: FastISel and the fast register allocator emit a module in
# a third of the time (W3's 14 kernels: ~45 vs ~125 ms) for code 1.05x-1.9x slower, used
# until the CODEGEN_LEVEL code compiled in the background replaces it (runtime/loader.py).
QUICK_CODEGEN_LEVEL = 0


@functools.lru_cache(maxsize=None)
def cpu_fingerprint():
    """A digest of this CPU's model and feature flags (what LLVM's host detection reads)."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(platform.machine().encode())
    try:
        with open("/proc/cpuinfo", "rb") as handle:
            for line in handle:
                if line.startswith((b"model name", b"flags", b"Features", b"CPU part")):
                    hasher.update(line)
                if line.strip() == b"":
                    break  # the first processor describes them all
    except OSError:
        # no /proc (macOS, Windows): ask LLVM, at the cost of importing it
        from .llvm import host_description
        hasher.update(repr(host_description()).encode())
    return hasher.hexdigest()


# What decides the content of cache entries: the graph passes and schedule format, the
# code generator, the loader that links their output, and the module that runs the passes.
# (A change elsewhere, in the frontend say, changes the graphs built, hence their keys.)
_CODE_DIRECTORIES = ("ir", "passes", "codegen", "runtime")
_CODE_MODULES = ("_version.py", "frontend/compiler.py")


@functools.lru_cache(maxsize=None)
def source_fingerprint():
    """A digest of the theon code that produces what the caches hold: any edit or reinstall
    of it invalidates the entries made before, even when the version number stays the same.

    An installed theon is named by its ``RECORD`` (pip's list of every installed file with
    its sha256), one small read.  A source checkout, or an editable install, has none: there
    the name, size and modification time of each module is read (stat only, ~80 files).
    """
    return fingerprint_of(pathlib.Path(__file__).resolve().parents[1])


def fingerprint_of(package):
    """``source_fingerprint`` of the theon package at the path ``package`` (uncached)."""
    record = _installed_record(package)
    if record is not None:
        return hashlib.blake2b(record, digest_size=16).hexdigest()
    hasher = hashlib.blake2b(digest_size=16)
    found = [(name, os.stat(package / name)) for name in _CODE_MODULES]
    for directory in _CODE_DIRECTORIES:
        found += _python_files(str(package / directory), directory + "/")
    for relative, status in sorted(found):
        hasher.update(f"{relative}:{status.st_size}:{status.st_mtime_ns};".encode())
    return hasher.hexdigest()


def _installed_record(package):
    """The bytes of pip's ``RECORD`` of the theon installed at ``package``, with the file's
    own modification time; None unless ``package`` sits next to the ``.dist-info`` folder
    of this very version and the record lists this module."""
    from .._version import __version__
    path = package.parent / f"theon-{__version__}.dist-info" / "RECORD"
    try:
        text = path.read_bytes()
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    if b"theon/codegen/host.py," not in text:
        return None
    return text + str(mtime).encode()


def _python_files(directory, prefix):
    """(relative path, stat result) of every ``.py`` file under ``directory``, by
    ``os.scandir`` (pathlib's rglob took ~3 ms of a warm start for ~100 files)."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                found += _python_files(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".py"):
                found.append((prefix + entry.name, entry.stat()))
    return found


@functools.lru_cache(maxsize=None)
def cache_key(target_name):
    """Everything besides a kernel's own content that changes its machine code on
    ``target_name``: theon's version and sources, llvmlite's version (llvmlite pins its
    LLVM), the optimisation levels, and for the CPU target the OS, the CPU model and
    features.  PTX does not depend on the host (its GPU architecture is keyed by the
    caller), so a cache shared by machines with other CPUs serves them the same PTX."""
    from .._version import __version__
    key = (target_name, __version__, source_fingerprint(), llvmlite_build(), OPT_LEVEL,
           CODEGEN_LEVEL)
    if target_name == "cuda":
        return key
    return key + (platform.system(), cpu_fingerprint())


def llvmlite_build():
    """llvmlite's version and git revision (which pin its LLVM), as a digest of its
    ``_version.py``, read without importing llvmlite: the import cost a warm start 0.3 ms.
    Falls back to the imported ``llvmlite.__version__`` where the file is not there."""
    spec = importlib.util.find_spec("llvmlite")
    if spec is not None and spec.origin:
        try:
            with open(os.path.join(os.path.dirname(spec.origin), "_version.py"), "rb") as file:
                return "llvmlite-" + hashlib.blake2b(file.read(), digest_size=8).hexdigest()
        except OSError:
            pass
    import llvmlite
    return llvmlite.__version__
