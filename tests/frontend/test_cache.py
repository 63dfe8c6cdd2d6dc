"""The compile caches as a user sees them: in memory, on disk, across processes."""
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.frontend import compiler
from theon.runtime import disk_cache, loader

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent("""
    import json, sys
    import numpy as np, theon, theon.tensor as T
    x, y = T.fvector('x'), T.fvector('y')
    f = theon.function([x, y], T.exp(-x * x) * T.sin(y) + T.log1p(abs(y)) * {scale})
    v = np.linspace(-2, 2, 1001).astype('float32')
    expected = np.exp(-v * v) * np.sin(v) + np.log1p(abs(v)) * {scale}
    print(json.dumps({{"cache": f.report.cache, "compiled": f.report.kernels_compiled,
                      "cached": f.report.kernels_cached,
                      "llvm_imported": "llvmlite.binding" in sys.modules,
                      "ok": bool(np.allclose(f(v, v), expected, rtol=1e-6, atol=1e-7))}}))
""")


def _run(cache_dir, scale=0.5, **env):
    environ = dict(os.environ, PYTHONPATH=str(ROOT), THEON_CACHE_DIR=str(cache_dir), **env)
    result = subprocess.run([sys.executable, "-c", PROGRAM.format(scale=scale)],
                            capture_output=True, text=True, env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_second_process_compiles_nothing_and_never_loads_llvm(tmp_path):
    first = _run(tmp_path)
    second = _run(tmp_path)
    assert first == {"cache": "miss", "compiled": 1, "cached": 0, "llvm_imported": True,
                     "ok": True}
    assert second == {"cache": "disk", "compiled": 0, "cached": 1, "llvm_imported": False,
                      "ok": True}


def test_kernels_are_shared_between_graphs_through_the_disk(tmp_path):
    _run(tmp_path, scale=0.5)
    # another graph, same kernel except a constant: a graph miss and a kernel miss
    assert _run(tmp_path, scale=0.25)["compiled"] == 1


def test_disabled_disk_cache_writes_nothing(tmp_path):
    result = _run(tmp_path / "cache", THEON_CACHE="0")
    assert result["cache"] == "miss" and result["ok"]
    assert not (tmp_path / "cache").exists()


def _corrupt_every_entry(cache_dir, kind, damage):
    entries = sorted(p for p in (Path(cache_dir) / "v1" / kind).rglob("*") if p.is_file())
    assert len(entries) >= 2
    originals = [p.read_bytes() for p in entries]
    for index, path in enumerate(entries):
        damage(path, originals[index], originals[(index + 1) % len(entries)])


@pytest.mark.parametrize("kind", ["graph", "kernel", "module"])
@pytest.mark.parametrize("damage", ["truncate", "flip", "swap"])
def test_damaged_entries_are_rebuilt(tmp_path, kind, damage):
    _run(tmp_path)
    _run(tmp_path, scale=0.25)   # a second entry of each kind, to swap with

    def apply(path, data, other_entry):
        if damage == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "flip":
            path.write_bytes(data[:-9] + bytes([data[-9] ^ 0x10]) + data[-8:])
        else:
            path.write_bytes(other_entry)  # another entry's bytes, intact

    _corrupt_every_entry(tmp_path, kind, apply)
    result = _run(tmp_path)
    assert result["ok"]
    if kind == "graph":
        assert result["cache"] == "miss"
    else:
        assert result["cache"] == "disk" and result["compiled"] == 1
    assert _run(tmp_path)["cache"] == "disk"   # and the rebuilt entries are good again


def test_sixteen_processes_compile_into_one_empty_cache(tmp_path):
    scales = [0.5, 0.25, 0.125, 0.5] * 4
    environ = dict(os.environ, PYTHONPATH=str(ROOT), THEON_CACHE_DIR=str(tmp_path))
    processes = [subprocess.Popen([sys.executable, "-c", PROGRAM.format(scale=scale)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=environ) for scale in scales]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert all(r["ok"] for r in results)
    info = disk_cache.DiskCache(tmp_path).info()
    assert info["kinds"]["graph"]["entries"] == 3
    assert info["counters"]["corrupt"] == 0
    assert all(_run(tmp_path, scale=s)["cache"] == "disk" for s in (0.5, 0.25, 0.125))


def test_rebuilt_graph_is_a_memory_hit():
    def build():
        x = T.dmatrix("x")
        return theon.function([x], T.tanh(x) * 2 + 1)
    build()
    again = build()
    assert again.report.cache == "memory"
    assert again.report.kernels_compiled == 0 and again.report.kernels_cached == 1
    np.testing.assert_allclose(again(np.ones((2, 3))), np.tanh(np.ones((2, 3))) * 2 + 1)


def test_source_is_available_after_a_cache_hit():
    x = T.fvector("x")
    theon.function([x], T.sqrt(x) + 3)
    hit = theon.function([x], T.sqrt(x) + 3)
    assert hit.report.cache == "memory"
    assert "sqrt" in hit.source("ir")
    assert "llvm.sqrt" in hit.source("llvm")


def test_a_different_target_key_misses(monkeypatch):
    x = T.dvector("x")
    theon.function([x], T.cos(x) - 2)
    original = compiler.cache_key

    def other_cpu(target_name):
        return original(target_name) + ("another cpu",)

    monkeypatch.setattr(compiler, "cache_key", other_cpu)
    monkeypatch.setattr(loader, "cache_key", other_cpu)
    recompiled = theon.function([x], T.cos(x) - 2)
    assert recompiled.report.cache != "memory"
    assert recompiled.report.kernels_compiled == 1


def test_the_cuda_key_does_not_depend_on_the_host_cpu(monkeypatch):
    from theon.codegen import host
    cpu, cuda = host.cache_key("cpu"), host.cache_key("cuda")
    host.cache_key.cache_clear()
    monkeypatch.setattr(host, "cpu_fingerprint", lambda: "another cpu")
    try:
        assert host.cache_key("cpu") != cpu
        assert host.cache_key("cuda") == cuda
    finally:
        host.cache_key.cache_clear()


def test_the_key_names_the_llvmlite_build_without_importing_it(tmp_path, monkeypatch):
    import importlib.machinery
    import importlib.util

    from theon.codegen import host
    package = tmp_path / "llvmlite"
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('not to be imported')\n")
    spec = importlib.machinery.ModuleSpec("llvmlite", None, origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    builds = []
    for revision in ("version_version = '0.50.0'\nversion_full = 'abc'\n",
                     "version_version = '0.50.0'\nversion_full = 'abd'\n"):
        (package / "_version.py").write_text(revision)
        builds.append(host.llvmlite_build())
    assert builds[0] != builds[1]  # same version number, another build: another key
    (package / "_version.py").unlink()
    import llvmlite
    assert host.llvmlite_build() == llvmlite.__version__  # no version file: the import's

def test_unwritable_cache_dir_compiles_without_it(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("THEON_CACHE_DIR", str(blocker / "cache"))
    x = T.ivector("x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = theon.function([x], x * 7 - 1)
        g = theon.function([x], x * 5 - 1)
    np.testing.assert_array_equal(f(np.arange(4, dtype="int32")), np.arange(4) * 7 - 1)
    np.testing.assert_array_equal(g(np.arange(4, dtype="int32")), np.arange(4) * 5 - 1)
    messages = [str(w.message) for w in caught if "disk cache" in str(w.message)]
    assert len(messages) <= 1


CUDA_PROGRAM = textwrap.dedent("""
    import json, sys
    import theon, theon.tensor as T
    x, y = T.fvector('x'), T.fvector('y')
    f = theon.function([x, y], [T.exp(-x * x) * T.sin(y) + T.log1p(abs(y)) * 0.5, T.sum(x)],
                       target='cuda')
    llvm_imported = "llvmlite.binding" in sys.modules
    print(json.dumps({"cache": f.report.cache, "compiled": f.report.kernels_compiled,
                      "cached": f.report.kernels_cached, "ptx": f.source('ptx'),
                      "asm": f.source('asm') == f.source('ptx'),
                      "opt": "ptx_kernel" in f.source('opt'),
                      "llvm_imported": llvm_imported or "llvmlite.binding" in sys.modules}))
""")


def _run_cuda(cache_dir, **env):
    environ = dict(os.environ, PYTHONPATH=str(ROOT), THEON_CACHE_DIR=str(cache_dir), **env)
    result = subprocess.run([sys.executable, "-c", CUDA_PROGRAM], capture_output=True,
                            text=True, env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_ptx_is_cached_on_disk_per_gpu_architecture(tmp_path):
    first = _run_cuda(tmp_path)
    second = _run_cuda(tmp_path)
    assert (first["cache"], first["compiled"], first["cached"]) == ("miss", 2, 0)
    assert (second["cache"], second["compiled"], second["cached"]) == ("disk", 0, 2)
    assert second["ptx"] == first["ptx"] and ".target sm_80" in first["ptx"]
    assert second["asm"] and second["opt"] and not second["llvm_imported"]
    other = _run_cuda(tmp_path, THEON_FLAGS="cuda_arch=sm_90")
    assert other["cache"] == "miss" and ".target sm_90" in other["ptx"]
    assert _run_cuda(tmp_path, THEON_FLAGS="cuda_arch=sm_90")["cache"] == "disk"


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_ptx_entry_is_rebuilt(tmp_path, damage):
    first = _run_cuda(tmp_path)
    (entry,) = [p for p in (tmp_path / "v1" / "ptx").rglob("*") if p.is_file()]
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    else:  # an intact entry whose payload is not a module of PTX
        key = entry.name
        entry.write_bytes(disk_cache.encode_entry("ptx", key, b"no symbols and no length"))
    rebuilt = _run_cuda(tmp_path)
    assert rebuilt["cache"] == "miss" and rebuilt["ptx"] == first["ptx"]
    assert _run_cuda(tmp_path)["cache"] == "disk"


def test_cuda_compile_of_a_rebuilt_graph_is_a_memory_hit():
    def build():
        x = T.fmatrix("x")
        return theon.function([x], T.nnet.softmax(x) * 2, target="cuda")

    first, second = build(), build()
    assert second.report.cache == "memory" and second.report.kernels_compiled == 0
    assert second.source("ptx") == first.source("ptx")


def test_cuda_arch_flag_is_checked():
    with pytest.raises(ValueError, match=r"config.cuda_arch: expected a GPU architecture "
                                         r"such as 'sm_80' or 'sm_90', got 'ampere'"):
        theon.config.cuda_arch = "ampere"
