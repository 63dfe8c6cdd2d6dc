"""Products of tensors (dot, matmul and @, tensordot, outer, batched_dot) and relu, through
the compiled path, against numpy.

Every rank combination Theano supports, on float32, float64 and int32, with transposed and
strided inputs and zero-length axes; hypothesis over compatible shapes; shape errors at
build time (both shapes named) and at call time; and the schedule of ``tanh(dot(x, W) + b)``
(one BLAS host step, one fused kernel).
"""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

import theon
import theon.tensor as T
from theon import ir
from theon.frontend.linalg import batched_dot, dot, matmul, outer, relu, tensordot
from theon.ir.ops.linalg import Dot

DTYPES = ("float32", "float64", "int32")
TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-12, atol=1e-12),
             "int32": dict(rtol=0, atol=0)}


def _var(shape, dtype, name):
    """An input of rank len(shape) with no static lengths (so any size is accepted)."""
    return T.tensor(dtype, (False,) * len(shape), name=name)


def _value(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == "int32":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _check(build, reference, shapes, dtype, arrays=None):
    """Compile build(*vars), run it on random arrays of ``shapes``, compare with numpy."""
    variables = [_var(shape, dtype, f"v{i}") for i, shape in enumerate(shapes)]
    if arrays is None:
        arrays = [_value(shape, dtype, i) for i, shape in enumerate(shapes)]
    f = theon.function(variables, build(*variables))
    result = f(*arrays)
    expected = reference(*arrays)
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, **TOLERANCE[dtype])
    return f


# ---- dot, every rank combination ----------------------------------------------------------

DOT_SHAPES = [
    ((5,), (5,)),                 # vector . vector -> scalar
    ((4, 5), (5,)),               # matrix . vector
    ((5,), (5, 3)),               # vector . matrix
    ((4, 5), (5, 3)),             # matrix . matrix
    ((2, 4, 5), (5, 3)),          # tensor3 . matrix
    ((2, 4, 5), (5,)),            # tensor3 . vector
    ((5,), (2, 5, 3)),            # vector . tensor3
    ((4, 5), (2, 5, 3)),          # matrix . tensor3 (numpy's general rule)
    ((2, 3, 4, 5), (6, 5, 2)),    # tensor4 . tensor3
    ((1, 5), (5, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", DOT_SHAPES, ids=str)
def test_dot_matches_numpy(shapes, dtype):
    _check(dot, np.dot, shapes, dtype)


@pytest.mark.parametrize("shapes", [((), (4, 5)), ((4, 5), ())], ids=str)
def test_dot_with_a_scalar_multiplies(shapes):
    f = _check(dot, np.dot, shapes, "float64")
    assert f.report.kernels == 1  # a product with a scalar is elementwise: one kernel


def test_dot_method_and_mixed_dtypes():
    x, w = T.fmatrix("x"), T.imatrix("w")
    product = x.dot(w)
    assert product.dtype == "float64"  # numpy: float32 with int32 is float64
    f = theon.function([x, w], product)
    xv, wv = _value((3, 4), "float32", 1), _value((4, 2), "int32", 2)
    np.testing.assert_allclose(f(xv, wv), np.dot(xv, wv), rtol=1e-12)


def test_tensordot_with_dot_axes_is_the_dot_node():
    x, w = T.tensor3("x"), T.matrix("w")
    assert tensordot(x, w, axes=[[2], [0]]).node is dot(x, w).node
    assert tensordot(x, w, axes=1).node is dot(x, w).node


# ---- matmul and @ -------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((5,), (5,)),
    ((4, 5), (5,)),
    ((5,), (5, 3)),
    ((4, 5), (5, 3)),
    ((2, 4, 5), (5, 3)),          # a stack of matrices times one matrix
    ((5,), (2, 5, 3)),
    ((2, 4, 5), (2, 5, 3)),
    ((3, 1, 4, 5), (2, 5, 3)),    # leading axes broadcast
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_operator_matches_numpy(shapes, dtype):
    _check(lambda a, b: a @ b, np.matmul, shapes, dtype)


def test_matmul_with_arrays_on_either_side():
    x = T.dmatrix("x")
    left, right = _value((3, 4), "float64", 1), _value((2, 5), "float64", 2)
    f = theon.function([x], [x @ left, right @ x, matmul(x, left)])
    xv = _value((5, 3), "float64", 3)
    out_right, out_left, out_function = f(xv)
    np.testing.assert_allclose(out_right, xv @ left, rtol=1e-12)
    np.testing.assert_allclose(out_left, right @ xv, rtol=1e-12)
    np.testing.assert_allclose(out_function, xv @ left, rtol=1e-12)


def test_matmul_refuses_a_scalar():
    with pytest.raises(ValueError, match="matmul: input 0 .* has rank 0"):
        matmul(T.dscalar("s"), T.dmatrix("m"))


# ---- tensordot, outer, batched_dot ----------------------------------------------------------

TENSORDOT_CASES = [
    ((3, 4, 5), (4, 5, 2), 2),
    ((3, 4), (4, 5), 1),
    ((3,), (4,), 0),                          # outer product
    ((3, 4, 5), (5, 3, 2), [[0, 2], [1, 0]]),
    ((3, 4, 5), (2, 5), [[-1], [-1]]),
    ((3, 4), (4, 3), [[0, 1], [1, 0]]),       # full contraction: a scalar
    ((3, 4), (2, 4), [1, 1]),                 # a pair of ints
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_a, shape_b, axes", TENSORDOT_CASES, ids=str)
def test_tensordot_matches_numpy(shape_a, shape_b, axes, dtype):
    _check(lambda a, b: tensordot(a, b, axes=axes),
           lambda a, b: np.tensordot(a, b, axes=axes), (shape_a, shape_b), dtype)


def test_tensordot_default_axes_is_two():
    _check(tensordot, np.tensordot, ((2, 3, 4), (3, 4, 5)), "float64")


@pytest.mark.parametrize("shapes", [((4,), (3,)), ((2, 3), (4,)), ((2, 2), (3, 1, 2))],
                         ids=str)
def test_outer_flattens_as_theano(shapes):
    _check(outer, np.outer, shapes, "float32")


def _batched_dot_reference(a, b):
    if len(a):
        return np.stack([np.dot(x, y) for x, y in zip(a, b)])
    one = np.dot(np.zeros(a.shape[1:], a.dtype), np.zeros(b.shape[1:], b.dtype))
    return np.zeros((0,) + one.shape, one.dtype)


BATCHED_SHAPES = [
    ((3, 4, 5), (3, 5, 2)),    # (B, n, m) x (B, m, p) -> (B, n, p)
    ((3, 5), (3, 5)),          # (B, n) x (B, n) -> (B,)
    ((3, 4, 5), (3, 5)),       # (B, n, m) x (B, m) -> (B, n)
    ((3, 5), (3, 5, 2)),       # (B, n) x (B, n, p) -> (B, p)
    ((3, 2, 4, 5), (3, 5, 2)),
    ((3, 4, 5), (3, 6, 5, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", BATCHED_SHAPES, ids=str)
def test_batched_dot_matches_a_loop_of_dots(shapes, dtype):
    _check(batched_dot, _batched_dot_reference, shapes, dtype)


@pytest.mark.parametrize("shapes", [((3,), (3, 4, 2)), ((3, 4), (3,))], ids=str)
def test_batched_dot_with_a_batch_of_scalars_multiplies(shapes):
    def reference(a, b):
        if a.ndim == 1:
            return a.reshape(a.shape + (1,) * (b.ndim - 1)) * b
        return a * b.reshape(b.shape + (1,) * (a.ndim - 1))
    _check(batched_dot, reference, shapes, "float64")


# ---- memory layouts and empty axes --------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["transposed_a", "transposed_b", "fortran", "strided"])
def test_dot_of_non_c_ordered_inputs(layout, dtype):
    a, b = _value((6, 4), dtype, 1), _value((3, 6), dtype, 2)
    if layout == "transposed_a":
        a, b = a.T, _value((6, 3), dtype, 2)
    elif layout == "transposed_b":
        a, b = _value((4, 6), dtype, 1), b.T
    elif layout == "fortran":
        a, b = np.asfortranarray(a.T), np.asfortranarray(b.T)
    else:
        a, b = _value((8, 12), dtype, 1)[::2, ::2], _value((12, 6), dtype, 2)[::2, ::2]
    assert not a.flags.c_contiguous or not b.flags.c_contiguous
    _check(dot, np.dot, (a.shape, b.shape), dtype, arrays=[a, b])
    _check(lambda x, y: x @ y, np.matmul, (a.shape, b.shape), dtype, arrays=[a, b])


@pytest.mark.parametrize("function, reference, shapes", [
    (dot, np.dot, ((0, 5), (5, 3))),
    (dot, np.dot, ((4, 0), (0, 3))),          # empty sum: zeros
    (dot, np.dot, ((0,), (0,))),
    (dot, np.dot, ((2, 0, 5), (5, 3))),
    (matmul, np.matmul, ((0, 4, 5), (5, 3))),
    (batched_dot, _batched_dot_reference, ((0, 4, 5), (0, 5, 3))),
    (batched_dot, _batched_dot_reference, ((2, 4, 0), (2, 0, 3))),
    (lambda a, b: tensordot(a, b, 2), np.tensordot, ((3, 0, 2), (0, 2, 4))),
], ids=lambda case: str(case) if isinstance(case, tuple) else getattr(case, "__name__", "f"))
def test_zero_length_axes(function, reference, shapes):
    _check(function, reference, shapes, "float64")


# ---- hypothesis: any compatible shapes ----------------------------------------------------

_LENGTH = st.integers(0, 4)


@st.composite
def _dot_shapes(draw):
    rank_a, rank_b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shared = draw(_LENGTH)
    shape_a = tuple(draw(_LENGTH) for _ in range(rank_a - 1)) + (shared,)
    shape_b = tuple(draw(_LENGTH) for _ in range(rank_b))
    axis_b = max(rank_b - 2, 0)
    shape_b = shape_b[:axis_b] + (shared,) + shape_b[axis_b + 1:]
    return shape_a, shape_b


@given(shapes=_dot_shapes(), dtype=st.sampled_from(DTYPES))
def test_dot_any_compatible_shapes(shapes, dtype):
    _check(dot, np.dot, shapes, dtype)


@st.composite
def _matmul_shapes(draw):
    n, k, m = draw(_LENGTH), draw(_LENGTH), draw(_LENGTH)
    batch = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    batch_a = tuple(1 if draw(st.booleans()) else d for d in batch)
    batch_b = tuple(1 if draw(st.booleans()) else d for d in batch)[draw(st.integers(0, 2)):]
    shape_a = (k,) if draw(st.booleans()) and not batch_a else batch_a + (n, k)
    shape_b = (k,) if draw(st.booleans()) and not batch_b else batch_b + (k, m)
    return shape_a, shape_b


@given(shapes=_matmul_shapes(), dtype=st.sampled_from(DTYPES))
def test_matmul_any_compatible_shapes(shapes, dtype):
    _check(matmul, np.matmul, shapes, dtype)


# ---- errors -------------------------------------------------------------------------------

def _static(shape, name, dtype="float32"):
    return T.tensor(dtype, shape=shape, name=name)


def test_dot_static_mismatch_names_both_shapes_and_variables():
    x, w = _static((8, 32), "x"), _static((64, 10), "W")
    message = "dot: input 1 ('W') has shape (64, 10); expected 32 rows to match input 0 " \
              "('x', shape (8, 32))"
    with pytest.raises(ir.ShapeError, match=re.escape(message)):
        dot(x, w)


@pytest.mark.parametrize("build, shape_a, shape_b, expected", [
    (dot, (8, 32), (64,), "length 32"),
    (dot, (2, 8, 32), (3, 31, 4), "length 32 at axis 1"),
    (lambda a, b: a @ b, (8, 32), (64, 10), "32 rows"),
    (matmul, (2, 8, 32), (3, 32, 4), "leading (batch) axes that broadcast"),
    (batched_dot, (4, 8, 32), (5, 32, 2), "batch size 4"),
    (batched_dot, (4, 8, 32), (4, 31, 2), "length 32 at axis 1"),
    (lambda a, b: tensordot(a, b, axes=[[1], [1]]), (8, 32), (2, 31),
     "length 32 at axis 1 to match axis 1 of input 0"),
], ids=lambda case: case if isinstance(case, str) else str(case) if isinstance(case, tuple)
    else getattr(case, "__name__", "f"))
def test_static_mismatches_name_both_shapes(build, shape_a, shape_b, expected):
    a, b = _static(shape_a, None), _static(shape_b, None)
    with pytest.raises(ValueError, match=re.escape(expected)) as error:
        build(a, b)
    text = str(error.value)
    assert str(shape_a) in text and str(shape_b) in text


def test_unknown_lengths_build_and_fail_at_call_time():
    x, w = T.dmatrix("x"), T.dmatrix("W")
    f = theon.function([x, w], T.tanh(dot(x, w)))
    message = "dot: input 1 has shape (64, 10); expected 32 rows to match input 0 " \
              "(shape (8, 32))"
    with pytest.raises(ValueError, match=re.escape(message)):
        f(np.zeros((8, 32)), np.zeros((64, 10)))


@pytest.mark.parametrize("build, shape_a, shape_b", [
    (matmul, (2, 4, 5), (3, 5, 2)),
    (batched_dot, (3, 4, 5), (2, 5, 2)),
    (lambda a, b: tensordot(a, b, axes=1), (3, 4), (5, 2)),
], ids=["matmul", "batched_dot", "tensordot"])
def test_run_time_mismatches_raise_value_error(build, shape_a, shape_b):
    a, b = _var(shape_a, "float64", "a"), _var(shape_b, "float64", "b")
    f = theon.function([a, b], build(a, b))
    with pytest.raises(ValueError, match=re.escape(str(shape_b))):
        f(np.zeros(shape_a), np.zeros(shape_b))


@pytest.mark.parametrize("axes, match", [
    (3, "axes=3"), ([[0], [0, 1]], "1 axes of input 0 cannot meet 2"),
    ([[2], [0]], "out of range"), ([[0, 0], [0, 1]], "repeated axis"), ("x", "axes must"),
])
def test_tensordot_bad_axes(axes, match):
    with pytest.raises((ValueError, TypeError), match=re.escape(match)):
        tensordot(T.matrix("a"), T.matrix("b"), axes=axes)


# ---- schedule: BLAS host step, fused elementwise tail -------------------------------------

def test_affine_tanh_is_one_host_step_and_one_kernel():
    x, w, b = T.fmatrix("x"), T.fmatrix("W"), T.fvector("b")
    f = theon.function([x, w, b], T.tanh(dot(x, w) + b))
    assert len(f.schedule.steps) == 2
    assert isinstance(f.schedule.steps[0], ir.HostStep)
    assert isinstance(f.schedule.steps[0].op, Dot)
    assert f.report.kernels == 1
    xv, wv, bv = (_value(s, "float32", i) for i, s in enumerate([(8, 32), (32, 10), (10,)]))
    np.testing.assert_allclose(f(xv, wv, bv), np.tanh(xv @ wv + bv), rtol=1e-5, atol=1e-6)


def test_schedule_with_products_serialises():
    x, y = T.tensor3("x"), T.tensor3("y")
    f = theon.function([x, y], [tensordot(x, y, [[0, 2], [2, 0]]), batched_dot(x, y),
                                outer(x, y), x @ y])
    loaded = ir.serialize.loads_schedule(ir.serialize.dumps_schedule(f.schedule))
    assert [step.op for step in loaded.steps] == [step.op for step in f.schedule.steps]


# ---- relu ---------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0, 0.1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_fuses_after_a_product(alpha, dtype):
    x, w, b = _var((4, 5), dtype, "x"), _var((5, 3), dtype, "W"), _var((3,), dtype, "b")
    f = theon.function([x, w, b], relu(dot(x, w) + b, alpha))
    assert f.report.kernels == 1 and len(f.schedule.steps) == 2
    xv, wv, bv = (_value(s, dtype, i) for i, s in enumerate([(4, 5), (5, 3), (3,)]))
    z = xv @ wv + bv
    expected = np.where(z > 0, z, alpha * z).astype(dtype)
    result = f(xv, wv, bv)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, expected, **TOLERANCE[dtype])


def test_relu_keeps_nan_and_integer_dtype():
    x = T.dvector("x")
    values = np.array([np.nan, -1.0, 2.0])
    np.testing.assert_array_equal(relu(x).eval({x: values}), [np.nan, 0.0, 2.0])
    np.testing.assert_array_equal(relu(x, 0.5).eval({x: values}), [np.nan, -0.5, 2.0])
    i = T.ivector("i")
    result = relu(i).eval({i: np.array([-3, 0, 4], dtype="int32")})
    assert result.dtype == "int32"
    np.testing.assert_array_equal(result, [0, 0, 4])
