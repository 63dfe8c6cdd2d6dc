"""Broadcasting by declared pattern, dtype promotion between tensors, memory layouts and
threading, against numpy."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import theon
import theon.tensor as T

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "uint32", "float32", "float64"]
LENGTHS = [0, 1, 2, 3, 5]

BINARY = {
    "add": (lambda a, b: a + b, np.add, "same"),
    "mul": (lambda a, b: a * b, np.multiply, "same"),
    "sub": (lambda a, b: a - b, np.subtract, "same"),
    "maximum": (T.maximum, np.maximum, "same"),
    "true_div": (lambda a, b: a / b, np.true_divide, "float"),
    "lt": (lambda a, b: a < b, np.less, "compare"),
}


def result_dtypes(kind, a, b, name):
    """(dtype numpy computes in, output dtype) by theon's rule: numpy's, with int8 for the
    bool arithmetic numpy refuses."""
    common = np.result_type(np.dtype(a), np.dtype(b)).name
    if kind == "same":
        keeps_bool = name in ("add", "mul", "maximum", "minimum")
        common = "int8" if common == "bool" and not keeps_bool else common
        return common, common
    if kind == "float":
        if common in ("float32", "float64"):
            return common, common
        small = common in ("bool", "int8", "uint8", "int16", "uint16")
        return ("float32",) * 2 if small else ("float64",) * 2
    return common, "bool"


def random_values(rng, shape, dtype):
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -50), min(info.max, 50), shape, endpoint=True
                            ).astype(dtype)
    return rng.normal(scale=10, size=shape).astype(dtype)


@st.composite
def broadcast_case(draw):
    """Two operands: ranks 0-4, random broadcastable flags, lengths consistent with them."""
    out_rank = draw(st.integers(0, 4))
    lengths = [draw(st.sampled_from(LENGTHS)) for _ in range(out_rank)]
    operands = []
    for _ in range(2):
        rank = draw(st.integers(0, out_rank))
        pattern = tuple(draw(st.booleans()) for _ in range(rank))
        shape = tuple(1 if b else lengths[out_rank - rank + k] for k, b in enumerate(pattern))
        operands.append((pattern, shape, draw(st.sampled_from(DTYPES))))
    op = draw(st.sampled_from(sorted(BINARY)))
    seed = draw(st.integers(0, 2**32 - 1))
    return operands, op, seed


@given(broadcast_case())
def test_binary_broadcasting_matches_numpy(case):
    operands, op, seed = case
    rng = np.random.default_rng(seed)
    variables = [T.TensorType(dtype, pattern)(f"v{i}")
                 for i, (pattern, _, dtype) in enumerate(operands)]
    values = [random_values(rng, shape, dtype) for _, shape, dtype in operands]
    build, reference, kind = BINARY[op]
    compute, out = result_dtypes(kind, operands[0][2], operands[1][2], op)
    output = build(*variables)
    assert output.dtype == out
    got = theon.function(variables, output)(*values)
    with np.errstate(all="ignore"):
        expected = reference(*[v.astype(compute) for v in values]).astype(out)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-6 if out == "float32" else 1e-15,
                               equal_nan=True)


@given(st.integers(1, 4), st.data())
def test_output_pattern_is_the_broadcast_of_the_input_patterns(rank, data):
    patterns = [tuple(data.draw(st.booleans()) for _ in range(rank)) for _ in range(3)]
    variables = [T.TensorType("float64", p)() for p in patterns]
    out = T.clip(*variables)
    assert out.broadcastable == tuple(all(p[k] for p in patterns) for k in range(rank))


def test_size_zero_dims():
    x, m = T.dvector("x"), T.dmatrix("m")
    f = theon.function([x, m], T.exp(x) + m)
    got = f(np.ones(0), np.ones((4, 0)))
    assert got.shape == (4, 0) and got.dtype == np.float64
    got = f(np.ones(3), np.ones((0, 3)))
    assert got.shape == (0, 3)


# ---- memory layouts ----------------------------------------------------------------------------

def misaligned(array):
    """A copy of ``array`` whose data starts one byte past an aligned address."""
    buffer = bytearray(array.nbytes + 1)
    view = np.frombuffer(buffer, dtype=array.dtype, offset=1, count=array.size)
    view = view.reshape(array.shape)
    view[...] = array
    assert view.ctypes.data % array.dtype.itemsize != 0
    return view


LAYOUTS = {
    "fortran": lambda a: np.asfortranarray(a),
    "transposed": lambda a: np.ascontiguousarray(a.T).T,
    "every_other_row": lambda a: np.repeat(a, 2, axis=0)[::2],
    "every_other_column": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
    "reversed_rows": lambda a: a[::-1].copy()[::-1],
    "reversed_columns": lambda a: a[:, ::-1].copy()[:, ::-1],
    "both_reversed_strided": lambda a: np.repeat(a, 3, axis=1)[::-1, ::-3][::-1, ::-1],
    "misaligned": misaligned,
    "zero_strides": lambda a: np.broadcast_to(a[:1, :1], a.shape),
}


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int16"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_non_contiguous_inputs(layout, dtype):
    rng = np.random.default_rng(4)
    shape = (37, 19)
    a = random_values(rng, shape, dtype)
    b = random_values(rng, shape, dtype)
    r = random_values(rng, (1, 19), dtype)
    strange = LAYOUTS[layout](a)
    if layout != "zero_strides":
        np.testing.assert_array_equal(strange, a)
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    row = T.TensorType(dtype, (True, False))("row")
    f = theon.function([x, y, row], [x * y + row, abs(x)])
    got, got_abs = f(strange, b, r)
    np.testing.assert_array_equal(got, strange * b + r)
    np.testing.assert_array_equal(got_abs, np.abs(strange))
    # the single-kernel direct path too, and the strange array in second position
    g = theon.function([x, y], y - x)
    np.testing.assert_array_equal(g(b, strange), strange - b)
    np.testing.assert_array_equal(g(strange, strange), np.zeros(shape, dtype))


def test_contiguous_and_sliced_arrays_of_rank_three():
    # C-contiguous arrays run as one flat range; a slice along a middle or the first axis,
    # or a scalar beside them, must not (each row then starts at its own stride)
    rng = np.random.default_rng(8)
    a = rng.normal(size=(5, 6, 7))
    wide = rng.normal(size=(5, 9, 7))
    x, y = T.dtensor3("x"), T.dtensor3("y")
    s = T.dscalar("s")
    f = theon.function([x, y, s], x * s - y)
    for first, second in [(a, a + 1), (wide[:, 2:8], a), (a, wide[:, ::-1][:, :6]),
                          (np.repeat(a, 2, axis=0)[::2], a)]:
        np.testing.assert_array_equal(f(first, second, 3.0), first * 3.0 - second)
    # an update written into its own input, 784x10: the in-place flat path
    w = theon.shared(rng.normal(size=(784, 10)))
    g = T.dmatrix("g")
    step = theon.function([g], [], updates=[(w, w - 0.5 * g)])
    before, gradient = w.get_value(), rng.normal(size=(784, 10))
    step(gradient)
    np.testing.assert_array_equal(w.get_value(), before - 0.5 * gradient)


@pytest.mark.parametrize("layout", ["contiguous", "column_of_wider", "reversed"])
def test_columns_are_read_as_vectors(layout):
    # a (n, 1) column is looped over as n elements; one sliced from a wider matrix has an
    # element stride other than 1 along its first axis
    rng = np.random.default_rng(9)
    wide = rng.normal(size=(257, 5)).astype(np.float32)
    column = {"contiguous": np.ascontiguousarray(wide[:, 1:2]),
              "column_of_wider": wide[:, 1:2],
              "reversed": wide[::-1, 3:4]}[layout]
    c = T.fcol("c")
    f = theon.function([c], [T.log(abs(c) + 1), c / (c * c + 2)])
    got_log, got_ratio = f(column)
    exact = column.astype(np.float64)  # (theon computes log(1 + |c|) as log1p)
    np.testing.assert_allclose(got_log, np.log1p(np.abs(exact)), rtol=1e-6)
    np.testing.assert_allclose(got_ratio, exact / (exact * exact + 2), rtol=1e-6)


@pytest.mark.parametrize("layout", ["reversed", "strided", "misaligned"])
def test_non_contiguous_vectors(layout):
    values = np.linspace(-3, 3, 1001)
    strange = {"reversed": values[::-1],
               "strided": np.repeat(values, 3)[::3],
               "misaligned": misaligned(values)}[layout]
    x = T.dvector("x")
    f = theon.function([x], T.tanh(x) * 2)
    np.testing.assert_allclose(f(strange), np.tanh(strange) * 2, rtol=1e-15)


# ---- large inputs and threads ----------------------------------------------------------------

@pytest.fixture
def num_threads():
    old = theon.config.num_threads

    def set_threads(count):
        theon.config.num_threads = count
    yield set_threads
    theon.config.num_threads = old


@pytest.mark.parametrize("shape", [(600, 500), (3, 100000), (2**18 + 7,)])
def test_threads_give_identical_results(shape, num_threads):
    rng = np.random.default_rng(5)
    values = [rng.normal(size=shape).astype(np.float32) for _ in range(2)]
    ndim = len(shape)
    x, y = (T.TensorType("float32", (False,) * ndim)(n) for n in "xy")
    out = T.exp(-x * x) * T.sin(y) + T.log1p(abs(x)) * 0.5
    results = []
    for count in (1, 2, 4):
        num_threads(count)
        f = theon.function([x, y], [out, x + y])
        results.append(f(*values))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
    a, b = values
    np.testing.assert_allclose(results[0][0],
                               np.exp(-a * a) * np.sin(b) + np.log1p(np.abs(a)) * 0.5,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(results[0][1], a + b)


def test_threads_with_broadcast_and_strided_large_input(num_threads):
    rng = np.random.default_rng(6)
    m = rng.normal(size=(1000, 300))
    strided = np.repeat(m, 2, axis=0)[::2]
    col = rng.normal(size=(1000, 1))
    x, c = T.dmatrix("x"), T.dcol("c")
    results = []
    for count in (1, 2):
        num_threads(count)
        results.append(theon.function([x, c], T.maximum(x, c) - c)(strided, col))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], np.maximum(m, col) - col)


def test_theon_num_threads_environment():
    import pathlib
    import subprocess
    import sys
    code = ("import numpy as np, theon, theon.tensor as T\n"
            "x = T.dvector('x'); f = theon.function([x], T.sin(x) * 3)\n"
            "v = np.linspace(-50, 50, 100003)\n"
            "print(theon.config.num_threads, f(v).tobytes() == (f(v)).tobytes(), "
            "np.allclose(f(v), np.sin(v) * 3, rtol=1e-14, atol=0))")
    root = str(pathlib.Path(theon.__file__).parents[1])
    outputs = []
    for count in ("1", "2"):
        env = {"THEON_NUM_THREADS": count, "PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
        outputs.append(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                      capture_output=True, text=True).stdout.split())
    assert outputs == [["1", "True", "True"], ["2", "True", "True"]]
