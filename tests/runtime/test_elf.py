"""theon's ELF loader: objects built by LLVM load, run and agree with MCJIT and numpy; malformed
or unsupported objects raise ElfLoadError, never crash; importing the loader costs no LLVM."""
import ctypes
import statistics
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from theon.runtime.elf import ElfLoadError, load_object, relocation_types

from _elf_objects import (CORPUS_IR, CORPUS_SYMBOLS, SETTINGS, SWITCH_VALUES, TABLE,
                           compile_ir, llvm, mcjit_addresses)  # beside this file

F64_2 = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double)
F32_2 = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_float, ctypes.c_float)
VOIDP = ctypes.c_void_p


def _call_corpus(addresses):
    """Every corpus function's results, as plain Python values, for comparison."""
    results = {}
    results["fmod"] = [F64_2(addresses["fmod_of"])(a, b) for a, b in
                       [(7.5, 2.0), (-7.5, 2.0), (1e300, 3.0), (5.0, -0.75)]]
    results["fmodf"] = [F32_2(addresses["fmodf_of"])(a, b) for a, b in [(7.5, 2.0), (-9.25, 4)]]
    lookup = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int64)(addresses["lookup"])
    results["lookup"] = [lookup(i) for i in range(-2, 12)]
    results["twice"] = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(addresses["twice"])(2.0)
    switchy = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)(addresses["switchy"])
    results["switch"] = [switchy(k) for k in range(-2, 9)]
    bump = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(addresses["bump"])
    results["bump"] = [bump(1), bump(2), bump(-10)]
    x = np.linspace(-3, 3, 53, dtype=np.float32)
    out = np.full(56, -1.0, np.float32)
    poly = ctypes.CFUNCTYPE(None, VOIDP, VOIDP, ctypes.c_int64)(addresses["poly16"])
    poly(x.ctypes.data, out.ctypes.data, x.size)
    results["poly"] = out.copy()
    source = np.arange(1, 12, dtype=np.uint8)
    target = np.zeros(30, np.uint8)
    fill = ctypes.CFUNCTYPE(None, VOIDP, VOIDP, ctypes.c_int64, ctypes.c_int8)
    fill(addresses["fill_copy"])(target.ctypes.data, source.ctypes.data, source.size, 9)
    results["fill"] = target
    return results


@pytest.mark.parametrize("reloc,codemodel", SETTINGS)
def test_corpus_agrees_with_mcjit_and_numpy(reloc, codemodel):
    code = compile_ir(CORPUS_IR, reloc, codemodel)
    ours = _call_corpus(load_object(code, CORPUS_SYMBOLS).addresses)
    engine, addresses = mcjit_addresses(code, CORPUS_SYMBOLS)
    theirs = _call_corpus(addresses)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    assert ours["fmod"] == [np.fmod(a, b) for a, b in
                            [(7.5, 2.0), (-7.5, 2.0), (1e300, 3.0), (5.0, -0.75)]]
    assert ours["fmodf"] == [1.5, -1.25]
    assert ours["lookup"] == [TABLE[i & 7] for i in range(-2, 12)]
    assert ours["twice"] == 22.0
    assert ours["switch"] == [SWITCH_VALUES.get(k, 0) for k in range(-2, 9)]
    assert ours["bump"] == [6, 8, -2]  # counter starts at 0 in .bss, seeded is 5
    x = np.linspace(-3, 3, 53, dtype=np.float32)
    expected = x * (np.arange(53) % 16).astype(np.float32) + np.float32(0.5)
    np.testing.assert_array_equal(ours["poly"][:53], expected)
    assert (ours["poly"][53:] == -1).all()  # the masked store wrote nothing past the end
    assert list(ours["fill"]) == list(range(1, 12)) + [9] * 11 + [0] * 8


def test_alignment_and_data_symbols():
    loaded = load_object(compile_ir(CORPUS_IR), CORPUS_SYMBOLS)
    aligned, zeros = loaded.addresses["aligned64"], loaded.addresses["zeros64"]
    assert aligned % 64 == 0 and zeros % 64 == 0
    assert list((ctypes.c_float * 16).from_address(aligned)) == [float(i) for i in range(1, 17)]
    assert list((ctypes.c_int64 * 32).from_address(zeros)) == [0] * 32
    helper = ctypes.c_void_p.from_address(loaded.addresses["helper_ptr"]).value
    assert helper and ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(helper)(1.0) == 4.0


def test_relocation_types_seen():
    """theon's current settings use absolute 64-bit relocations only; PIC uses the rest."""
    assert relocation_types(compile_ir(CORPUS_IR, "static", "jitdefault")) == ["R_X86_64_64"]
    assert relocation_types(compile_ir(CORPUS_IR, "pic", "small")) == [
        "R_X86_64_64", "R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_REX_GOTPCRELX"]


def test_unsupported_settings_are_rejected():
    # the static small model assumes code below 2 GiB: a 32-bit absolute address overflows
    with pytest.raises(ElfLoadError, match=r"R_X86_64_32S at \.text\+0x[0-9a-f]+ against "
                                           r"'\.rodata' overflows"):
        load_object(compile_ir(CORPUS_IR, "static", "small"), CORPUS_SYMBOLS)
    with pytest.raises(ElfLoadError, match=r"unknown relocation type (27|25|29) in section "
                                           r"\.ltext"):
        load_object(compile_ir(CORPUS_IR, "pic", "large"), CORPUS_SYMBOLS)


def test_undefined_and_missing_symbols():
    text = ("declare double @theon_no_such_function(double)\n"
            "define double @f(double %x) {\n"
            "  %y = call double @theon_no_such_function(double %x)\n  ret double %y\n}\n")
    with pytest.raises(ElfLoadError, match="undefined symbol 'theon_no_such_function'"):
        load_object(compile_ir(text), ["f"])
    with pytest.raises(ElfLoadError, match="symbol 'nope' is not defined in the object"):
        load_object(compile_ir(CORPUS_IR), ["lookup", "nope"])


def test_close_unmaps():
    loaded = load_object(compile_ir(CORPUS_IR), ["lookup"])
    assert loaded.size % 4096 == 0 and loaded.base % 4096 == 0
    loaded.close()
    assert loaded.base == 0
    loaded.close()  # a second close does nothing


# -- a real theon kernel ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def theon_kernel():
    """(object code, symbols) of a theon kernel for exp(-x*x) sin(x) + log1p(|x|) / 2."""
    import theon
    import theon.tensor as T
    from theon.codegen import compile_steps, get_target
    from theon.stopwatch import Stopwatch
    x = T.fvector("x")
    f = theon.function([x], T.exp(-x * x) * T.sin(x) + T.log1p(abs(x)) * 0.5)
    compiled = compile_steps(list(f.schedule.steps), get_target("cpu"), "k", Stopwatch())
    return compiled.code, compiled.symbols


def test_theon_kernel_agrees_with_mcjit_and_numpy(theon_kernel):
    code, symbols = theon_kernel
    entry = next(s for s in symbols if s.endswith(".all"))
    signature = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.py_object, ctypes.py_object)
    ours = signature(load_object(code, symbols).addresses[entry])
    engine, addresses = mcjit_addresses(code, symbols)
    theirs = signature(addresses[entry])
    x = np.random.default_rng(0).standard_normal(1003).astype(np.float32) * 4
    out_ours, out_theirs = np.empty_like(x), np.empty_like(x)
    assert ours(x, out_ours) == 0 and theirs(x, out_theirs) == 0
    np.testing.assert_array_equal(out_ours, out_theirs)
    expected = np.exp(-x * x) * np.sin(x) + np.log1p(np.abs(x)) * np.float32(0.5)
    np.testing.assert_allclose(out_ours, expected, rtol=1e-5, atol=1e-6)


def test_theon_kernel_load_time(theon_kernel):
    code, symbols = theon_kernel
    times = []
    for _ in range(50):
        start = time.perf_counter()
        load_object(code, symbols).close()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"load_object of a {len(code)}-byte kernel: median {median * 1e6:.0f} us")
    assert median < 2e-3


# -- malformed and foreign objects -----------------------------------------------------------

def _sections(code):
    """{name: (header offset, file offset, size)} of ``code``'s sections, read independently
    of the loader."""
    shoff, = struct.unpack_from("<Q", code, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", code, 0x3C)
    headers = [struct.unpack_from("<IIQQQQIIQQ", code, shoff + 64 * i) for i in range(shnum)]
    names = headers[shstrndx][4]
    result = {}
    for i, header in enumerate(headers):
        name = code[names + header[0]:code.index(b"\0", names + header[0])].decode()
        result[name] = (shoff + 64 * i, header[4], header[5])
    return result


def test_header_errors():
    code = compile_ir(CORPUS_IR)
    cases = [(b"\x7fELG", 0, "not an ELF file"), (b"\x01", 4, r"not ELF64 \(EI_CLASS is 1"),
             (b"\x02", 5, "not little-endian"), (b"\x02\x00", 16, r"not a relocatable object "
                                                 r"\(e_type is 2"),
             (b"\x28\x00", 18, r"not x86-64 \(e_machine is 40"),
             (b"\x00\x00", 0x3C, "bad section header table")]
    for patch, offset, message in cases:
        bad = code[:offset] + patch + code[offset + len(patch):]
        with pytest.raises(ElfLoadError, match=message):
            load_object(bad, ["lookup"])
    with pytest.raises(ElfLoadError, match="not an ELF file"):
        load_object(b"#!/bin/sh\necho hello\n" * 10, ["main"])
    with pytest.raises(ElfLoadError, match="not an ELF file"):
        load_object(b"", [])


def test_foreign_machine():
    llvm()
    code = compile_ir("define i32 @f(i32 %x) {\n  %y = add i32 %x, 1\n  ret i32 %y\n}\n",
                      "static", "default", "aarch64-unknown-linux-gnu")
    with pytest.raises(ElfLoadError, match=r"not x86-64 \(e_machine is 183"):
        load_object(code, ["f"])


def test_unknown_relocation_type():
    code = bytearray(compile_ir(CORPUS_IR, "pic", "small"))
    _, offset, _ = _sections(code)[".rela.text"]
    struct.pack_into("<I", code, offset + 8, 200)  # the first entry's type
    with pytest.raises(ElfLoadError, match=r"unknown relocation type 200 in section \.text"):
        load_object(bytes(code), ["lookup"])


def test_relocation_into_skipped_section():
    code = bytearray(compile_ir(CORPUS_IR, "pic", "small"))
    header, _, _ = _sections(code)[".rodata"]
    flags, = struct.unpack_from("<Q", code, header + 8)
    struct.pack_into("<Q", code, header + 8, flags & ~0x2)  # .rodata no longer allocated
    with pytest.raises(ElfLoadError, match=r"refers to '\.rodata' in section \.rodata, which "
                                           "is not loaded"):
        load_object(bytes(code), ["lookup"])


def test_relocation_past_section_end():
    code = bytearray(compile_ir(CORPUS_IR, "pic", "small"))
    _, offset, _ = _sections(code)[".rela.text"]
    struct.pack_into("<Q", code, offset, 1 << 40)
    with pytest.raises(ElfLoadError, match=r"lies past the end of \.text"):
        load_object(bytes(code), ["lookup"])


@pytest.mark.parametrize("reloc,codemodel", SETTINGS[:2])
def test_truncated_objects_raise(reloc, codemodel):
    code = compile_ir(CORPUS_IR, reloc, codemodel)
    for length in list(range(0, len(code), 7)):
        with pytest.raises(ElfLoadError):
            load_object(code[:length], CORPUS_SYMBOLS)


@pytest.mark.parametrize("reloc,codemodel", SETTINGS[:2])
def test_corrupt_headers_never_crash(reloc, codemodel):
    """Each byte of the headers, the symbol table and the relocations, set to 0xff and to
    0x00, either loads or raises ElfLoadError."""
    code = compile_ir(CORPUS_IR, reloc, codemodel)
    sections = _sections(code)
    offsets = set(range(64))
    offsets.update(range(sections[""][0], len(code)))  # section header table: last in file
    for name, (_, start, size) in sections.items():
        if name == ".symtab" or name.startswith(".rela"):
            offsets.update(range(start, start + size))
    loaded = failed = 0
    for offset in sorted(offsets):
        for byte in (0x00, 0xFF):
            bad = code[:offset] + bytes([byte]) + code[offset + 1:]
            try:
                load_object(bad, CORPUS_SYMBOLS).close()
                loaded += 1
            except ElfLoadError:
                failed += 1
    assert failed > 100 and loaded > 100


def test_import_does_not_load_llvm():
    script = ("import sys, theon.runtime.elf\n"
              "assert 'llvmlite' not in sys.modules, sorted(m for m in sys.modules if 'llvm' in m)")
    subprocess.run([sys.executable, "-c", script], check=True)
