"""Reading and validating an ELF object: its header, sections, symbol table and relocation
records, and which of its sections the loader maps."""
import struct


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


# -- loaded sections ---------------------------------------------------------------------

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
