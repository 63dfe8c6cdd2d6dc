"""``theon.function(..., profile=True)``: per-step counts, times and bytes in ``f.profile``,
the summary table, ``config.profile``, and unchanged results (updates, givens, trust_input)."""
import re

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.compile import ProfileStats
from theon.ifelse import ifelse
from theon.ir import BranchStep, HostStep, KernelStep, LoopStep
from theon.runtime.executable import Executable


def _kernel_index(schedule, member):
    """The index of the kernel step fusing ``member``."""
    (index,) = [i for i, step in enumerate(schedule.steps)
                if isinstance(step, KernelStep) and member in step.kernel.members]
    return index


def test_unprofiled_functions_keep_the_plain_call_path():
    x = T.dvector("x")
    f = theon.function([x], T.exp(x) + 1)
    assert f.profile is None
    assert isinstance(f._executable, Executable)
    # a one-kernel function still gets the dedicated single-kernel closure
    assert f._call.__qualname__.startswith("_direct_caller")
    np.testing.assert_allclose(f(np.zeros(3)), np.full(3, 2.0))


def test_records_count_calls_time_and_bytes_per_step():
    x = T.dvector("x")
    f = theon.function([x], [T.sum(x), x * 2], profile=True, name="two_kernels")
    assert isinstance(f.profile, ProfileStats)
    schedule = f.schedule
    total, doubled = _kernel_index(schedule, "add-reduce[0]"), _kernel_index(schedule, "mul")
    value = np.arange(1000.0)
    for _ in range(3):
        got_sum, got_double = f(value)
    assert got_sum == value.sum()
    np.testing.assert_array_equal(got_double, 2 * value)
    profile = f.profile
    assert profile.calls == 3
    assert [r.index for r in profile.steps] == list(range(len(schedule.steps)))
    assert [r.label for r in profile.steps] == [s.kernel.describe() for s in schedule.steps]
    assert all(r.kind == "kernel" and r.calls == 3 for r in profile.steps)
    # the sum reads x and writes one float64; the product reads x and writes as much
    assert profile.steps[total].bytes == 3 * (value.nbytes + 8)
    assert profile.steps[doubled].bytes == 3 * 2 * value.nbytes
    for record in profile.steps:
        assert isinstance(record.seconds, float) and record.seconds > 0
        assert record.seconds == pytest.approx(record.nanoseconds * 1e-9)
        assert record.gigabytes_per_second == pytest.approx(record.bytes / record.nanoseconds)
    assert profile.total_seconds >= profile.step_seconds > 0
    assert profile.overhead_seconds == pytest.approx(profile.total_seconds - profile.step_seconds)


def test_host_loop_and_branch_steps_are_one_record_each():
    a, x, m = T.dscalar("a"), T.dvector("x"), T.dmatrix("m")
    rows, _ = theon.scan(lambda row, h: h + row, sequences=m, outputs_info=T.zeros_like(x),
                         name="acc")
    f = theon.function([a, x, m], [T.dot(m, x), rows[-1], ifelse(T.lt(a, 0), x * 3, x + 1),
                                   T.exp(x)], profile=True)
    kinds = {KernelStep: "kernel", HostStep: "host", LoopStep: "loop", BranchStep: "branch"}
    expected = [kinds[type(step)] for step in f.schedule.steps]
    assert {"kernel", "host", "loop", "branch"} <= set(expected)
    mv, xv = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0])
    dot, last, branch, exp = f(-1.0, xv, mv)
    np.testing.assert_allclose(dot, mv @ xv)
    np.testing.assert_allclose(last, mv.sum(axis=0))
    np.testing.assert_allclose(branch, xv * 3)
    np.testing.assert_allclose(exp, np.exp(xv))
    f(1.0, xv, mv)
    assert [r.kind for r in f.profile.steps] == expected
    assert all(r.calls == 2 for r in f.profile.steps)
    (loop,) = [r for r in f.profile.steps if r.kind == "loop"]
    assert loop.label == "scan 'acc'"
    # the loop reads n_steps, the sequence and the initial state (one row) and writes the
    # final row only: rows[-1] is all the function reads of the history (trim_loops)
    assert loop.bytes == 2 * (8 + mv.nbytes + 8 * 3 + 8 * 3)


def test_summary_table_is_sorted_by_time_and_ends_with_the_overhead():
    x, y = T.dvectors("x", "y")
    f = theon.function([x, y], [T.tanh(x) * y, T.sum(x ** 2)], profile=True, name="table")
    for _ in range(4):
        f(np.linspace(0, 1, 10000), np.ones(10000))
    text = str(f.profile)
    assert text == f.profile.summary()
    lines = text.splitlines()
    assert lines[0] == "Function profile: 'table'"
    assert lines[1] == "=" * len(lines[0])
    assert lines[2].startswith("  4 calls, ")
    assert lines[3].split() == ["%", "time", "cum", "%", "seconds", "calls", "s/call",
                                "bytes/call", "GB/s", "step", "label"]
    rows = lines[4:]
    assert len(rows) == len(f.schedule.steps) + 1
    seconds = [float(row.split()[2]) for row in rows[:-1]]
    assert seconds == sorted(seconds, reverse=True)
    for row in rows[:-1]:
        index = int(re.search(r"#(\d+)", row).group(1))
        record = f.profile.steps[index]
        assert row.rstrip().endswith(f"{record.label} ({record.kind})")
        assert int(row.split()[3]) == 4
        assert int(row.split()[5]) == record.bytes // 4
    assert "call overhead" in rows[-1]
    assert rows[-1].split()[1] == "100.0%"
    shares = [float(row.split()[0].rstrip("%")) for row in rows]
    assert sum(shares) == pytest.approx(100.0, abs=0.1 * len(rows))


def test_reset_and_a_profile_without_calls():
    x = T.dvector("x")
    f = theon.function([x], T.sin(x), profile=True)
    assert str(f.profile) == "Function profile\n================\n  no calls yet"
    f(np.ones(4))
    f.profile.reset()
    assert f.profile.calls == 0 and f.profile.nanoseconds == 0
    assert all(r.calls == 0 and r.nanoseconds == 0 and r.bytes == 0
               for r in f.profile.steps)
    f(np.ones(4))
    assert f.profile.calls == 1 and f.profile.steps[0].bytes == 2 * 4 * 8


def test_config_profile_flag(monkeypatch):
    x = T.dvector("x")
    monkeypatch.setattr(theon.config, "profile", True)
    f = theon.function([x], x * 5)
    assert isinstance(f.profile, ProfileStats)
    np.testing.assert_array_equal(f([1.0]), [5.0])
    assert f.profile.calls == 1
    assert theon.function([x], x * 5, profile=False).profile is None
    # a checking mode is not profiled: its checks would be timed with the steps
    assert theon.function([x], x * 5, mode="DebugMode").profile is None
    monkeypatch.setattr(theon.config, "profile", False)
    assert theon.function([x], x * 5).profile is None


def test_flag_parses_from_theon_flags():
    from theon.config import Config
    assert Config({"THEON_FLAGS": "profile=1"}).profile is True
    assert Config({}).profile is False


def _training_step(profile=None, mode=None):
    """A logistic-regression SGD step over a shared data set sliced by ``givens``; returns
    the compiled step and its shared parameters."""
    rng = np.random.default_rng(3)
    data_x = theon.shared(rng.normal(size=(40, 5)), name="data_x")
    data_y = theon.shared(rng.integers(0, 3, size=40), name="data_y")
    W = theon.shared(np.zeros((5, 3)), name="W")
    b = theon.shared(np.zeros(3), name="b")
    index = T.lscalar("index")
    x, y = T.dmatrix("x"), T.lvector("y")
    probabilities = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(probabilities)[T.arange(y.shape[0]), y])
    gW, gb = theon.grad(cost, [W, b])
    step = theon.function([index], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)],
                          givens={x: data_x[index * 10:(index + 1) * 10],
                                  y: data_y[index * 10:(index + 1) * 10]},
                          profile=profile, mode=mode)
    return step, W, b


def test_training_step_with_updates_and_givens_is_unchanged_by_profiling():
    plain, W_plain, b_plain = _training_step()
    profiled, W_profiled, b_profiled = _training_step(profile=True)
    for epoch in range(3):
        for index in range(4):
            assert profiled(index) == pytest.approx(plain(index), rel=1e-13)
    np.testing.assert_allclose(W_profiled.get_value(), W_plain.get_value(), rtol=1e-12)
    np.testing.assert_allclose(b_profiled.get_value(), b_plain.get_value(), rtol=1e-12)
    assert profiled.profile.calls == 12
    assert all(record.calls == 12 for record in profiled.profile.steps)
    profiled.trust_input = True
    profiled(np.array(0, dtype=np.int64))
    assert profiled.profile.calls == 13


def test_argument_errors_are_those_of_the_plain_path():
    x = T.dvector("x")
    f = theon.function([x], x + 1, profile=True)
    for function in (f, theon.function([x], x + 1)):
        with pytest.raises(TypeError, match=re.escape("function takes 1 input (x); got 2")):
            function(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=re.escape("input 0 ('x', float64[?])")):
        f(np.ones((2, 2)))
    f.profile.reset()
    with pytest.raises(TypeError):
        f(np.ones(2), np.ones(2))
    # a failed call is a call: its time is the function's
    assert f.profile.calls == 1 and f.profile.steps[0].calls == 0


def test_bad_profile_arguments():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=re.escape(
            "function: profile must be True, False or None; got 'yes' (str)")):
        theon.function([x], x, profile="yes")
    with pytest.raises(ValueError, match=re.escape(
            "function: profile=True cannot be combined with mode=DebugMode(rtol=None, "
            "atol=None): its checks would be timed with the steps; profile the function in "
            "the plain mode")):
        theon.function([x], x, profile=True, mode="DebugMode")
    with pytest.raises(ValueError, match=re.escape(
            "function: profile=True needs target='cpu'; theon cannot run functions compiled "
            "for target='cuda' yet (issue #7)")):
        theon.function([x], x, profile=True, target="cuda")
