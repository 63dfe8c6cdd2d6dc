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
import ctypes
import functools
import mmap
import os
import struct

__all__ = ["ElfLoadError", "LoadedObject", "load_object", "relocation_types",
           "RELOCATION_NAMES"]


class ElfLoadError(Exception):
    """An object file this loader does not support, or a malformed one."""


# Relocation types (System V x86-64 psABI, table 4.10) and the ones this loader applies.
# The large-model PIC types (GOT64, GOTOFF64, GOTPC64) are left out: theon does not use
# that model, so they are rejected like any other unknown type.
R_NONE, R_64, R_PC32, R_PLT32, R_GOTPCREL = 0, 1, 2, 4, 9
R_32, R_32S, R_PC64, R_GOTPCRELX, R_REX_GOTPCRELX = 10, 11, 24, 41, 42
RELOCATION_NAMES = {
    R_NONE: "R_X86_64_NONE", R_64: "R_X86_64_64", R_PC32: "R_X86_64_PC32",
    R_PLT32: "R_X86_64_PLT32", R_GOTPCREL: "R_X86_64_GOTPCREL", R_32: "R_X86_64_32",
    R_32S: "R_X86_64_32S", R_PC64: "R_X86_64_PC64", R_GOTPCRELX: "R_X86_64_GOTPCRELX",
    R_REX_GOTPCRELX: "R_X86_64_REX_GOTPCRELX",
}
_GOT_TYPES = frozenset((R_GOTPCREL, R_GOTPCRELX, R_REX_GOTPCRELX))
_WIDE_TYPES = frozenset((R_64, R_PC64))  # the types that patch 8 bytes

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA = 1, 2, 3, 4
SHT_NOTE, SHT_NOBITS, SHT_REL = 7, 8, 9
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY = 14, 15, 16
SHT_X86_64_UNWIND = 0x70000001
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON = 0, 0xFF00, 0xFFF1, 0xFFF2
STB_LOCAL = 0
EM_X86_64 = 62
ET_REL = 1

_PAGE = mmap.PAGESIZE
_MAX_IMAGE = 1 << 28  # theon's objects are kilobytes: a bigger image means a corrupt .bss
_STUB_SIZE = 8  # jmp *slot(%rip) (6 bytes) and ud2
_GROUPS = ("rx", "r", "rw")  # code, constants and GOT, data: one page range each
_PROTECTION = {"rx": mmap.PROT_READ | mmap.PROT_EXEC, "r": mmap.PROT_READ,
               "rw": mmap.PROT_READ | mmap.PROT_WRITE}


class _Section:
    """One section header, and where the loader puts the section."""

    __slots__ = ("index", "name", "type", "flags", "offset", "size", "link", "info",
                 "align", "entsize", "group", "address")

    def __init__(self, index, name, fields):
        self.index, self.name = index, name
        (_, self.type, self.flags, _, self.offset, self.size, self.link, self.info,
         self.align, self.entsize) = fields
        self.group = None    # "rx", "r" or "rw" if loaded, None if skipped
        self.address = None  # the absolute address once mapped


class _Symbol:
    """One symbol-table entry."""

    __slots__ = ("index", "name", "bind", "shndx", "value")

    def __init__(self, index, name, info, shndx, value):
        self.index, self.name, self.bind = index, name, info >> 4
        self.shndx, self.value = shndx, value


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


# -- headers -----------------------------------------------------------------------------

def _read_header(code):
    """(section header offset, count, index of the section-name table), checked."""
    if len(code) < _EHDR.size or code[:4] != b"\x7fELF":
        raise ElfLoadError("not an ELF file (no ELF magic in the first 4 bytes)")
    (ident, e_type, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum,
     shstrndx) = _EHDR.unpack_from(code)
    if ident[4] != 2:
        raise ElfLoadError(f"not ELF64 (EI_CLASS is {ident[4]}, expected 2)")
    if ident[5] != 1:
        raise ElfLoadError(f"not little-endian (EI_DATA is {ident[5]}, expected 1)")
    if machine != EM_X86_64:
        raise ElfLoadError(f"not x86-64 (e_machine is {machine}, expected {EM_X86_64})")
    if e_type != ET_REL:
        raise ElfLoadError(f"not a relocatable object (e_type is {e_type}, expected 1)")
    if shentsize != _SHDR.size or shnum == 0 or shstrndx >= shnum:
        raise ElfLoadError(f"bad section header table (entry size {shentsize}, {shnum} "
                           f"entries, names in section {shstrndx})")
    _check_range(code, shoff, shnum * _SHDR.size, "the section header table")
    return shoff, shnum, shstrndx


def _read_sections(code):
    """Every section header of ``code``, named, its contents checked to lie in the file."""
    shoff, shnum, shstrndx = _read_header(code)
    fields = [_SHDR.unpack_from(code, shoff + i * _SHDR.size) for i in range(shnum)]
    names = fields[shstrndx]
    if names[1] != SHT_STRTAB:
        raise ElfLoadError(f"section-name table (section {shstrndx}) is not a string table")
    _check_range(code, names[4], names[5], "the section-name table")
    sections = []
    for index, entry in enumerate(fields):
        name = _string(code, names[4], names[5], entry[0], f"name of section {index}")
        section = _Section(index, name, entry)
        if section.type != SHT_NOBITS:
            _check_range(code, section.offset, section.size, f"section {name}")
        sections.append(section)
    return sections


def _check_range(code, offset, size, what):
    """Raise unless ``code[offset:offset + size]`` lies inside the file."""
    if offset < 0 or size < 0 or offset + size > len(code):
        raise ElfLoadError(f"{what} (bytes {offset:#x}..{offset + size:#x}) lies outside the "
                           f"file ({len(code)} bytes): truncated or corrupt")


def _string(code, start, size, offset, what):
    """The NUL-terminated string at ``offset`` of the string table at ``start``."""
    end = code.find(b"\0", start + offset, start + size) if offset < size else -1
    if end < 0:
        raise ElfLoadError(f"{what} is not a terminated string inside its string table")
    try:
        return code[start + offset:end].decode()
    except UnicodeDecodeError:
        raise ElfLoadError(f"{what} is not valid UTF-8") from None


# -- symbols -----------------------------------------------------------------------------

def _symbol_table(code, sections):
    """Every entry of the object's one symbol table (an empty list if it has none)."""
    tables = [s for s in sections if s.type == SHT_SYMTAB]
    if not tables:
        return []
    if len(tables) > 1:
        raise ElfLoadError(f"{len(tables)} symbol tables; expected one")
    table = tables[0]
    if table.entsize != _SYM.size or table.size % _SYM.size:
        raise ElfLoadError(f"symbol table {table.name} has entries of {table.entsize} bytes, "
                           f"size {table.size}; expected a multiple of {_SYM.size}")
    if table.link >= len(sections) or sections[table.link].type != SHT_STRTAB:
        raise ElfLoadError(f"symbol table {table.name} links to section {table.link}, "
                           "which is not a string table")
    strings = sections[table.link]
    symbols = []
    for index in range(table.size // _SYM.size):
        st_name, info, _, shndx, value, _ = _SYM.unpack_from(code, table.offset +
                                                             index * _SYM.size)
        name = _string(code, strings.offset, strings.size, st_name, f"name of symbol {index}")
        if SHN_LORESERVE <= shndx and shndx != SHN_ABS:
            raise ElfLoadError(f"symbol {name!r} has unsupported section index {shndx:#x} "
                               "(common, or extended numbering)")
        if shndx != SHN_ABS and shndx >= len(sections):
            raise ElfLoadError(f"symbol {name!r} is in section {shndx}, past the last one")
        if SHN_UNDEF < shndx < SHN_LORESERVE and value > sections[shndx].size:
            raise ElfLoadError(f"symbol {name!r} lies past the end of its section "
                               f"{sections[shndx].name}")
        symbols.append(_Symbol(index, name, info, shndx, value))
    return symbols


def _wanted_symbols(table, names, sections):
    """{name: symbol} for each requested name, preferring a global definition to a local;
    each must lie in a loaded section."""
    found = {}
    wanted = set(names)
    for symbol in table:
        if symbol.name in wanted and symbol.shndx != SHN_UNDEF:
            if symbol.name not in found or found[symbol.name].bind == STB_LOCAL:
                found[symbol.name] = symbol
    for name in names:
        if name not in found:
            raise ElfLoadError(f"symbol {name!r} is not defined in the object")
        section = found[name].shndx
        if section != SHN_ABS and sections[section].group is None:
            raise ElfLoadError(f"symbol {name!r} is in section {sections[section].name}, "
                               "which is not loaded")
    return found


def _resolve_externals(table, relocations):
    """{symbol index: address} of the undefined symbols the relocations use."""
    externals = {}
    for _, _, index, _, _ in relocations:
        symbol = table[index]
        if index and symbol.shndx == SHN_UNDEF and index not in externals:
            externals[index] = _process_symbol(symbol.name)
    return externals


def _symbol_addresses(table, sections, externals):
    """{symbol index: absolute address, or None for symbols of skipped sections}."""
    addresses = {}
    for symbol in table:
        if symbol.index == 0:
            addresses[0] = 0  # the null symbol: relocations against it use the addend alone
        elif symbol.shndx == SHN_UNDEF:
            addresses[symbol.index] = externals.get(symbol.index)
        elif symbol.shndx == SHN_ABS:
            addresses[symbol.index] = symbol.value
        else:
            section = sections[symbol.shndx]
            loaded = section.address is not None
            addresses[symbol.index] = section.address + symbol.value if loaded else None
    return addresses


@functools.lru_cache(maxsize=None)
def _process_symbol(name):
    """Address of ``name`` in this process (libc, libm and what else is loaded)."""
    for library in _libraries():
        try:
            return ctypes.cast(library[name], ctypes.c_void_p).value
        except AttributeError:
            continue
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


# -- relocations -------------------------------------------------------------------------

def _read_relocations(code, sections, table):
    """[(section, type, symbol index, offset, addend)] of every relocation that patches a
    loaded section, each type known and each offset inside its section."""
    relocations = []
    for rela in sections:
        if rela.type == SHT_REL and _patches_loaded(rela, sections):
            raise ElfLoadError(f"{rela.name}: REL relocations are not used on x86-64")
        if rela.type != SHT_RELA or not _patches_loaded(rela, sections):
            continue
        target = sections[rela.info]
        if rela.entsize != _RELA.size or rela.size % _RELA.size:
            raise ElfLoadError(f"{rela.name} has entries of {rela.entsize} bytes, size "
                               f"{rela.size}; expected a multiple of {_RELA.size}")
        if not table or rela.link >= len(sections) or sections[rela.link].type != SHT_SYMTAB:
            raise ElfLoadError(f"{rela.name} does not link to the symbol table")
        if target.type == SHT_NOBITS:
            raise ElfLoadError(f"{rela.name} patches {target.name}, which has no contents")
        for offset, info, addend in _RELA.iter_unpack(code[rela.offset:rela.offset +
                                                           rela.size]):
            kind, index = info & 0xFFFFFFFF, info >> 32
            _check_relocation(target, kind, index, offset, len(table))
            if kind != R_NONE:
                relocations.append((target, kind, index, offset, addend))
    return relocations


def _patches_loaded(rela, sections):
    """Whether relocation section ``rela`` patches a section that is loaded."""
    if rela.info >= len(sections):
        raise ElfLoadError(f"{rela.name} patches section {rela.info}, past the last one")
    return sections[rela.info].group is not None


def _check_relocation(target, kind, index, offset, symbol_count):
    """Raise unless relocation ``kind`` at ``offset`` of ``target`` can be applied."""
    where = f"{target.name}+{offset:#x}"
    if kind not in RELOCATION_NAMES:
        raise ElfLoadError(f"unknown relocation type {kind} in section {target.name} "
                           f"(at {where})")
    if index >= symbol_count:
        raise ElfLoadError(f"relocation at {where} uses symbol {index}, past the last one")
    if offset + _width(kind) > target.size:
        raise ElfLoadError(f"relocation at {where} lies past the end of {target.name} "
                           f"({target.size} bytes)")


def _width(kind):
    """Bytes a relocation of type ``kind`` patches."""
    return 8 if kind in _WIDE_TYPES else 4


def _indirections(relocations, externals):
    """({symbol index: GOT slot}, {symbol index: stub}) the relocations need: a slot for
    each GOT reference, a stub (jumping through a slot) for each call to an external."""
    got, stubs = {}, {}
    for _, kind, index, _, _ in relocations:
        needs_stub = kind == R_PLT32 and index in externals
        if kind in _GOT_TYPES or needs_stub:
            got.setdefault(index, len(got))
        if needs_stub:
            stubs.setdefault(index, len(stubs))
    return got, stubs


class _Context:
    """Everything a relocation's value depends on."""

    __slots__ = ("table", "sections", "addresses", "got", "got_address", "stubs",
                 "stub_address")

    def __init__(self, table, sections, addresses, got, got_address, stubs, stub_address):
        self.table, self.sections, self.addresses = table, sections, addresses
        self.got, self.got_address = got, got_address
        self.stubs, self.stub_address = stubs, stub_address


def _apply(image, base, context, relocation):
    """Patch ``image`` (mapped at ``base``) with one relocation's value."""
    target, kind, index, offset, addend = relocation
    place = target.address + offset
    value = _value(context, kind, index, addend, place, target, offset)
    where = place - base
    if kind in _WIDE_TYPES:
        struct.pack_into("<Q", image, where, value & 0xFFFFFFFFFFFFFFFF)
    elif kind == R_32:
        _check_fits(value, 0, 1 << 32, relocation, context)
        struct.pack_into("<I", image, where, value)
    else:
        _check_fits(value, -(1 << 31), 1 << 31, relocation, context)
        struct.pack_into("<i", image, where, value)


def _value(context, kind, index, addend, place, target, offset):
    """The value relocation ``kind`` against symbol ``index`` stores at ``place``."""
    if kind in _GOT_TYPES:
        return context.got_address + 8 * context.got[index] + addend - place
    symbol = _symbol_value(context, index, target, offset)
    if kind == R_PLT32 and index in context.stubs:
        symbol = context.stub_address + _STUB_SIZE * context.stubs[index]
    if kind in (R_PC32, R_PLT32, R_PC64):
        return symbol + addend - place
    return symbol + addend  # R_64, R_32, R_32S


def _symbol_value(context, index, target, offset):
    """Address of symbol ``index``; raises if it lies in a section that is not loaded."""
    address = context.addresses[index]
    if address is None:
        section = context.sections[context.table[index].shndx].name
        raise ElfLoadError(f"relocation at {target.name}+{offset:#x} refers to "
                           f"{_symbol_name(context, index)!r} in section {section}, which is "
                           "not loaded")
    return address


def _symbol_name(context, index):
    """A symbol's name, or its section's name for a section symbol."""
    symbol = context.table[index]
    if symbol.name or symbol.shndx in (SHN_UNDEF, SHN_ABS):
        return symbol.name
    return context.sections[symbol.shndx].name


def _check_fits(value, low, high, relocation, context):
    """Raise unless ``low <= value < high``."""
    if not low <= value < high:
        target, kind, index, offset, _ = relocation
        raise ElfLoadError(f"{RELOCATION_NAMES[kind]} at {target.name}+{offset:#x} against "
                           f"{_symbol_name(context, index)!r} overflows: {value:#x} does not "
                           "fit in 32 bits")


# -- layout and mapping ------------------------------------------------------------------

def _choose_loaded(sections):
    """Set each section's group ("rx", "r", "rw"), or leave None for skipped sections."""
    for section in sections:
        if not section.flags & SHF_ALLOC:
            continue
        if section.type == SHT_X86_64_UNWIND or section.name == ".eh_frame":
            continue  # unwind tables: not registered, so never read
        if section.type == SHT_NOTE:
            continue
        if section.type not in (SHT_PROGBITS, SHT_NOBITS):
            raise ElfLoadError(f"section {section.name} has unsupported type "
                               f"{section.type:#x} (constructors or the like)")
        if section.flags & SHF_TLS:
            raise ElfLoadError(f"section {section.name} is thread-local storage")
        writable, executable = section.flags & SHF_WRITE, section.flags & SHF_EXECINSTR
        if writable and executable:
            raise ElfLoadError(f"section {section.name} is both writable and executable")
        section.group = "rw" if writable else "rx" if executable else "r"


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


def _write_got(image, base, got, addresses, got_address, table):
    """Fill each GOT slot with its symbol's address."""
    for index, slot in got.items():
        if addresses[index] is None:
            raise ElfLoadError(f"GOT entry for symbol {table[index].name!r}, whose section "
                               "is not loaded")
        struct.pack_into("<Q", image, got_address - base + 8 * slot, addresses[index])


def _write_stubs(image, base, stubs, got, got_address, stub_address):
    """Write each stub: ``jmp *slot(%rip)`` then ``ud2``."""
    for index, stub in stubs.items():
        start = stub_address + _STUB_SIZE * stub
        displacement = got_address + 8 * got[index] - (start + 6)
        struct.pack_into("<2si2s", image, start - base, b"\xff\x25", displacement, b"\x0f\x0b")


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
    address = _libc().mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE,
                           mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
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
