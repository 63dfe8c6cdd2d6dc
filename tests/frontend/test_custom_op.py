"""theon.elemwise_op: Python scalar functions compiled by numba and fused into theon's
kernels.  References: the same Python function applied element by element, numpy, and
central finite differences for user-given gradients."""
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import theon
import theon.tensor as T
from theon import ir
from theon.ir import scalar
from theon.ir.serialize import dumps_schedule, loads_schedule


@theon.elemwise_op
def huber(r):
    a = abs(r)
    return 0.5 * r * r if a <= 1.0 else a - 0.5


@theon.elemwise_op(name="smooth_clip", grad=lambda inputs, output, g: [g * (1 - output ** 2),
                                                                       None])
def smooth_clip(x, scale):
    return math.tanh(x) if scale > 0 else x


def _elementwise(fn, *arrays, dtype):
    """``fn`` applied element by element in Python: the independent reference."""
    broadcast = np.broadcast_arrays(*arrays)
    flat = [a.ravel().tolist() for a in broadcast]
    values = [fn(*items) for items in zip(*flat)]
    return np.array(values, dtype=dtype).reshape(broadcast[0].shape)


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=7),
                  elements=st.floats(-1e3, 1e3)),
       st.sampled_from(["float32", "float64"]))
def test_values_match_the_python_function(values, dtype):
    x = T.tensor(dtype, (False,) * values.ndim, "x")
    f = theon.function([x], huber(x))
    data = values.astype(dtype)
    expected = _elementwise(huber.fn, data.astype("float64"), dtype=dtype)
    result = f(data)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=1e-6 if dtype == "float32" else 1e-15)


@theon.elemwise_op
def transcendental(x, y):
    return math.exp(-x * x) * math.tanh(y) + math.log1p(abs(x)) + math.atan2(y, x) \
        + abs(y) ** 1.5 + math.sqrt(abs(x)) + math.floor(y)


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-30, 30)),
       st.sampled_from(["float32", "float64"]))
def test_math_functions_replayed_with_theons_library_match_python(values, dtype):
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    f = theon.function([x, y], transcendental(x, y))
    xs, ys = values.astype(dtype), values[::-1].astype(dtype)
    expected = _elementwise(transcendental.fn, xs.astype("float64"), ys.astype("float64"),
                            dtype="float64")
    rtol, atol = (2e-6, 1e-6) if dtype == "float32" else (1e-13, 1e-14)
    np.testing.assert_allclose(f(xs, ys), expected.astype(dtype), rtol=rtol, atol=atol)


def test_fuses_with_its_neighbours_into_one_kernel():
    x, y = T.matrix("x"), T.row("y")
    f = theon.function([x, y], huber(x * 3.0) * 2 + y)
    assert f.report.kernels == 1
    (step,) = f.schedule.steps
    assert "huber" in step.kernel.members
    assert "call theon_ext_huber_" in f.source("ir")
    xv = np.linspace(-2, 2, 35).reshape(5, 7)
    yv = np.arange(7.0).reshape(1, 7)
    expected = _elementwise(huber.fn, xv * 3.0, dtype="float64") * 2 + yv
    np.testing.assert_allclose(f(xv, yv), expected, rtol=1e-15)


def test_a_straight_line_body_is_replayed_on_whole_vectors():
    x = T.vector("x")
    optimized = theon.function([x], huber(x) + 1).source("opt")
    assert "theon_ext_huber" not in optimized  # no call, nothing linked
    assert "extractelement" not in optimized   # not lane by lane
    assert re.search(r"select <\d+ x i1>", optimized)


def test_a_body_with_branches_is_called_per_lane_and_inlined():
    @theon.elemwise_op
    def collatz_steps(n):
        steps = 0
        while n > 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        return steps

    n = T.lvector("n")
    f = theon.function([n], collatz_steps(n))
    optimized = f.source("opt")
    assert not re.search(r"call \S+ @theon_ext", optimized)  # inlined, then removed
    values = np.array([1, 2, 3, 6, 7, 27])
    np.testing.assert_array_equal(f(values), _elementwise(collatz_steps.fn, values,
                                                          dtype="int64"))


def test_several_inputs_integers_promote_to_float64():
    @theon.elemwise_op
    def lerp(a, b, t):
        return a + (b - a) * t

    a, b = T.ivector("a"), T.lvector("b")
    t = T.scalar("t", dtype="float32")
    out = lerp(a, b, t)
    assert out.dtype == "float64"
    av, bv = np.array([1, 2, 3], "int32"), np.array([10, 20, -30], "int64")
    f = theon.function([a, b, t], out)
    np.testing.assert_allclose(f(av, bv, np.float32(0.25)), av + (bv - av) * 0.25)


def test_input_and_output_dtypes():
    @theon.elemwise_op(input_dtypes=("int64", "int64"), output_dtype="int32")
    def gcd(a, b):
        while b:
            a, b = b, a % b
        return a

    @theon.elemwise_op(output_dtype="bool")
    def in_unit_disc(x, y):
        return x * x + y * y <= 1.0

    a, b = T.lvector("a"), T.lvector("b")
    x, y = T.vector("x"), T.vector("y")
    assert gcd(a, b).dtype == "int32"
    assert in_unit_disc(x, y).dtype == "bool"
    f = theon.function([a, b, x, y], [gcd(a, b), in_unit_disc(x, y)])
    av, bv = np.array([12, 17, 0, 81]), np.array([18, 5, 7, 27])
    xv, yv = np.array([0.1, 0.9, -0.8, 2.0]), np.array([0.2, 0.5, 0.7, 0.0])
    divisors, inside = f(av, bv, xv, yv)
    np.testing.assert_array_equal(divisors, np.gcd(av, bv).astype("int32"))
    assert divisors.dtype == np.int32
    np.testing.assert_array_equal(inside, xv ** 2 + yv ** 2 <= 1)


def test_bool_result_inferred_by_numba():
    @theon.elemwise_op
    def positive(x):
        return x > 0

    x = T.vector("x")
    assert positive(x).dtype == "bool"
    xv = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(theon.function([x], positive(x))(xv), xv > 0)


def test_numba_math_helpers_and_libm_link():
    @theon.elemwise_op
    def special(x):
        return math.gamma(x) + math.erf(x) + math.lgamma(x) + math.atan2(x, 2.0)

    x = T.vector("x")
    xv = np.linspace(0.5, 6.0, 23)
    expected = _elementwise(special.fn, xv, dtype="float64")
    np.testing.assert_allclose(theon.function([x], special(x))(xv), expected, rtol=1e-14)


def test_user_gradient_matches_finite_differences():
    x, s = T.vector("x"), T.scalar("s")
    cost = (smooth_clip(x, s) * np.arange(1.0, 6.0)).sum()
    gx = theon.grad(cost, x)
    f = theon.function([x, s], [cost, gx])
    xv = np.array([-1.5, -0.2, 0.0, 0.7, 2.0])
    _, gradient = f(xv, 1.0)
    step = 1e-6
    numeric = np.array([(f(xv + step * e, 1.0)[0] - f(xv - step * e, 1.0)[0]) / (2 * step)
                        for e in np.eye(5)])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-7, atol=1e-9)


def test_gradient_without_grad_is_an_error():
    x = T.vector("x")
    with pytest.raises(NotImplementedError, match=re.escape(
            "elemwise_op 'huber' has no gradient: pass grad=... to theon.elemwise_op, or "
            "define the op with theon.sympy_op to have it derived")):
        theon.grad(huber(x).sum(), x)


def test_one_definition_is_one_op():
    def twice(v):
        return 2.0 * v

    first, second = theon.elemwise_op(twice), theon.elemwise_op(twice)
    assert first.op == second.op
    x = T.vector("x")
    assert first(x).node is second(x).node  # hash-consed: CSE for free
    other = theon.elemwise_op(lambda v: 3.0 * v, name="twice")
    assert other.op != first.op  # same name, other code


def test_constants_fold_through_the_numpy_reference():
    out = huber(T.constant(np.array([-3.0, 0.5])))
    f = theon.function([], out)
    assert f.report.kernels == 0
    np.testing.assert_array_equal(f(), [2.5, 0.125])


def test_stored_schedule_carries_the_code():
    x = T.vector("x")
    f = theon.function([x], huber(x) * 2)
    symbol = next(node.attr for step in f.schedule.kernel_steps()
                  for node in scalar.topological(step.kernel.body) if node.prim == "call")
    stored = dumps_schedule(f.schedule)
    known = scalar.EXTERNAL.pop(symbol)  # as in a process that never defined huber
    try:
        loaded = loads_schedule(stored)
        again = scalar.EXTERNAL[symbol]
        assert again.llvm_ir == known.llvm_ir and again.reference is None
        assert loaded.steps == f.schedule.steps
    finally:
        scalar.EXTERNAL[symbol] = known


def test_a_second_process_loads_the_function_from_the_disk_cache(tmp_path):
    script = textwrap.dedent("""
        import numpy as np, theon, theon.tensor as T
        @theon.elemwise_op
        def cube_root(x):
            return abs(x) ** (1.0 / 3.0) * (1.0 if x >= 0 else -1.0)
        x = T.vector("x")
        f = theon.function([x], cube_root(x) + 1)
        print(f.report.cache, f.report.kernels_compiled, f(np.array([-8.0, 27.0])).tolist())
    """)
    env = dict(os.environ, THEON_CACHE_DIR=str(tmp_path), PYTHONPATH=os.getcwd())
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[0].stdout.split()[:2] == ["miss", "1"]
    assert runs[1].stdout.split()[:2] == ["disk", "0"]
    assert runs[1].stdout.split(maxsplit=2)[2].strip() == "[-1.0, 4.0]"


PTXAS = shutil.which("ptxas") or next(
    (p for p in ("/usr/local/cuda/bin/ptxas",) if shutil.which(p)), None)


def test_cuda_ptx_of_a_function_without_calls(tmp_path):
    x = T.vector("x")
    ptx = theon.function([x], huber(x) + 1, target="cuda").source("ptx")
    assert ".entry" in ptx and "call" not in ptx.split(".entry", 1)[1]
    if PTXAS is None:
        pytest.skip("ptxas (CUDA toolkit) is not installed")
    path = tmp_path / "huber.ptx"
    path.write_text(ptx)
    run = subprocess.run([PTXAS, "-arch=sm_80", str(path), "-o", str(tmp_path / "k.cubin")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_cuda_ptx_of_a_math_function_replayed_with_theons_library(tmp_path):
    @theon.elemwise_op
    def bell(x):
        return math.erf(x) * math.exp(-x * x)

    x = T.vector("x")
    ptx = theon.function([x], bell(x), target="cuda").source("ptx")
    assert "call" not in ptx.split(".entry", 1)[1]  # erf and exp inlined from theon's mathlib
    if PTXAS is None:
        pytest.skip("ptxas (CUDA toolkit) is not installed")
    path = tmp_path / "bell.ptx"
    path.write_text(ptx)
    run = subprocess.run([PTXAS, "-arch=sm_80", str(path), "-o", str(tmp_path / "k.cubin")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_cuda_rejects_a_function_calling_a_c_library_function():
    @theon.elemwise_op
    def log_gamma(x):
        return math.lgamma(x)

    x = T.vector("x")
    with pytest.raises(theon.CompileError, match=re.escape(
            "elementwise op 'log_gamma' calls lgamma, which the nvptx64-nvidia-cuda target "
            "cannot provide")):
        theon.function([x], log_gamma(x), target="cuda")


def test_bad_definitions():
    with pytest.raises(TypeError, match=re.escape(
            "elemwise_op: expected a Python function, got int")):
        theon.elemwise_op(3)
    with pytest.raises(ValueError, match=re.escape(
            "elemwise_op: 'exp' is the name of a built-in op; choose another name")):
        theon.elemwise_op(lambda v: v, name="exp")
    with pytest.raises(ValueError, match=re.escape(
            "elemwise_op 'f': input_dtypes has 1 dtypes; expected 2 (nin)")):
        theon.elemwise_op(lambda a, b: a, name="f", input_dtypes=["float64"])
    with pytest.raises(TypeError, match=re.escape(
            "elemwise_op 'g': the function takes *args, **kwargs or keyword-only "
            "parameters; give nin=")):
        theon.elemwise_op(lambda *v: v[0], name="g")


def test_non_scalar_function_is_rejected_when_applied():
    @theon.elemwise_op
    def spread(x):
        return np.ones(3) * x

    with pytest.raises(TypeError, match=re.escape(
            "elemwise_op 'spread': test_non_scalar_function_is_rejected_when_applied.<locals>"
            ".spread must return a scalar (int, float or bool) for scalar arguments "
            "(float64); numba infers array(float64, 1d, C)")):
        spread(T.vector("x"))


def test_function_numba_cannot_compile():
    @theon.elemwise_op
    def attribute(x):
        return x.no_such_attribute

    with pytest.raises(TypeError, match=re.escape(
            "elemwise_op 'attribute': numba cannot compile test_function_numba_cannot_compile"
            ".<locals>.attribute for scalar arguments (float64): Unknown attribute "
            "'no_such_attribute' of type float64")):
        attribute(T.vector("x"))


def test_wrong_number_of_arguments_and_gradients():
    with pytest.raises(TypeError, match=re.escape("huber: expected 1 argument, got 2")):
        huber(T.vector("x"), T.vector("y"))
    bad = theon.elemwise_op(lambda v: v * v, name="bad_grad",
                            grad=lambda inputs, output, g: [g, g])
    x = T.vector("x")
    with pytest.raises(ValueError, match=re.escape(
            "elemwise_op 'bad_grad': grad returned 2 gradient(s); expected 1 (one per "
            "input, None where there is none)")):
        theon.grad(bad(x).sum(), x)


def test_ir_evaluate_runs_the_reference():
    x = T.vector("x")
    out = huber(x) - 1
    graph = ir.Graph((x.node,), (out.node,))
    xv = np.array([-4.0, 0.25, 1.0])
    (value,) = ir.evaluate(graph, [xv])
    np.testing.assert_array_equal(value, _elementwise(huber.fn, xv, dtype="float64") - 1)
