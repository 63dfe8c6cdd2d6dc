"""``theon.function`` semantics: outputs, arguments, conversions, caching, trust_input,
``Variable.eval``, printing and the code behind a function."""
import importlib
import re

import numpy as np
import pytest

import theon
import theon.tensor as T

compiler = importlib.import_module("theon.frontend.compiler")


def test_single_output_is_returned_bare():
    x = T.dvector("x")
    got = theon.function([x], x * 2)(np.array([1.0, 2.0]))
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, [2.0, 4.0])


@pytest.mark.parametrize("container", [list, tuple])
def test_list_of_outputs_gives_a_list(container):
    x = T.dvector("x")
    got = theon.function([x], container([x * 2]))(np.array([1.0, 2.0]))
    assert isinstance(got, list) and len(got) == 1
    np.testing.assert_array_equal(got[0], [2.0, 4.0])
    got = theon.function([x], container([x * 2, x + 1]))(np.array([1.0, 2.0]))
    assert isinstance(got, list) and len(got) == 2
    np.testing.assert_array_equal(got[1], [2.0, 3.0])


def test_empty_outputs():
    x = T.dvector("x")
    assert theon.function([x], [], on_unused_input="ignore")(np.ones(3)) == []
    assert theon.function([], [])() == []


def test_python_scalars_and_lists_as_arguments():
    x, y = T.dvector("x"), T.dscalar("y")
    f = theon.function([x, y], x * y)
    np.testing.assert_array_equal(f([1, 2, 3], 2), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(f((1.5, 2.5), 2.0), [3.0, 5.0])
    i = T.ivector("i")
    g = theon.function([i], i + 1)
    got = g([1, 2, 3])  # Python ints into int32: nothing is lost, so accepted
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [2, 3, 4])


def test_zero_dimensional_inputs_and_outputs():
    s, t = T.dscalar("s"), T.dscalar("t")
    got = theon.function([s, t], s * t + 1)(3.0, np.array(2.0))
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float64
    assert got == 7.0


def test_zero_dimensional_output_with_python_scalar_constant():
    """s * 2 with s a scalar is a scalar: a Python scalar constant is 0-d."""
    s = T.dscalar("s")
    assert T.constant(2.0).ndim == 0
    assert (s * 2).ndim == 0
    got = theon.function([s], s * 2)(3.0)
    assert got.shape == ()
    assert got == 6.0


def test_returning_an_input_returns_a_copy():
    x = T.dvector("x")
    f = theon.function([x], x)
    value = np.array([1.0, 2.0])
    got = f(value)
    np.testing.assert_array_equal(got, value)
    assert got is not value and not np.shares_memory(got, value)
    got[0] = 100.0
    assert value[0] == 1.0


def test_returning_a_constant_returns_a_fresh_copy():
    x = T.dvector("x")
    f = theon.function([x], [x + 1, T.constant(np.array([5.0, 6.0]))])
    first = f(np.zeros(2))[1]
    first[0] = -1.0
    np.testing.assert_array_equal(f(np.zeros(2))[1], [5.0, 6.0])


def test_same_output_twice():
    x = T.dvector("x")
    y = T.exp(x)
    a, b = theon.function([x], [y, y])(np.array([0.0, 1.0]))
    np.testing.assert_allclose(a, np.exp([0.0, 1.0]), rtol=1e-15)
    np.testing.assert_allclose(b, np.exp([0.0, 1.0]), rtol=1e-15)
    a, b = theon.function([x], [x, x])(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(a, b)


def test_lossy_dtype_needs_allow_input_downcast():
    x = T.fvector("x")
    value = np.array([1.0, 2.5, 1e-50])
    with pytest.raises(TypeError, match="allow_input_downcast=True"):
        theon.function([x], x * 2)(value)
    got = theon.function([x], x * 2, allow_input_downcast=True)(value)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, value.astype(np.float32) * 2)


def test_python_float_for_float32_is_accepted_by_default():
    s = T.fscalar("s")
    got = theon.function([s], s * 2)(0.1)
    assert got.dtype == np.float32
    assert got == np.float32(0.1) * 2
    with pytest.raises(theon.DTypeError, match="could lose precision"):
        theon.function([s], s * 2, allow_input_downcast=False)(0.1)


def test_safe_upcast_of_arguments_is_accepted():
    x = T.dvector("x")
    got = theon.function([x], x + 1)(np.array([1, 2], dtype=np.int32))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [2.0, 3.0])


def test_non_native_byte_order_is_converted():
    x = T.dvector("x")
    value = np.array([1.0, 2.0], dtype=">f8")
    np.testing.assert_array_equal(theon.function([x], x * 2)(value), [2.0, 4.0])


def test_new_input_sizes_do_not_recompile():
    x, y = T.fvector("x"), T.fvector("y")
    out = T.exp(x) * y
    f = theon.function([x, y], out)
    calls = f._executable.calls
    entry = calls[0].serial
    cache_size = len(compiler._memory)
    for n in (0, 1, 7, 1000, 3):
        a = np.linspace(-1, 1, n).astype(np.float32)
        np.testing.assert_allclose(f(a, a), np.exp(a) * a, rtol=2e-6)
    assert f._executable.calls is calls and calls[0].serial is entry
    assert len(compiler._memory) == cache_size
    again = theon.function([x, y], out)
    assert again.report.cache == "memory"
    assert again.report.kernels_compiled == 0


def test_report_describes_the_compile():
    x = T.dvector("x")
    f = theon.function([x], T.sin(x) + 3.25)
    report = f.report
    assert report.kernels == 1
    assert report.cache in ("miss", "memory")
    assert {"canonicalize", "fold_constants", "fuse", "schedule"} <= set(report.stages)
    assert "kernel(s)" in str(report)


def test_trust_input_path():
    x, y = T.dvector("x"), T.dmatrix("y")
    f = theon.function([x, y], [x + y, x * 2])
    f.trust_input = True
    a, b = np.arange(3.0), np.ones((2, 3))
    s, d = f(a, b)
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(d, a * 2)
    g = theon.function([x], T.exp(x), trust_input=True)
    assert g.trust_input
    np.testing.assert_allclose(g(a), np.exp(a), rtol=1e-15)


def test_eval():
    x, y = T.dvector("x"), T.dvector("y")
    np.testing.assert_array_equal((x * 2).eval({x: np.array([1.0, 2.0])}), [2.0, 4.0])
    np.testing.assert_array_equal((x + y).eval({x: [1.0], y: [2.0]}), [3.0])
    assert (T.constant(2.0) * 3).eval() == 6.0


def test_input_names_and_on_unused_input():
    x, y = T.dvector("x"), T.dvector("y")
    f = theon.function([x, y], x + 1, on_unused_input="ignore")
    np.testing.assert_array_equal(f(np.ones(2), np.ones(5)), [2.0, 2.0])
    with pytest.warns(UserWarning, match=r"input 1 \('y'\) is not used"):
        theon.function([x, y], x + 1, on_unused_input="warn")


def test_debugprint():
    x, y = T.fvector("x"), T.fvector("y")
    out = T.exp(x) + y
    text = theon.printing.debugprint(out, file="str")
    assert re.search(r"^add \[id A\] float32\[\?\]", text, re.M)
    assert "exp" in text and "x [id" in text and "y [id" in text
    f = theon.function([x, y], out)
    compiled = theon.printing.debugprint(f, file="str")
    assert "kernel[" in compiled and "exp" in compiled


def test_debugprint_to_stdout(capsys):
    x = T.dvector("x")
    assert theon.printing.debugprint(x * 2) is not None
    assert "mul" in capsys.readouterr().out


@pytest.fixture(scope="module")
def fused_float32():
    x, y, z = T.fvector("x"), T.fvector("y"), T.fvector("z")
    out = T.exp(-x * x) * T.sin(y) + T.log1p(abs(z)) * 0.5
    return theon.function([x, y, z], out)


def test_source_ir(fused_float32):
    text = fused_float32.source("ir")
    assert text.count("step 0:") == 1 and "step 1" not in text
    for name in ("exp", "sin", "log1p", "abs"):
        assert f"{name}(" in text


@pytest.mark.parametrize("kind", ["llvm", "opt"])
def test_source_llvm(fused_float32, kind):
    text = fused_float32.source(kind)
    symbol = fused_float32.schedule.steps[0].symbol
    assert re.search(rf'define .*@"?{symbol}"?\(', text)


def test_source_asm_is_vectorised_and_calls_no_libm(fused_float32):
    text = fused_float32.source("asm")
    assert re.search(r"%[yz]mm\d+", text), "no ymm/zmm vector instructions"
    calls = re.findall(r"\bcall[q]?\s+\*?(\S+)", text)
    libm = [c for c in calls
            if re.search(r"(exp|sin|cos|log|pow|tan)[f]?\b|expf|sinf|logf|log1pf", c)]
    assert not libm, libm


def test_source_rejects_unknown_kind(fused_float32):
    with pytest.raises(ValueError, match="source: kind 'bytecode'; expected 'ir', 'llvm', "
                                         "'opt', 'asm' or 'ptx'"):
        fused_float32.source("bytecode")


def test_results_match_numpy_for_the_fused_expression(fused_float32):
    rng = np.random.default_rng(0)
    x, y, z = (rng.normal(size=1000).astype(np.float32) for _ in range(3))
    expected = np.exp(-x * x) * np.sin(y) + np.log1p(np.abs(z)) * np.float32(0.5)
    np.testing.assert_allclose(fused_float32(x, y, z), expected, rtol=1e-5, atol=1e-6)


def test_floatx_default_and_setting():
    assert theon.config.floatX in ("float32", "float64")
    old = theon.config.floatX
    try:
        theon.config.floatX = "float32"
        assert T.vector().dtype == "float32"
        assert (T.bvector() * 0.5).dtype == "float32"  # int8 with a floatX float
        assert (T.ivector() * 0.5).dtype == "float64"  # int32 with float32 is float64
        theon.config.floatX = "float64"
        assert T.matrix().dtype == "float64"
    finally:
        theon.config.floatX = old
    with pytest.raises(ValueError, match="expected 'float32' or 'float64'"):
        theon.config.floatX = "float16"
    with pytest.raises(AttributeError, match="has no flag 'floatx'"):
        theon.config.floatx = "float32"


def test_theon_flags_environment(tmp_path):
    import subprocess
    import sys
    code = ("import theon, theon.tensor as T; print(theon.config.floatX, T.vector().dtype, "
            "theon.config.num_threads)")
    env = {"THEON_FLAGS": "floatX=float32", "THEON_NUM_THREADS": "3", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(__import__("pathlib").Path(theon.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["float32", "float32", "3"]


def test_constructors():
    assert T.fscalar().type.broadcastable == ()
    assert T.dvector().dtype == "float64"
    assert T.imatrix().dtype == "int32" and T.lscalar().dtype == "int64"
    assert T.bvector().dtype == "int8" and T.wvector().dtype == "int16"
    assert T.row().broadcastable == (True, False) and T.col().broadcastable == (False, True)
    assert T.tensor5("t", dtype="float32").ndim == 5
    x = T.TensorType("int16", (True, False, True))("x")
    assert x.broadcastable == (True, False, True) and x.name == "x" and x.dtype == "int16"
    y = T.tensor("float32", (False, True), name="y")
    assert y.broadcastable == (False, True) and y.name == "y"
    c = T.as_tensor_variable([1, 2, 3])
    assert c.dtype == "int8" and c.ndim == 1
    assert T.as_tensor_variable(x) is x
    assert T.constant(np.float32(1)).dtype == "float32"


def test_inputs_strided_along_the_inner_axis_switch_to_the_gathering_variant():
    x, y = T.fmatrix("x"), T.fmatrix("y")
    f = theon.function([x, y], T.exp(x) + y * 2)
    call = f._executable.calls[0]
    a = np.random.default_rng(3).random((65, 33)).astype(np.float32)
    np.testing.assert_allclose(f(a, a), np.exp(a) + a * 2, rtol=1e-6)
    assert not call.step.kernel.strided          # contiguous inputs: the plain kernel
    np.testing.assert_allclose(f(np.asfortranarray(a), a), np.exp(a) + a * 2, rtol=1e-6)
    assert call.step.kernel.strided              # compiled once, used from then on
    np.testing.assert_allclose(f(a[:, :32:2], a[:, 1::2]), np.exp(a[:, :32:2]) + a[:, 1::2] * 2,
                               rtol=1e-6)
    np.testing.assert_allclose(f(a, a), np.exp(a) + a * 2, rtol=1e-6)


# ---- plural constructors (Theano's T.fvectors, T.dmatrices, ...) --------------------------

@pytest.mark.parametrize("plural, dtype, ndim", [
    ("fvectors", "float32", 1), ("dmatrices", "float64", 2), ("iscalars", "int32", 0),
    ("ltensor3s", "int64", 3), ("brows", "int8", 2), ("matrices", None, 2)])
def test_plural_constructors_make_one_variable_per_name(plural, dtype, ndim):
    made = getattr(T, plural)("a", "b", "c")
    assert [v.name for v in made] == ["a", "b", "c"]
    assert all(v.ndim == ndim and v.dtype == (dtype or theon.config.floatX) for v in made)


def test_plural_constructor_name_forms_follow_theano():
    single = T.fvectors("x")
    assert single.name == "x" and single.dtype == "float32"     # one name: one variable
    assert [v.name for v in T.dmatrices("xyz")] == ["x", "y", "z"]  # one per character
    unnamed = T.fscalars(3)
    assert len(unnamed) == 3 and all(v.name is None for v in unnamed)
    a, b = T.fvectors("a", "b")
    f = theon.function([a, b], a * b)
    np.testing.assert_allclose(f(np.float32([1, 2]), np.float32([3, 4])), [3, 8])


def test_intermediates_are_released_after_their_last_use():
    """A chain of kernels and host steps holds only the arrays still to be read: peak memory
    of one call stays near two arrays, not one per step (96 MB before, for 13 of 8 MB)."""
    import tracemalloc
    x = T.dvector("x")
    h = x
    for i in range(6):
        h = T.sort(T.tanh(h) + i)  # a host step after each kernel: a new array each time
    f = theon.function([x], h)
    value = np.random.default_rng(0).random(1_000_000)
    expected = value
    for i in range(6):
        expected = np.sort(np.tanh(expected) + i)
    np.testing.assert_allclose(f(value), expected, rtol=1e-12)
    tracemalloc.start()
    try:
        f(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * value.nbytes, f"peak {peak / 1e6:.1f} MB for 8 MB arrays"


def test_the_garbage_collector_is_paused_while_compiling_and_restored(monkeypatch):
    import gc
    import sys
    compiler = sys.modules["theon.frontend.function"]
    seen = []
    original = compiler.compile_graph

    def recording(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(compiler, "compile_graph", recording)
    x = T.dvector("x")
    assert gc.isenabled()
    theon.function([x], x * 3 + 1)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        theon.function([x], x * 3 + 2)  # a collector the user disabled stays disabled
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(TypeError):
        theon.function(x, x)  # an error in a compile restores it too
    assert gc.isenabled()
