"""Tiered compilation: kernels run first in code from LLVM's fastest back end, then move to
the optimised code a background thread compiles; results never change."""
import os

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.config import config
from theon.runtime import loader


@pytest.fixture
def no_disk_cache(monkeypatch):
    monkeypatch.setenv("THEON_CACHE", "0")


def _fresh_function(seed):
    """A function no other test compiled (its constant is unique), so it goes through LLVM."""
    x = T.fmatrix("x")
    return theon.function([x], T.tanh(x) * np.float32(1 + seed * 1e-3) + T.exp(-x))


def _reference(seed, value):
    return np.tanh(value) * np.float32(1 + seed * 1e-3) + np.exp(-value)


def test_calls_move_to_optimised_code_with_equal_results(no_disk_cache):
    value = np.random.default_rng(0).standard_normal((37, 53)).astype(np.float32)
    f = _fresh_function(1)
    call = f._executable.calls[0]
    first_tier, first = call.address, f(value)
    loader.wait_for_optimized()
    assert call.address != first_tier
    np.testing.assert_array_equal(f(value), first)
    np.testing.assert_allclose(first, _reference(1, value), rtol=1e-6)


def test_a_function_compiled_after_the_upgrade_gets_optimised_code(no_disk_cache):
    f = _fresh_function(2)
    loader.wait_for_optimized()
    again = _fresh_function(2)  # a memory hit: the same kernels
    assert again._executable.calls[0].address == f._executable.calls[0].address


def test_without_tiering_the_first_code_is_final(no_disk_cache, monkeypatch):
    monkeypatch.setattr(config, "tiered_compile", False)
    f = _fresh_function(3)
    call = f._executable.calls[0]
    address = call.address
    loader.wait_for_optimized()
    assert call.address == address


def test_a_call_moved_to_its_strided_variant_ignores_the_old_symbol(no_disk_cache):
    f = _fresh_function(4)
    wide = np.random.default_rng(1).standard_normal((8, 40)).astype(np.float32)
    strided = wide[:, ::2]                     # inner stride 2: the strided variant runs
    np.testing.assert_allclose(f(strided), _reference(4, strided), rtol=1e-6)
    loader.wait_for_optimized()
    np.testing.assert_allclose(f(strided), _reference(4, strided), rtol=1e-6)
    np.testing.assert_allclose(f(wide), _reference(4, wide), rtol=1e-6)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_during_background_compile_leaves_a_working_child(no_disk_cache):
    _fresh_function(5)                        # its optimisation may still be running
    pid = os.fork()
    if pid == 0:                              # the child compiles and runs; 0 = success
        status = 1
        try:
            value = np.ones((3, 4), np.float32)
            ok = np.allclose(_fresh_function(6)(value), _reference(6, value), rtol=1e-6)
            status = 0 if ok else 1
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
