"""A minimal loader for the x86-64 ELF relocatable objects theon's code generator emits.

A warm process maps cached kernels with this module instead of LLVM's MCJIT, so it never
imports ``llvmlite.binding`` (tens of milliseconds).  The loader understands exactly what
LLVM puts in theon's objects and rejects anything else with :class:`ElfLoadError`, after
which theon falls back to MCJIT: a strict loader can cost time, a lenient one crashes.

What it does:

- maps the allocated sections (``.text*``, ``.ltext``, ``.rodata*``, ``.data*``, ``.bss*``
  and their ``.l*`` large-model twins) into one anonymous mapping, each at its alignment,
  grouped by permission: code read+execute, constants and the GOT read-only, data
  read+write (W^X: nothing is ever writable and executable at once);
- skips ``.eh_frame`` (no unwind information is registered) and notes, and every
  relocation section that patches a skipped or non-allocated section;
- resolves undefined symbols (``fmod``, ``memset``, ...) with ``dlsym`` in the process, and
  reaches them through a GOT and 8-byte jump stubs inside the mapping, so 32-bit
  PC-relative calls always reach;
- applies the relocation types in ``RELOCATION_NAMES``, checking every 32-bit result for
  overflow and every offset and size against the length of the file.

Nothing from the file runs while it loads (it has no constructors: ``.init_array`` is
rejected).
"""
from .memory import _commit, _copy_sections, _layout, _libc, _map, _place
from .parse import (RELOCATION_NAMES, ElfLoadError, _choose_loaded, _read_relocations,
                    _read_sections, _symbol_table, _wanted_symbols)
from .relocate import (_apply, _Context, _indirections, _resolve_externals,
                       _symbol_addresses, _write_got, _write_stubs)

__all__ = ["ElfLoadError", "LoadedObject", "load_object", "relocation_types",
           "RELOCATION_NAMES"]


class LoadedObject:
    """Object code mapped into this process.

    Attributes
    ----------
    addresses : dict of str to int
        Each requested symbol's absolute address (call it through ``ctypes``).
    base, size : int
        The mapping: its first address and its length in bytes.

    The mapping lives until :meth:`close`; dropping the object does not unmap it, because
    ctypes function pointers made from ``addresses`` would then point at nothing.
    """

    def __init__(self, addresses, base, size):
        self.addresses = addresses
        self.base = base
        self.size = size

    def close(self):
        """Unmap the code; no function from it may be called afterwards."""
        if self.base:
            _libc().munmap(self.base, self.size)
            self.base = 0

    def __repr__(self):
        return f"<LoadedObject {len(self.addresses)} symbols at {self.base:#x}+{self.size:#x}>"


def load_object(code, symbols):
    """Map an x86-64 ELF relocatable object into executable memory, apply its relocations,
    and return the addresses of ``symbols``.

    Parameters
    ----------
    code : bytes
        The object file, as ``TargetMachine.emit_object`` returns it.
    symbols : sequence of str
        Names of symbols defined by the object whose addresses are wanted.

    Returns
    -------
    LoadedObject
        Holds the mapping and ``addresses``, a dict from each of ``symbols`` to its address.

    Raises
    ------
    ElfLoadError
        If ``code`` is malformed, is not an x86-64 ELF64 relocatable object, or uses a
        section kind or relocation type this loader does not support; if an undefined
        symbol is not found in the process, or a relocation does not fit; or if one of
        ``symbols`` is not defined.  Nothing is left mapped then.

    Examples
    --------
    >>> loaded = load_object(code, ["kernel"])                       # doctest: +SKIP
    >>> ctypes.CFUNCTYPE(ctypes.c_int)(loaded.addresses["kernel"])()  # doctest: +SKIP
    """
    code = bytes(code)
    sections = _read_sections(code)
    _choose_loaded(sections)
    table = _symbol_table(code, sections)
    wanted = _wanted_symbols(table, symbols, sections)
    relocations = _read_relocations(code, sections, table)
    externals = _resolve_externals(table, relocations)
    got, stubs = _indirections(relocations, externals)
    sizes, got_offset, stub_offset = _layout(sections, len(got), len(stubs))
    base = _map(sum(sizes.values()))
    try:
        starts = _place(sections, sizes, base)
        got_address = starts["r"] + got_offset
        stub_address = starts["rx"] + stub_offset
        image = bytearray(sum(sizes.values()))
        _copy_sections(image, code, sections, base)
        addresses = _symbol_addresses(table, sections, externals)
        _write_got(image, base, got, addresses, got_address, table)
        _write_stubs(image, base, stubs, got, got_address, stub_address)
        context = _Context(table, sections, addresses, got, got_address, stubs, stub_address)
        for relocation in relocations:
            _apply(image, base, context, relocation)
        _commit(image, base, starts, sizes)
    except BaseException:
        _libc().munmap(base, sum(sizes.values()))
        raise
    found = {name: addresses[symbol.index] for name, symbol in wanted.items()}
    return LoadedObject(found, base, sum(sizes.values()))


def relocation_types(code):
    """Names of the relocation types ``load_object`` would apply to ``code``, sorted.

    Parameters
    ----------
    code : bytes
        An object file.

    Returns
    -------
    list of str
        For example ``['R_X86_64_64', 'R_X86_64_PC32']``.
    """
    code = bytes(code)
    sections = _read_sections(code)
    _choose_loaded(sections)
    table = _symbol_table(code, sections)
    types = {relocation[1] for relocation in _read_relocations(code, sections, table)}
    return sorted(RELOCATION_NAMES[t] for t in types)
