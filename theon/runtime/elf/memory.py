"""Process memory: laying the loaded sections out in one mapping, mmap, mprotect and munmap,
and looking up undefined symbols in libc and libm."""
import ctypes
import functools
import os

from .parse import SHT_NOBITS, ElfLoadError

# Linux's values (this loader maps x86-64 Linux objects); the ``mmap`` module would cost a
# warm start an extension-module import (~0.3 ms) for these five numbers
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096  # (not on Windows)
_MAX_IMAGE = 1 << 28  # theon's objects are kilobytes: a bigger image means a corrupt .bss
_STUB_SIZE = 8  # jmp *slot(%rip) (6 bytes) and ud2
_GROUPS = ("rx", "r", "rw")  # code, constants and GOT, data: one page range each
_PROTECTION = {"rx": PROT_READ | PROT_EXEC, "r": PROT_READ, "rw": PROT_READ | PROT_WRITE}


# -- process symbols ---------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _process_symbol(name):
    """Address of ``name`` in this process (libc, libm and what else is loaded), or of one
    of numba's math helpers (``numba_gamma``, ...) that numba-compiled ``elemwise_op``
    bodies call."""
    for library in _libraries():
        try:
            return ctypes.cast(library[name], ctypes.c_void_p).value
        except AttributeError:
            continue
    if name.startswith("numba_"):
        # numba's helper library does not export them; it hands out their addresses
        from numba import _helperlib
        address = _helperlib.c_helpers.get(name[len("numba_"):])
        if address:
            return address
    raise ElfLoadError(f"undefined symbol {name!r}: not found in the process or libm")


@functools.lru_cache(maxsize=None)
def _libraries():
    """The libraries undefined symbols are looked up in: the process's global ones, libm."""
    libraries = [ctypes.CDLL(None)]
    try:
        libraries.append(ctypes.CDLL("libm.so.6"))
    except OSError:
        from ctypes.util import find_library  # runs ldconfig: only if libm.so.6 is not
        path = find_library("m")
        if path:
            libraries.append(ctypes.CDLL(path))
    return libraries


# -- layout and mapping ------------------------------------------------------------------

def _layout(sections, got_slots, stub_count):
    """({group: bytes, page-rounded}, GOT offset in "r", stub offset in "rx"); sets each
    loaded section's offset within its group in ``section.address``."""
    ends = dict.fromkeys(_GROUPS, 0)
    for section in sections:
        if section.group is None:
            continue
        align = max(section.align, 1)
        if align & (align - 1) or align > _PAGE:
            raise ElfLoadError(f"section {section.name} has alignment {align}: not a power "
                               f"of two up to the page size {_PAGE}")
        section.address = _round_up(ends[section.group], align)
        ends[section.group] = section.address + section.size
    stub_offset = _round_up(ends["rx"], _STUB_SIZE)
    ends["rx"] = stub_offset + _STUB_SIZE * stub_count
    got_offset = _round_up(ends["r"], 8)
    ends["r"] = got_offset + 8 * got_slots
    sizes = {group: _round_up(end, _PAGE) for group, end in ends.items()}
    if sum(sizes.values()) > _MAX_IMAGE:
        raise ElfLoadError(f"the sections need {sum(sizes.values())} bytes, more than the "
                           f"{_MAX_IMAGE} this loader maps: corrupt sizes")
    return sizes, got_offset, stub_offset


def _place(sections, sizes, base):
    """{group: absolute start}; turns each loaded section's offset into its address."""
    starts, position = {}, base
    for group in _GROUPS:
        starts[group] = position
        position += sizes[group]
    for section in sections:
        if section.group is not None:
            section.address += starts[section.group]
    return starts


def _copy_sections(image, code, sections, base):
    """Copy each loaded section's bytes into ``image`` (``.bss`` stays zero)."""
    for section in sections:
        if section.group is not None and section.type != SHT_NOBITS:
            start = section.address - base
            image[start:start + section.size] = code[section.offset:section.offset +
                                                     section.size]


def _round_up(value, alignment):
    return (value + alignment - 1) // alignment * alignment


class _Libc:
    """``mmap``, ``mprotect`` and ``munmap`` from the C library, typed for ctypes."""

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        self.mmap = libc.mmap
        self.mmap.restype = ctypes.c_void_p
        self.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        self.mprotect = libc.mprotect
        self.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.munmap = libc.munmap
        self.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


@functools.lru_cache(maxsize=None)
def _libc():
    return _Libc()


def _map(size):
    """Start of a fresh private read+write mapping of ``size`` bytes (page-aligned)."""
    address = _libc().mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0)
    if address is None or address == ctypes.c_void_p(-1).value:
        raise ElfLoadError(f"mmap of {size} bytes failed: {_os_error()}")
    return address


def _commit(image, base, starts, sizes):
    """Copy ``image`` to ``base`` and give each group its final protection (W^X)."""
    buffer = (ctypes.c_char * len(image)).from_buffer(image)
    ctypes.memmove(base, buffer, len(image))
    for group in _GROUPS:
        if sizes[group] and group != "rw":
            if _libc().mprotect(starts[group], sizes[group], _PROTECTION[group]) != 0:
                raise ElfLoadError(f"mprotect of the {group} pages failed: {_os_error()}")


def _os_error():
    return os.strerror(ctypes.get_errno())
