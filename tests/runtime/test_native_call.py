"""A compiled function's calls run natively (runtime/native_call.py): the same results as
the Python path (``config.native_calls`` off) and numpy, for many calls in a row."""
import ctypes
import threading

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.config import config
from theon.runtime import loader, native_call, native_program

RNG = np.random.default_rng(7)


def _native_calls(f):
    runner = f._executable.native
    return 0 if runner is None else runner.native_calls


def _logistic_regression(params):
    """An SGD step of logistic regression on one-hot float targets (no indexing)."""
    x, t = T.fmatrix("x"), T.fmatrix("t")
    W = theon.shared(params["W"], name="W")
    b = theon.shared(params["b"], name="b")
    p = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.sum(t * T.log(p), axis=1))
    gW, gb = theon.grad(cost, [W, b])
    rate = np.float32(0.1)
    f = theon.function([x, t], [cost, p], updates=[(W, W - rate * gW), (b, b - rate * gb)])
    return f, W, b


def _numpy_step(x, t, W, b):
    z = x @ W + b
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    cost = -np.mean(np.sum(t * np.log(p), axis=1))
    dz = (p - t) / x.shape[0]
    return cost, p, W - 0.1 * (x.T @ dz), b - 0.1 * dz.sum(axis=0)


def _case(batch=16, features=12, classes=5):
    x = RNG.random((batch, features), dtype=np.float32)
    t = np.eye(classes, dtype=np.float32)[RNG.integers(0, classes, batch)]
    params = {"W": (RNG.standard_normal((features, classes)) * 0.1).astype(np.float32),
              "b": np.zeros(classes, np.float32)}
    return x, t, params


def test_training_step_matches_the_python_path_and_numpy_and_runs_in_place():
    x, t, params = _case()
    native, W, b = _logistic_regression(params)
    with config.change_flags(native_calls=False):
        python, W_python, b_python = _logistic_regression(params)
    arrays = (W.get_value(borrow=True), b.get_value(borrow=True))
    W_ref, b_ref = params["W"].astype(np.float64), params["b"].astype(np.float64)
    for _ in range(6):
        cost, p = native(x, t)
        with config.change_flags(native_calls=False):
            cost_python, p_python = python(x, t)
        cost_ref, p_ref, W_ref, b_ref = _numpy_step(x.astype(np.float64), t, W_ref, b_ref)
        # the same kernels and BLAS calls: the same bits
        np.testing.assert_array_equal(cost, cost_python)
        np.testing.assert_array_equal(p, p_python)
        np.testing.assert_array_equal(W.get_value(), W_python.get_value())
        np.testing.assert_array_equal(b.get_value(), b_python.get_value())
        np.testing.assert_allclose(cost, cost_ref, rtol=1e-5)
        np.testing.assert_allclose(p, p_ref, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(W.get_value(), W_ref, rtol=1e-4, atol=1e-6)
    assert _native_calls(native) == 4  # the first call, then the recording one
    assert _native_calls(python) == 0
    # the updates were computed in the shared arrays themselves (as on the Python path):
    # the program binds both updates to the inputs W and b (slots 2 and 3)
    assert W.get_value(borrow=True) is arrays[0] and b.get_value(borrow=True) is arrays[1]
    executable = native._executable
    updates = executable.schedule.outputs[2:]
    assert sorted(executable.native.program.aliases) == [(updates[0], 2), (updates[1], 3)]


def test_results_of_a_call_are_not_changed_by_the_next():
    x = T.fmatrix("x")
    W = theon.shared(RNG.random((4, 3), dtype=np.float32), name="W")
    h = T.tanh(T.dot(x, W))
    f = theon.function([x], [h, h.sum(axis=0), h])
    kept = []
    for step in range(5):
        value = RNG.random((6, 4), dtype=np.float32)
        kept.append((value, [r.copy() for r in f(value)], f(value)))
    assert _native_calls(f) > 0
    for value, copies, results in kept:
        expected = np.tanh(value @ W.get_value())
        for copy, result in zip(copies, results):
            np.testing.assert_array_equal(copy, result)
        np.testing.assert_allclose(results[0], expected, rtol=1e-6)
        np.testing.assert_allclose(results[1], expected.sum(axis=0), rtol=1e-5)
        assert results[0] is not results[2]
    firsts = [results[0] for _, _, results in kept]
    assert len({id(array) for array in firsts}) == len(firsts)


def test_new_shapes_record_again_and_wrong_shapes_raise_as_before():
    x, v = T.fmatrix("x"), T.fvector("v")
    f = theon.function([x, v], T.exp(x + v).sum(axis=1) * 2)
    for batch in (8, 8, 8, 5, 5, 5, 8):
        value = RNG.random((batch, 3), dtype=np.float32)
        vector = RNG.random(3, dtype=np.float32)
        np.testing.assert_allclose(f(value, vector), np.exp(value + vector).sum(axis=1) * 2,
                                   rtol=1e-6)
    runner = f._executable.native
    assert runner.native_calls >= 2 and runner.recorded == 2
    bad = (np.ones((4, 3), np.float32), np.ones(2, np.float32))
    with pytest.raises(theon.ShapeError) as native_error:
        f(*bad)
    with config.change_flags(native_calls=False), pytest.raises(theon.ShapeError) as error:
        f(*bad)
    assert str(native_error.value) == str(error.value)


def test_set_value_with_a_new_array_is_seen():
    x = T.dvector("x")
    s = theon.shared(np.ones(4), name="s")
    f = theon.function([x], T.exp(x) * s + s.sum())
    value = np.arange(4.0)
    for _ in range(4):
        f(value)
    s.set_value(np.full(4, 3.0))
    np.testing.assert_allclose(f(value), np.exp(value) * 3 + 12)
    s.set_value(np.arange(8.0)[::2])  # strided: another signature, through Python
    np.testing.assert_allclose(f(value), np.exp(value) * np.arange(8.0)[::2] + 12)
    assert _native_calls(f) >= 3


@pytest.mark.parametrize("layout", ["columns", "transposed"])
def test_strided_and_transposed_inputs(layout):
    x = T.fmatrix("x")
    W = theon.shared(RNG.random((5, 3), dtype=np.float32), name="W")
    f = theon.function([x], [T.dot(T.tanh(x), W), (x * 2).sum(axis=0)])
    for _ in range(4):
        base = RNG.random((10, 10), dtype=np.float32)
        value = base[:6, ::2] if layout == "columns" else base[:5, :6].T
        got = f(value)
        np.testing.assert_allclose(got[0], np.tanh(value) @ W.get_value(), rtol=1e-5)
        np.testing.assert_allclose(got[1], (value * 2).sum(axis=0), rtol=1e-5)
    assert _native_calls(f) == 2


def test_a_data_dependent_host_step_runs_between_native_segments():
    x, index = T.dmatrix("x"), T.ivector("index")
    h = T.tanh(x) * 2
    f = theon.function([x, index], (h[index] + 1).sum(axis=1))
    value = RNG.random((7, 3))
    for _ in range(5):
        rows = RNG.integers(0, 7, 4).astype(np.int32)
        np.testing.assert_allclose(f(value, rows), (np.tanh(value)[rows] * 2 + 1).sum(axis=1))
    program = f._executable.native.program
    assert program is not None and any(not address for address, _, _ in program.pieces)
    assert _native_calls(f) == 3
    bad = np.array([0, 9, 1, 2], np.int32)
    with pytest.raises(IndexError) as native_error:
        f(value, bad)
    with config.change_flags(native_calls=False), pytest.raises(IndexError) as error:
        f(value, bad)
    assert str(native_error.value) == str(error.value)


def test_an_array_of_another_shape_from_a_python_step_finishes_in_python():
    x = T.dvector("x")
    f = theon.function([x], T.exp(x[x > 0.5]).sum() + x.sum())  # a mask: data-dependent
    value = np.linspace(0, 1, 9)
    for _ in range(3):
        np.testing.assert_allclose(f(value), np.exp(value[value > 0.5]).sum() + value.sum())
    program = f._executable.native.program
    for _ in range(3):  # as many selected: natively; more: the rest of the call in Python
        value = RNG.permutation(value)
        np.testing.assert_allclose(f(value), np.exp(value[value > 0.5]).sum() + value.sum())
    value = np.linspace(0.2, 1, 9)
    np.testing.assert_allclose(f(value), np.exp(value[value > 0.5]).sum() + value.sum())
    assert _native_calls(f) == 5 and program.stops == 1


def test_two_threads_calling_one_function():
    x = T.dmatrix("x")
    W = theon.shared(RNG.random((6, 4)), name="W")
    f = theon.function([x], T.nnet.softmax(T.dot(x, W) + 1).sum(axis=0))
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(150):
            value = rng.random((5, 6))
            z = np.exp(value @ W.get_value() + 1)
            expected = (z / z.sum(axis=1, keepdims=True)).sum(axis=0)
            got = f(value)
            if not np.allclose(got, expected, rtol=1e-10):
                errors.append((got, expected))

    workers = [threading.Thread(target=work, args=(seed,)) for seed in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert _native_calls(f) > 0


def test_in_place_targets_that_cannot_be_written_run_through_python():
    W = theon.shared(np.zeros(4), name="W")
    f = theon.function([], W.sum(), updates=[(W, W + 1)])
    for _ in range(3):
        f()
    array = W.get_value(borrow=True)
    frozen = np.zeros(4)
    frozen.setflags(write=False)
    W.set_value(frozen, borrow=True)
    f()
    np.testing.assert_array_equal(frozen, np.zeros(4))
    np.testing.assert_array_equal(W.get_value(), np.ones(4))
    W.set_value(array, borrow=True)
    for _ in range(2):
        f()
    assert W.get_value(borrow=True) is array
    np.testing.assert_array_equal(array, np.full(4, 5.0))


def test_outputs_that_are_inputs_or_repeated_are_copies():
    x = T.dvector("x")
    y = T.exp(x)
    f = theon.function([x], [x, y, y, x.shape[0] * 1, T.sqrt(y)])
    value = np.arange(3.0)
    for _ in range(4):
        got = f(value)
        assert got[0] is not value and got[1] is not got[2]
        np.testing.assert_array_equal(got[0], value)
    assert _native_calls(f) == 2
    got[3][...] = 99  # a result the program keeps is a copy
    assert int(f(value)[3]) == 3


def test_a_refusing_kernel_stops_the_program_and_python_finishes_the_call():
    x = T.dmatrix("x")
    f = theon.function([x], T.exp(T.tanh(x).sum(axis=1)).sum() + T.tanh(x))
    value = RNG.random((4, 3))
    expected = np.exp(np.tanh(value).sum(axis=1)).sum() + np.tanh(value)
    for _ in range(3):
        np.testing.assert_allclose(f(value), expected)
    program = f._executable.native.program
    # the last kernel's entry point replaced by a function refusing its arrays (status 1)
    position, call = program.entry_points[-1]
    n_arrays = len(call.inputs) + len(call.outputs)
    refuse = ctypes.PYFUNCTYPE(ctypes.c_int32, *[ctypes.c_void_p] * n_arrays)(lambda *a: 1)
    program.memory[position] = ctypes.cast(refuse, ctypes.c_void_p).value
    np.testing.assert_allclose(f(value), expected)
    assert program.stops == 1 and program.status[2] == f.schedule.steps.index(call.step)
    program._reread_entry_points()
    np.testing.assert_allclose(f(value), expected)
    assert program.stops == 1 and _native_calls(f) == 3


def test_programs_follow_the_optimised_second_tier(monkeypatch):
    monkeypatch.setenv("THEON_CACHE", "0")
    x = T.fmatrix("x")
    # a constant no other test uses: its kernels go through LLVM, in two tiers
    f = theon.function([x], T.exp(T.tanh(x).sum(axis=0) * np.float32(1.2345)) + x)
    value = RNG.random((5, 4), dtype=np.float32)
    first = [f(value) for _ in range(3)][-1]
    program = f._executable.native.program
    first_tier = [int(program.words[position]) for position, _ in program.entry_points]
    loader.wait_for_optimized()
    np.testing.assert_allclose(f(value), first, rtol=1e-6)
    second_tier = [int(program.words[position]) for position, _ in program.entry_points]
    assert second_tier == [call.whole for _, call in program.entry_points]
    assert second_tier != first_tier or not config.tiered_compile
    assert _native_calls(f) == 2


def test_a_rebound_kernel_is_followed_and_the_flag_turns_it_off():
    x = T.dvector("x")
    f = theon.function([x], T.exp(x).sum() + T.tanh(x))
    value = np.linspace(-1, 1, 5)
    expected = np.exp(value).sum() + np.tanh(value)
    for _ in range(3):
        f(value)
    native_call.entry_points_moved()  # as tiered compilation does
    np.testing.assert_allclose(f(value), expected)
    assert f._executable.native.program.generation == native_program._generation
    with config.change_flags(native_calls=False):
        np.testing.assert_allclose(f(value), expected)
    assert _native_calls(f) == 2


def test_programs_are_written_only_for_modest_memory(monkeypatch):
    monkeypatch.setattr(native_program, "MAX_BYTES", 100)
    x = T.dmatrix("x")
    f = theon.function([x], T.dot(T.tanh(x), x))  # tanh(x): an intermediate of 800 bytes
    value = RNG.random((10, 10))
    for _ in range(4):
        np.testing.assert_allclose(f(value), np.tanh(value) @ value)
    assert f._executable.native.program is None and _native_calls(f) == 0
