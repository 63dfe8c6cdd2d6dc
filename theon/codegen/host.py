"""Facts about the host that code depends on, available without importing LLVM.

A warm start (everything in the disk cache) must not pay for ``llvmlite.binding``: the cache
key of a target is computed here from the OS's view of the CPU, and the layout of numpy's
array struct that CPU kernels read is declared here.
"""
import functools
import hashlib
import os
import pathlib
import platform

# Offsets of fields of numpy's PyArrayObject on 64-bit CPython, read by CPU kernels
# (checked against numpy itself by runtime/abi.py before the first call).
ARRAY_DATA = 16
ARRAY_DIMS = 32
ARRAY_STRIDES = 40


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


@functools.lru_cache(maxsize=None)
def source_fingerprint():
    """A digest of the name, size and modification time of every module of theon: any edit
    or reinstall of theon's code invalidates what the code generator produced before, even
    when the version number stays the same (stat only, so it costs well under 1 ms)."""
    root = str(pathlib.Path(__file__).resolve().parents[1])
    hasher = hashlib.blake2b(digest_size=16)
    for relative, status in sorted(_python_files(root, "")):
        hasher.update(f"{relative}:{status.st_size}:{status.st_mtime_ns};".encode())
    return hasher.hexdigest()


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
    LLVM), the optimisation levels, the OS, the CPU model and features."""
    import llvmlite  # the package root only: its version, not LLVM itself

    from .._version import __version__
    from .llvm import CODEGEN_LEVEL, OPT_LEVEL
    return (target_name, __version__, source_fingerprint(), llvmlite.__version__, OPT_LEVEL,
            CODEGEN_LEVEL, platform.system(), cpu_fingerprint())
