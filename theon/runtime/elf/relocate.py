"""Applying relocations: symbol addresses, the GOT and jump stubs for external calls, and
the values patched in, each 32-bit one checked for overflow."""
import struct

from .memory import _STUB_SIZE, _process_symbol
from .parse import (_GOT_TYPES, _WIDE_TYPES, R_32, R_PC32, R_PC64, R_PLT32, RELOCATION_NAMES,
                    SHN_ABS, SHN_UNDEF, ElfLoadError)


# -- symbols -----------------------------------------------------------------------------

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


# -- relocations -------------------------------------------------------------------------

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
