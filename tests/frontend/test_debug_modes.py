"""``mode=``: the plain modes, DebugMode (kernels against their numpy reference, outputs
against the unoptimised graph) and NanGuardMode (the first step producing NaN, inf or
huge values), with unchanged results for correct functions."""
import importlib
import re

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.compile import (BadOptimization, BadThunkOutput, DebugMode, DebugModeError, Mode,
                           NanGuardError, NanGuardMode)
from theon.ifelse import ifelse
from theon.ir import KernelStep, LoopStep, build
from theon.passes import rewrite
from theon.runtime.compare import Tolerance, describe_mismatch, mismatch
from theon.runtime.debugmode import DebugRunner
from theon.runtime.executable import Executable, KernelCall

compiler = importlib.import_module("theon.frontend.compiler")
pipeline = importlib.import_module("theon.passes.pipeline")


# -- choosing a mode ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "FAST_RUN", "FAST_COMPILE", Mode()])
def test_plain_modes_run_the_compiled_code_as_it_is(mode):
    x = T.dvector("x")
    f = theon.function([x], T.exp(x), mode=mode)
    assert isinstance(f._executable, Executable)
    np.testing.assert_allclose(f(np.zeros(2)), [1.0, 1.0])


@pytest.mark.parametrize("name, kind", [("DebugMode", DebugMode), ("DEBUG_MODE", DebugMode),
                                        ("NanGuardMode", NanGuardMode)])
def test_mode_names(name, kind):
    x = T.dvector("x")
    assert isinstance(theon.compile.get_mode(name), kind)
    np.testing.assert_allclose(theon.function([x], x + 1, mode=name)(np.zeros(2)), [1, 1])


def test_unknown_modes():
    x = T.dvector("x")
    with pytest.raises(ValueError, match=re.escape(
            "function: unknown mode 'DEBUG'; expected one of 'FAST_RUN', 'FAST_COMPILE', "
            "'DebugMode', 'DEBUG_MODE', 'NanGuardMode', or a theon.compile.Mode instance")):
        theon.function([x], x, mode="DEBUG")
    with pytest.raises(TypeError, match=re.escape(
            "function: mode must be None, a mode name or a theon.compile.Mode instance; got "
            "3 (int)")):
        theon.function([x], x, mode=3)
    with pytest.raises(ValueError, match=re.escape(
            "function: mode=NanGuardMode(nan_is_error=True, inf_is_error=True, "
            "big_is_error=False) needs target='cpu'; theon cannot run functions compiled for "
            "target='cuda' yet (issue #7)")):
        theon.function([x], x, mode="NanGuardMode", target="cuda")


def test_mode_arguments_are_checked():
    with pytest.raises(TypeError, match=re.escape(
            "DebugMode: rtol must be a number or None; got '1e-3' (str)")):
        DebugMode(rtol="1e-3")
    with pytest.raises(ValueError, match=re.escape("DebugMode: atol must be at least 0; got -1")):
        DebugMode(atol=-1)
    with pytest.raises(TypeError, match=re.escape(
            "NanGuardMode: big_is_error must be True or False; got None")):
        NanGuardMode(big_is_error=None)


def test_error_classes_subclass_the_natural_builtins():
    assert issubclass(BadThunkOutput, DebugModeError)
    assert issubclass(BadOptimization, DebugModeError)
    assert issubclass(DebugModeError, AssertionError)
    assert issubclass(NanGuardError, FloatingPointError)


# -- DebugMode on correct functions ------------------------------------------------------


def _rnn(floatX):
    sequence = T.matrix("sequence", dtype=floatX)
    h0 = T.vector("h0", dtype=floatX)
    states, _ = theon.scan(lambda row, h: T.tanh(0.5 * h + row), sequences=sequence,
                           outputs_info=h0, name="rnn")
    return [sequence, h0], [states, states[-1].sum()]


def _branch(floatX):
    a = T.scalar("a", dtype=floatX)
    v = T.vector("v", dtype=floatX)
    return [a, v], ifelse(T.lt(a, 0), T.mean(T.exp(v)), T.max(T.sin(v)) * a)


def _graphs(floatX):
    """name -> (inputs, outputs) of graphs covering every kind of step."""
    x = T.matrix("x", dtype=floatX)
    v = T.vector("v", dtype=floatX)
    i = T.lvector("i")
    return {
        "elementwise": ([x, v], T.tanh(x) * v + T.exp(-x ** 2) / (1 + T.abs(x))),
        "reductions": ([x], [T.sum(x, axis=0), T.max(x, axis=1), T.mean(x),
                             T.prod(1 + 0.01 * x, axis=0), T.argmax(x, axis=1)]),
        "softmax": ([x], T.nnet.softmax(x)),
        "dot": ([x, v], T.dot(x, v) + T.dot(x, x.T).sum(axis=0)),
        "indexing": ([x, i], x[2:10, ::3].sum(axis=0) + x[i].sum(axis=0)[::3]),
        "stabilised": ([x], T.log(1 + T.exp(x)) + T.log(T.nnet.softmax(x))),
        "scan": _rnn(floatX),
        "ifelse": _branch(floatX),
    }


def _arguments(inputs, rng):
    values = []
    for variable in inputs:
        if variable.dtype == "int64":
            values.append(np.array([0, 3, 3, 7], dtype=np.int64))
        elif variable.ndim == 2:
            values.append(rng.normal(size=(12, 13)).astype(variable.dtype))
        else:
            values.append(rng.normal(size=(13,)[:variable.ndim]).astype(variable.dtype))
    return values


@pytest.mark.parametrize("floatX", ["float64", "float32"])
@pytest.mark.parametrize("name", list(_graphs("float64")))
def test_correct_functions_pass_and_return_the_plain_results(name, floatX):
    inputs, outputs = _graphs(floatX)[name]
    checked = theon.function(inputs, outputs, mode="DebugMode")
    assert isinstance(checked._executable, DebugRunner)
    plain = theon.function(inputs, outputs)
    rng = np.random.default_rng(7)
    for _ in range(2):
        args = _arguments(inputs, rng)
        if name == "ifelse":
            args[0] = np.asarray(rng.choice([-1.0, 1.0]), dtype=floatX)
        got, expected = checked(*args), plain(*args)
        for a, b in zip(got if isinstance(got, list) else [got],
                        expected if isinstance(expected, list) else [expected]):
            np.testing.assert_array_equal(a, b)


def test_float32_sums_within_rounding_pass():
    """Row sums of large values with cancellation: native code and numpy add in different
    orders and differ beyond rtol.  The kernel check allows the reduction's rounding bound;
    the output check, against the unoptimised graph (numpy's sums), sees the same
    difference and accepts it because the optimised schedule evaluated by numpy agrees
    with that graph."""
    x = T.fmatrix("x")
    rng = np.random.default_rng(1)
    value = rng.normal(size=(4000, 64)).astype(np.float32) * 100
    value -= value.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    native = theon.function([x], T.sum(x, axis=1))(value)
    reference = np.add.reduce(value, axis=1)
    assert mismatch(native, reference, Tolerance()) is not None
    f = theon.function([x], [T.sum(x, axis=1), T.sum(x, axis=1) * 2 + 1], mode="DebugMode")
    np.testing.assert_array_equal(f(value)[0], native)


def test_training_step_with_updates_matches_the_plain_mode():
    plain, W_plain = _training_step()
    checked, W_checked = _training_step("DebugMode")
    guarded, W_guarded = _training_step(NanGuardMode(True, True, True))
    for index in range(4):
        cost = plain(index)
        assert checked(index) == pytest.approx(cost, rel=1e-13)
        assert guarded(index) == pytest.approx(cost, rel=1e-13)
    np.testing.assert_allclose(W_checked.get_value(), W_plain.get_value(), rtol=1e-12)
    np.testing.assert_allclose(W_guarded.get_value(), W_plain.get_value(), rtol=1e-12)
    checked.trust_input = True
    checked(np.array(0, dtype=np.int64))


def _training_step(mode=None):
    """An SGD step of a tanh layer and softmax over a shared data set sliced by ``givens``;
    the update of W is computed in place."""
    rng = np.random.default_rng(5)
    data_x = theon.shared(rng.normal(size=(40, 6)), name="data_x")
    data_y = theon.shared(rng.integers(0, 3, size=40), name="data_y")
    W = theon.shared(rng.normal(size=(6, 3)) * 0.1, name="W")
    index = T.lscalar("index")
    x, y = T.dmatrix("x"), T.lvector("y")
    probabilities = T.nnet.softmax(T.tanh(T.dot(x, W)))
    cost = -T.mean(T.log(probabilities)[T.arange(y.shape[0]), y])
    step = theon.function([index], cost, updates=[(W, W - 0.5 * theon.grad(cost, W))],
                          givens={x: data_x[index * 10:(index + 1) * 10],
                                  y: data_y[index * 10:(index + 1) * 10]}, mode=mode)
    return step, W


def test_a_shape_error_is_the_plain_one():
    x, y = T.dvectors("x", "y")
    for mode in (None, "DebugMode", "NanGuardMode"):
        f = theon.function([x, y], x + y, mode=mode)
        with pytest.raises(theon.ShapeError, match="has shape"):
            f(np.ones(2), np.ones(3))


# -- DebugMode finding wrong results -----------------------------------------------------


def _corrupt(monkeypatch, label, index, delta=1.0):
    """Make the kernel calls labelled ``label`` add ``delta`` to element ``index`` of their
    first output after running, as a miscompiled kernel would."""
    run = KernelCall.run

    def wrong_run(self, values):
        run(self, values)
        if self.label == label:
            values[self.outputs[0]][index] += delta

    monkeypatch.setattr(KernelCall, "run", wrong_run)


def test_a_wrong_kernel_is_named(monkeypatch):
    x = T.dvector("x")
    y = x * 2 + 1
    y.name = "y"
    f = theon.function([x], y, mode="DebugMode")
    (step,) = f.schedule.steps
    label, members = step.kernel.describe(), ", ".join(step.kernel.members)
    _corrupt(monkeypatch, label, 1)
    with pytest.raises(BadThunkOutput, match=re.escape(
            f"DebugMode: step 0 ({label}; fused ops: {members}), output 0 (float64[?]; the "
            "function's output 0 ('y')): the native kernel's result differs from its numpy "
            "reference (Kernel.impl): 1 of 3 elements differs beyond rtol=1e-07, atol=1e-10 "
            "(float64); max abs difference 1, max rel difference 0.333; first at index (1,): "
            "native 4.0, reference 3.0")):
        f(np.array([0.0, 1.0, 2.0]))


def test_a_wrong_kernel_in_a_loop_body_is_named_with_its_iteration(monkeypatch):
    sequence = T.dmatrix("sequence")
    states, _ = theon.scan(lambda row, h: h + row, sequences=sequence,
                           outputs_info=T.zeros_like(sequence[0]), name="acc")
    f = theon.function([sequence], states, mode=DebugMode(atol=0.5))
    (index,) = [i for i, step in enumerate(f.schedule.steps) if isinstance(step, LoopStep)]
    (body_step,) = f.schedule.steps[index].body.steps
    label = body_step.kernel.describe()
    _corrupt(monkeypatch, label, 1)
    with pytest.raises(BadThunkOutput, match=re.escape(
            f"DebugMode: step 0 ({label}; fused ops: add) in iteration 0 of the body of step "
            f"{index} (scan 'acc'), output 0 (float64[?]): the native kernel's result differs "
            "from its numpy reference (Kernel.impl): 1 of 2 elements differs beyond "
            "rtol=1e-07, atol=0.5 (float64); max abs difference 1, max rel difference 0.5; "
            "first at index (1,): native 3.0, reference 2.0")):
        f(np.array([[1.0, 2.0], [3.0, 4.0]]))


def _expm1_instead_of_exp(graph):
    """A wrong rewrite: exp(x) -> expm1(x)."""
    def rule(node):
        if getattr(node.op, "name", None) == "exp":
            return build.apply("expm1", *node.inputs)
        return None
    return rewrite(graph, (rule,))


def test_a_wrong_rewrite_is_a_bad_optimization(monkeypatch):
    passes = (pipeline.Pass("wrong", _expm1_instead_of_exp),) + pipeline.PIPELINE
    monkeypatch.setattr(compiler, "run_pipeline",
                        lambda graph: pipeline.run_pipeline(graph, passes))
    # keep the wrong schedule out of the caches the other tests use
    monkeypatch.setattr(compiler, "_memory", {})
    monkeypatch.setattr(compiler, "get_cache", lambda: None)
    x = T.dvector("x")
    y = T.exp(x) * 3.25
    y.name = "y"
    f = theon.function([x], y, mode="DebugMode")
    with pytest.raises(BadOptimization, match=re.escape(
            "DebugMode: output 0 ('y') (float64[?]) of the compiled function differs from the "
            "unoptimised graph evaluated by theon.ir.evaluate, and so does the optimised "
            "schedule evaluated by numpy, while every kernel matched its own reference (a "
            "graph rewrite changed the value): 3 of 3 elements differ beyond rtol=1e-07, "
            "atol=1e-10 (float64); max abs difference 3.25, max rel difference 1; first at "
            "index (0,): compiled 0.0, reference 3.25")):
        f(np.array([0.0, 1.0, 2.0]))


def test_mismatch_rules():
    tolerance = Tolerance()
    assert mismatch(np.array([np.nan, np.inf, 1.0]), np.array([np.nan, np.inf, 1.0 + 1e-9]),
                    tolerance) is None
    bad = mismatch(np.array([np.nan, -np.inf, 2.0]), np.array([1.0, np.inf, 2.0]), tolerance)
    np.testing.assert_array_equal(bad, [True, True, False])
    assert describe_mismatch(np.array([np.nan, -np.inf, 2.0]), np.array([1.0, np.inf, 2.0]),
                             bad, tolerance, "native") == (
        "2 of 3 elements differ beyond rtol=1e-07, atol=1e-10 (float64); max abs difference "
        "inf, max rel difference nan; first at index (0,): native nan, reference 1.0")
    ints = mismatch(np.array([1, 2], np.int32), np.array([1, 3], np.int32), Tolerance(1, 1))
    np.testing.assert_array_equal(ints, [False, True])
    assert mismatch(np.float32([1.0]), np.float32([1.000009]), tolerance) is None
    assert mismatch(np.float32([1.0]), np.float32([1.00003]), tolerance) is not None
    assert mismatch(np.array([1e-300]), np.array([np.inf]), tolerance,
                    skip_nonfinite_reference=True) is None


# -- NanGuardMode ------------------------------------------------------------------------


def test_nan_and_inf_name_the_step():
    x = T.dvector("x")
    f = theon.function([x], [T.log(x) + 1, x * 2], mode=NanGuardMode())
    index = next(i for i, step in enumerate(f.schedule.steps)
                 if isinstance(step, KernelStep) and "log" in step.kernel.members)
    kernel = f.schedule.steps[index].kernel
    with pytest.raises(NanGuardError, match=re.escape(
            f"NanGuardMode: step {index} ({kernel.describe()}; fused ops: "
            f"{', '.join(kernel.members)}) produced bad values in its output 0 (float64[?]; "
            "the function's output 0): 1 NaN and 1 inf among 3 elements, the first at index "
            "(1,)")):
        f(np.array([1.0, -1.0, 0.0]))
    got = f(np.array([1.0, np.e]))
    np.testing.assert_allclose(got[0], [1.0, 2.0])


def test_which_values_are_errors():
    x = T.dvector("x")
    value = np.array([1.0, -1.0, 0.0])
    only_inf = theon.function([x], T.log(x), mode=NanGuardMode(nan_is_error=False))
    with pytest.raises(NanGuardError, match=re.escape(": 1 inf among 3 elements, the first "
                                                      "at index (2,)")):
        only_inf(value)
    quiet = theon.function([x], T.log(x), mode=NanGuardMode(False, False))
    assert np.isnan(quiet(value)[1])
    big = theon.function([x], x * 1e12, mode=NanGuardMode(big_is_error=True))
    with pytest.raises(NanGuardError, match=re.escape(
            ": 2 values of magnitude above 1e+10 among 3 elements, the first at index (0,)")):
        big(value)
    np.testing.assert_array_equal(big(np.array([0.0, 1e-3])), [0.0, 1e9])
    # integers hold no NaN: not checked (and not converted)
    i = T.lvector("i")
    np.testing.assert_array_equal(theon.function([i], i * 2, mode="NanGuardMode")([3]), [6])


def test_bad_inputs_are_named():
    x = T.dvector("x")
    f = theon.function([x], x + 1, mode="NanGuardMode")
    with pytest.raises(NanGuardError, match=re.escape(
            "NanGuardMode: input 0 ('x', float64[?]) holds bad values: 1 NaN among 3 "
            "elements, the first at index (2,)")):
        f(np.array([1.0, 2.0, np.nan]))
    W = theon.shared(np.array([np.inf]), name="W")
    g = theon.function([], W * 2, mode="NanGuardMode")
    with pytest.raises(NanGuardError, match=re.escape(
            "NanGuardMode: input 0 ('W', float64[?]) holds bad values: 1 inf among 1 "
            "element, the first at index (0,)")):
        g()


def test_a_bad_update_is_named_by_its_shared_variable():
    W = theon.shared(np.array([3.0, 1.0]), name="W")
    rate = T.dscalar("rate")
    f = theon.function([rate], [], updates=[(W, T.log(W - 1) * rate)], mode="NanGuardMode")
    (step,) = f.schedule.steps
    with pytest.raises(NanGuardError, match=re.escape(
            f"NanGuardMode: step 0 ({step.kernel.describe()}; fused ops: "
            f"{', '.join(step.kernel.members)}) produced bad values in its output 0 "
            "(float64[?]; the function's update of shared variable 'W'): 1 inf among 2 "
            "elements, the first at index (1,)")):
        f(1.0)


def test_nan_in_a_loop_body_names_the_iteration():
    start = T.dscalar("start")
    (levels, logs), _ = theon.scan(lambda h: [h - 1, T.log(h - 1)], outputs_info=[start, None],
                                   n_steps=4, name="countdown")
    f = theon.function([start], logs, mode="NanGuardMode")
    (index,) = [i for i, step in enumerate(f.schedule.steps) if isinstance(step, LoopStep)]
    body = f.schedule.steps[index].body
    (position, kernel, slot_position) = next(
        (i, step.kernel, step.outputs.index(body.outputs[1]))
        for i, step in enumerate(body.steps)
        if isinstance(step, KernelStep) and body.outputs[1] in step.outputs)
    with pytest.raises(NanGuardError, match=re.escape(
            f"NanGuardMode: step {position} ({kernel.describe()}; fused ops: "
            f"{', '.join(kernel.members)}) in iteration 2 of the body of step {index} (scan "
            f"'countdown') produced bad values in its output {slot_position} (float64[]): 1 "
            "NaN among 1 element, the first at index ()")):
        f(2.5)
    np.testing.assert_allclose(f(9.0), np.log([8.0, 7.0, 6.0, 5.0]))


def test_nan_in_a_branch_names_the_side():
    a = T.dscalar("a")
    v = T.dvector("v")
    f = theon.function([a, v], ifelse(T.lt(a, 0), T.sqrt(v) * 2, v + 1), mode="NanGuardMode")
    np.testing.assert_array_equal(f(1.0, np.array([-1.0])), [0.0])
    with pytest.raises(NanGuardError, match=re.escape("in the 'then' side of step")):
        f(-1.0, np.array([-1.0]))


def test_theano_import_paths():
    from theon.compile.debugmode import DebugMode as debug_mode
    from theon.compile.mode import Mode as plain_mode
    from theon.compile.nanguardmode import NanGuardMode as nan_guard_mode
    from theon.compile.profiling import ProfileStats
    assert (debug_mode, plain_mode, nan_guard_mode) == (DebugMode, Mode, NanGuardMode)
    assert ProfileStats is theon.compile.ProfileStats
