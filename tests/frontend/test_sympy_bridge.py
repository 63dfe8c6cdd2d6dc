"""The sympy bridge: from_sympy, to_sympy and sympy_op, against independent references.

Values are compared with ``sympy.lambdify`` of the same expression evaluated in float64 by
numpy, derivatives with ``sympy.diff`` evaluated the same way and with central finite
differences; nothing of theon's translation table is reused by the references.
"""
import functools
import math
import re

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sympy.codegen import cfunctions

import theon
import theon.tensor as T
from theon.frontend.sympy_op import SympyOp
from theon.ir.ops.elementwise import find_elementwise

X, Y = sympy.symbols("x y")
I, K = sympy.symbols("i k", integer=True)

# expression of x and y -> (x interval, y interval) where it is real and smooth enough
EXPRESSIONS = [
    (X ** 2 + 3 * X * Y - Y / 2 + 1, (-3, 3), (-3, 3)),
    (X ** -1 + sympy.sqrt(X) + X ** sympy.Rational(-1, 2) + X ** 3 + X ** 2.5, (0.125, 4), (0, 1)),
    (X ** Y + 2 ** Y + 10 ** (Y / 4), (0.125, 4), (-2, 2)),
    (sympy.exp(-X ** 2) * sympy.cos(Y) + sympy.log(X, 2) + sympy.log(X, 10) + sympy.log(X),
     (0.125, 5), (-3, 3)),
    (sympy.sin(X) + sympy.tan(X / 4) + sympy.asin(X / 4) + sympy.acos(X / 4) + sympy.atan(Y),
     (-3, 3), (-5, 5)),
    (sympy.sinh(X) + sympy.cosh(Y) + sympy.tanh(X * Y) + sympy.asinh(X)
     + sympy.acosh(2 + Y ** 2) + sympy.atanh(X / 4), (-3, 3), (-2, 2)),
    (sympy.cot(X) + sympy.sec(Y) + sympy.csc(X) + sympy.acot(Y) + sympy.coth(X),
     (0.25, 1.375), (-1.25, 1.25)),
    (sympy.atan2(Y, X) + sympy.erf(X) + sympy.erfc(Y), (-3, 3), (-3, 3)),
    (sympy.Abs(X) * sympy.sign(Y) + sympy.floor(X) - sympy.ceiling(Y) + sympy.Mod(X, 3),
     (-5, 5), (-5, 5)),
    (sympy.Min(X, Y, 1) + sympy.Max(X, 2 * Y) + sympy.Heaviside(X) + sympy.Heaviside(Y, 1),
     (-2, 2), (-2, 2)),
    (sympy.Piecewise((X ** 2, X < Y), (sympy.exp(-Y), (X > 1) & (Y > 0)), (sympy.sin(X), True)),
     (-3, 3), (-3, 3)),
    (sympy.Piecewise((1 - X, sympy.Eq(X, Y) | sympy.Not(Y < 0)), (X * Y, sympy.Ne(X, 0)),
                     (Y, True)), (-3, 3), (-3, 3)),
    (sympy.Piecewise((sympy.oo, X > 2), (X, True)) + sympy.pi * Y + sympy.E, (-3, 3), (-3, 3)),
    (sympy.Sum(X ** I / sympy.factorial(I), (I, 0, 8)) + sympy.Product(1 + Y / K, (K, 1, 3)),
     (-2, 2), (-2, 2)),
    (cfunctions.log1p(X) + cfunctions.expm1(Y) + cfunctions.exp2(Y) + cfunctions.log2(X + 2)
     + cfunctions.hypot(X, Y) + cfunctions.Cbrt(Y), (-0.5, 3), (-3, 3)),
]

# functions numpy lacks (erf) or lambdify does not name for numpy (sympy.codegen's Cbrt)
_FUNCTIONS = {"erf": np.vectorize(math.erf), "erfc": np.vectorize(math.erfc),
              "Cbrt": np.cbrt}


def _reference(expr, *values):
    """``expr`` evaluated by numpy in float64 at ``values`` (sympy's own lambdify)."""
    function = sympy.lambdify([X, Y], expr.doit(), modules=[_FUNCTIONS, "numpy"])
    with np.errstate(all="ignore"):
        result = function(*[np.asarray(v, dtype="float64") for v in values])
    return np.broadcast_to(result, np.shape(values[0])).astype("float64")


@functools.lru_cache(maxsize=None)
def _compiled(index, dtype):
    expr = EXPRESSIONS[index][0]
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    return theon.function([x, y], theon.from_sympy(expr, {X: x, Y: y}),
                          on_unused_input="ignore")


def _points(interval):
    low, high = interval  # floats that float32 holds exactly
    return st.floats(low, high, width=32, allow_subnormal=False)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("index", range(len(EXPRESSIONS)), ids=lambda i: str(i))
@given(data=st.data())
def test_from_sympy_computes_what_lambdify_computes(index, dtype, data):
    expr, x_interval, y_interval = EXPRESSIONS[index]
    n = data.draw(st.integers(1, 6))
    xs = data.draw(hnp.arrays(dtype, n, elements=_points(x_interval)))
    ys = data.draw(hnp.arrays(dtype, n, elements=_points(y_interval)))
    got = _compiled(index, dtype)(xs, ys)
    assert got.dtype == dtype  # constants never upcast a float32 graph
    expected = _reference(expr, xs, ys)
    if dtype == "float64":
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


def test_float32_constants_keep_a_float32_graph_float32():
    x, y = T.fvectors("x", "y")
    for expr in (sympy.pi * X + sympy.E, X / 3 + sympy.sqrt(2) * Y, 0.1 * X,
                 sympy.Piecewise((0.5, X < Y), (1.5, True)), sympy.exp(sympy.Rational(1, 3))):
        assert theon.from_sympy(expr, {X: x, Y: y}).dtype == "float32", expr


def test_weak_numbers_in_mapping_and_an_array_value():
    x = T.fvector("x")
    z = theon.from_sympy(X * Y + Y, {X: x, Y: 2.5})
    assert z.dtype == "float32"
    np.testing.assert_allclose(theon.function([x], z)(np.float32([1, 2])), [5.0, 7.5])
    z = theon.from_sympy(X + Y, {X: x, Y: np.array([1.0, 2.0])})
    assert z.dtype == "float64"  # an array is a constant of its own dtype
    np.testing.assert_allclose(theon.function([x], z)(np.float32([1, 2])), [2.0, 4.0])
    assert theon.function([], theon.from_sympy(sympy.pi, {}))() == pytest.approx(np.pi)


def test_relations_are_bool_tensors():
    x, y = T.dvectors("x", "y")
    z = theon.from_sympy((X < Y) & sympy.Ne(X, 0), {X: x, Y: y})
    assert z.dtype == "bool"
    f = theon.function([x, y], z)
    np.testing.assert_array_equal(f([0.0, 1.0, 3.0], [1.0, 2.0, 2.0]), [False, True, False])


def test_piecewise_without_default_is_nan_where_no_condition_holds():
    x = T.dvector("x")
    f = theon.function([x], theon.from_sympy(sympy.Piecewise((X, X > 0)), {X: x}))
    np.testing.assert_array_equal(f([-1.0, 2.0]), [np.nan, 2.0])


def test_long_sum_is_written_out_not_summed_in_closed_form():
    # sympy's doit gives (1 - x**201) / (1 - x), which loses every digit next to x = 1
    x = T.dvector("x")
    f = theon.function([x], theon.from_sympy(sympy.Sum(X ** I, (I, 0, 200)), {X: x}))
    points = np.array([1.0 - 1e-9, 1.0, 0.5])
    expected = [sum(float(p) ** k for k in range(201)) for p in points]
    np.testing.assert_allclose(f(points), expected, rtol=1e-12)


def test_inner_sum_bounds_may_name_outer_indices():
    # sympy merges the nested sums into Sum(x**k, (k, 0, i), (i, 0, 3)), innermost first
    x = T.dvector("x")
    expr = sympy.Sum(sympy.Sum(X ** K, (K, 0, I)), (I, 0, 3))
    f = theon.function([x], theon.from_sympy(expr, {X: x}))
    points = np.array([0.5, 2.0, -1.5])
    expected = [sum(float(p) ** k for i in range(4) for k in range(i + 1)) for p in points]
    np.testing.assert_allclose(f(points), expected, rtol=1e-14)


def test_a_sum_without_free_symbols_is_a_number_even_over_an_infinite_range():
    x = T.dvector("x")
    f = theon.function([x], theon.from_sympy(X + sympy.Sum(1 / I ** 2, (I, 1, sympy.oo)),
                                             {X: x}))
    np.testing.assert_allclose(f([0.0, 1.0]), [math.pi ** 2 / 6, 1 + math.pi ** 2 / 6])


def test_heaviside_is_nan_at_nan_in_kernels_and_reference_alike():
    op = theon.sympy_op(sympy.Heaviside(X) + sympy.Heaviside(X - 1, 0), [X])
    x = T.dvector("x")
    points = np.array([np.nan, -1.0, 0.0, 1.0, 2.0])
    expected = np.heaviside(points, 0.5) + np.heaviside(points - 1, 0.0)
    np.testing.assert_array_equal(theon.function([x], op(x))(points), expected)
    np.testing.assert_array_equal(op.impl(points), expected)


# ---- sympy_op -----------------------------------------------------------------------------

# (expression of x and y, x points, y points): points away from kinks and branch switches
OP_EXPRESSIONS = [
    (Y * sympy.tanh(X / Y), (-2.0, 0.3, 4.0), (0.5, 3.0, 1.5)),
    (sympy.exp(-X ** 2) * sympy.sin(X * Y) + sympy.log(1 + sympy.exp(Y)), (-1.5, 0.2, 1.1),
     (0.7, -2.0, 3.0)),
    (sympy.Piecewise((X ** 3 * Y, X < Y), (sympy.sin(X) * Y ** 2, True)), (-1.0, 0.4, 2.0),
     (0.5, 1.0, -1.0)),
    (sympy.Abs(X) * Y ** 2 + sympy.Max(X, Y) + sympy.atan2(Y, X), (-1.3, 0.6, 2.2),
     (0.4, -0.9, 1.7)),
]


def _numeric(expr, symbols, *values):
    expr = expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)  # 0 off the kink
    function = sympy.lambdify(symbols, expr, modules="mpmath")
    return np.array([float(function(*point)) for point in zip(*values)])


@pytest.mark.parametrize("index", range(len(OP_EXPRESSIONS)), ids=lambda i: str(i))
def test_sympy_op_gradients_of_first_and_second_order_are_sympy_diff(index):
    expr, xs, ys = OP_EXPRESSIONS[index]
    op = theon.sympy_op(expr, [X, Y])
    x, y = T.dvectors("x", "y")
    cost = T.sum(op(x, y))
    gx, gy = theon.grad(cost, [x, y])
    gxx, gxy = theon.grad(T.sum(gx), [x, y])
    gyy = theon.grad(T.sum(gy), y)
    f = theon.function([x, y], [op(x, y), gx, gy, gxx, gxy, gyy])
    # the reference differentiates with real symbols (sign(x), not re/im parts, for |x|)
    xr, yr = sympy.symbols("x y", real=True)
    real = expr.xreplace({X: xr, Y: yr})
    derivatives = [real, sympy.diff(real, xr), sympy.diff(real, yr), sympy.diff(real, xr, 2),
                   sympy.diff(real, xr, yr), sympy.diff(real, yr, 2)]
    for got, derivative in zip(f(np.array(xs), np.array(ys)), derivatives):
        np.testing.assert_allclose(got, _numeric(derivative, [xr, yr], xs, ys), rtol=1e-11,
                                   atol=1e-12)


@pytest.mark.parametrize("index", range(len(OP_EXPRESSIONS)), ids=lambda i: str(i))
def test_sympy_op_gradient_matches_central_differences(index):
    expr, xs, ys = OP_EXPRESSIONS[index]
    op = theon.sympy_op(expr, [X, Y])
    x, y = T.dvectors("x", "y")
    value = theon.function([x, y], op(x, y))
    gradients = theon.function([x, y], theon.grad(T.sum(op(x, y)), [x, y]))
    xs, ys, eps = np.array(xs), np.array(ys), 1e-6
    gx, gy = gradients(xs, ys)
    np.testing.assert_allclose(gx, (value(xs + eps, ys) - value(xs - eps, ys)) / (2 * eps),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gy, (value(xs, ys + eps) - value(xs, ys - eps)) / (2 * eps),
                               rtol=1e-6, atol=1e-7)


def test_sympy_op_hessian_and_third_derivative():
    op = theon.sympy_op(sympy.sin(X) * sympy.exp(X / 2), X, name="f")
    x = T.dvector("x")
    hessian = theon.gradient.hessian(T.sum(op(x)), x)
    g1 = theon.grad(T.sum(op(x)), x)
    g3 = theon.grad(T.sum(theon.grad(T.sum(g1), x)), x)
    f = theon.function([x], [hessian, g3])
    points = np.array([-1.0, 0.5, 2.0])
    xr = sympy.Symbol("x", real=True)
    expr = sympy.sin(xr) * sympy.exp(xr / 2)
    got_hessian, got_third = f(points)
    np.testing.assert_allclose(got_hessian, np.diag(_numeric(sympy.diff(expr, xr, 2), [xr],
                                                             points)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_third, _numeric(sympy.diff(expr, xr, 3), [xr], points),
                               rtol=1e-12)


def test_sympy_op_derivatives_of_step_functions_follow_theons_convention():
    # d|x|/dx = sign(x); sign, floor and Mod's floor have derivative 0 off their jumps
    op = theon.sympy_op(sympy.Abs(X) + sympy.sign(X) * Y + sympy.floor(X) + sympy.Mod(X, Y),
                        [X, Y])
    x, y = T.dvectors("x", "y")
    f = theon.function([x, y], theon.grad(T.sum(op(x, y)), [x, y]))
    xs, ys = np.array([-1.5, 0.7, 2.5]), np.array([2.0, 0.5, 1.0])
    gx, gy = f(xs, ys)
    np.testing.assert_allclose(gx, np.sign(xs) + 1)
    np.testing.assert_allclose(gy, np.sign(xs) - np.floor(xs / ys))


def test_sympy_op_gradient_is_zero_not_disconnected_for_an_unused_argument():
    op = theon.sympy_op(3 * X ** 2, [X, Y])
    x, y = T.dvectors("x", "y")
    f = theon.function([x, y], theon.grad(T.sum(op(x, y)), [x, y]))
    gx, gy = f([1.0, -2.0], [3.0, 4.0])
    np.testing.assert_array_equal(gx, [6.0, -12.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0])


@given(hnp.arrays("float64", st.integers(1, 8), elements=st.floats(-4, 4)))
def test_sympy_op_fuses_with_its_neighbours_into_one_kernel(values):
    softclip = theon.sympy_op(3 * sympy.tanh(X / 3), X, name="softclip")
    x, y = T.dvectors("x", "y")
    f = theon.function([x, y], softclip(x) * 2 + y)
    assert f.report.kernels == 1
    assert "kernel[sympy_op{softclip}, mul, add]" in f.source("ir")
    np.testing.assert_allclose(f(values, values[::-1]), 6 * np.tanh(values / 3) + values[::-1],
                               rtol=1e-13, atol=1e-15)


def test_sympy_op_on_float32_and_integer_inputs():
    op = theon.sympy_op(X ** 2 / 2 + 1, X)
    assert op(T.fvector()).dtype == "float32"
    assert op(T.bvector()).dtype == "float32"  # int8 -> float32, as theon's float functions
    assert op(T.ivector()).dtype == "float64"
    n = T.ivector("n")
    np.testing.assert_allclose(theon.function([n], op(n))(np.int32([1, 4])), [1.5, 9.0])


def test_sympy_op_folds_constants_through_lambdify():
    op = theon.sympy_op(sympy.erf(X) + sympy.Piecewise((X, X > 0), (0, True))
                        + cfunctions.Cbrt(X), X)
    f = theon.function([], op(T.constant(np.array([-0.125, 0.25]))))
    assert f.report.kernels == 0
    expected = [sympy.erf(-0.125) - 0.5, sympy.erf(0.25) + 0.25 + np.cbrt(0.25)]
    np.testing.assert_allclose(f(), np.array(expected, dtype=float), rtol=1e-15)


def test_same_definition_is_one_op_and_one_compiled_function():
    first = theon.sympy_op(sympy.cos(X) * Y ** 3, [X, Y], name="c")
    second = theon.sympy_op(sympy.cos(X) * Y ** 3, [X, Y])
    other = theon.sympy_op(sympy.cos(X) * Y ** 4, [X, Y])
    swapped = theon.sympy_op(sympy.cos(X) * Y ** 3, [Y, X])
    assert first == second and hash(first) == hash(second)
    assert first != other and first != swapped
    assert find_elementwise(first.name, first.attrs) == first
    x, y = T.dvectors("x", "y")
    assert first(x, y).node is second(x, y).node
    f = theon.function([x, y], first(x, y) + 1)
    g = theon.function([x, y], second(x, y) + 1)
    h = theon.function([x, y], other(x, y) + 1)
    assert (g.report.cache, h.report.cache) == ("memory", "miss")
    np.testing.assert_allclose(f([0.5], [2.0]), [np.cos(0.5) * 8 + 1])
    np.testing.assert_allclose(h([0.5], [2.0]), [np.cos(0.5) * 16 + 1])


def test_sympy_op_describes_itself_by_name_or_expression():
    assert theon.sympy_op(sympy.exp(X) - 1, X, name="em1").describe() == "sympy_op{em1}"
    assert theon.sympy_op(X * Y + 1, [X, Y]).describe() == "sympy_op{x*y + 1}"
    assert isinstance(theon.sympy_op(X, X), SympyOp)


# ---- to_sympy -----------------------------------------------------------------------------

ROUND_TRIPS = [
    3 * X / 4 + sympy.exp(-X ** 2) * sympy.cos(Y),
    X / 3 + sympy.Rational(2, 7) * Y - sympy.pi,
    sympy.Abs(X) + sympy.Max(X, Y) - sympy.Min(X, 2),
    sympy.log(X, 2) + sympy.log(X, 10) + sympy.atan2(Y, X) + sympy.sqrt(X) + 1 / Y,
    sympy.Piecewise((X ** 2, X < Y), (sympy.sin(X), True)),
    sympy.Piecewise((1 - X, sympy.Eq(X, Y) | (Y >= 0)), (X * Y, sympy.Ne(X, 0)), (Y, True)),
    sympy.erf(X) * sympy.floor(Y) + sympy.Mod(X, 3) + X ** Y + 2 ** X,
    sympy.sinh(X) + sympy.acosh(Y) + sympy.atanh(X) + sympy.asin(Y) + sympy.tan(X),
]


@pytest.mark.parametrize("expr", ROUND_TRIPS, ids=str)
def test_to_sympy_of_from_sympy_is_the_expression(expr):
    x, y = T.dvectors("x", "y")
    back = theon.to_sympy(theon.from_sympy(expr, {X: x, Y: y}), nsimplify=True)
    assert back == expr or sympy.simplify(back - expr) == 0


def test_to_sympy_reads_casts_switch_bools_and_sympy_ops():
    x, y = T.dvectors("x", "y")
    a, b = sympy.symbols("a b")
    op = theon.sympy_op(sympy.exp(X) * Y, [X, Y])
    assert theon.to_sympy(op(x, 2 * y)) == 2 * Y * sympy.exp(X)
    assert theon.to_sympy(op(x, 2 * y), {x: a, y: b}) == 2 * b * sympy.exp(a)
    z = T.switch(x > 0, T.cast(y, "int32"), x * (x > y))
    expected = sympy.Piecewise(
        (sympy.Piecewise((sympy.floor(Y), Y >= 0), (sympy.ceiling(Y), True)), X > 0),
        (X * sympy.Piecewise((1, X > Y), (0, True)), True))
    assert sympy.simplify(theon.to_sympy(z) - expected) == 0
    assert theon.to_sympy(x * 0.1) == sympy.Float(0.1) * X  # the exact binary value
    assert theon.to_sympy(x * 0.1, nsimplify=True) == X / 10


def test_to_sympy_names_the_variable_or_takes_the_given_symbol():
    x = T.dvector()
    x.name = "speed"
    assert theon.to_sympy(x) == sympy.Symbol("speed")
    v = sympy.Symbol("v", positive=True)
    assert theon.to_sympy(T.sqrt(x) ** 2, {x: v}) == v


# ---- errors -------------------------------------------------------------------------------

def test_unsupported_function_is_a_type_error_naming_it():
    x = T.dvector("x")
    expected = ("from_sympy: sympy's gamma has no theon counterpart (in gamma(x)); supported "
                "functions: ")
    with pytest.raises(TypeError, match=re.escape(expected)):
        theon.from_sympy(sympy.gamma(X) + 1, {X: x})
    with pytest.raises(TypeError, match=re.escape(
            "sympy_op: sympy's besselj has no theon counterpart (in besselj(1, x))")):
        theon.sympy_op(sympy.besselj(1, X), X)
    with pytest.raises(TypeError, match=re.escape(
            "from_sympy: sympy's Integral has no theon counterpart (in Integral(x, x))")):
        theon.from_sympy(sympy.Integral(X, X), {X: x})
    with pytest.raises(TypeError, match=re.escape(
            "from_sympy: I is not a real number; theon computes in real arithmetic")):
        theon.from_sympy(X + sympy.I, {X: x})


def test_missing_symbol_is_a_value_error_naming_it():
    x = T.dvector("x")
    with pytest.raises(ValueError, match=re.escape(
            "from_sympy: symbol y has no value in mapping (mapping has x)")):
        theon.from_sympy(X + Y, {X: x})
    with pytest.raises(ValueError, match=re.escape(
            "from_sympy: symbol x has no value in mapping (mapping has x); a symbol of the "
            "same name with other assumptions (real=True, ...) is a different symbol")):
        theon.from_sympy(X, {sympy.Symbol("x", real=True): x})


def test_symbolic_sum_bound_is_a_value_error():
    x, n = T.dvector("x"), sympy.Symbol("n")
    with pytest.raises(ValueError, match=re.escape(
            "from_sympy: Sum over i needs integer bounds; got n in Sum(x**i, (i, 0, n))")):
        theon.from_sympy(sympy.Sum(X ** I, (I, 0, n)), {X: x, n: 3})


def test_bad_mapping_is_a_type_error():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=re.escape(
            "from_sympy: mapping keys must be sympy Symbols; got str 'x'")):
        theon.from_sympy(X, {"x": x})
    with pytest.raises(TypeError, match=re.escape(
            "from_sympy: the value of symbol x must be a theon Variable, a number or an "
            "array; got object")):
        theon.from_sympy(X, {X: object()})


def test_sympy_op_argument_errors():
    op = theon.sympy_op(X * Y, [X, Y], name="prod")
    x = T.dvector("x")
    with pytest.raises(TypeError, match=re.escape(
            "sympy_op{prod}: expected 2 arguments (x, y), got 1")):
        op(x)
    with pytest.raises(ValueError, match=re.escape(
            "sympy_op: expr has free symbol y that is not among args (x)")):
        theon.sympy_op(X * Y, [X])
    with pytest.raises(ValueError, match=re.escape(
            "sympy_op: args must have distinct names; 'x' is repeated")):
        theon.sympy_op(X, [X, sympy.Symbol("x", positive=True)])
    with pytest.raises(TypeError, match=re.escape(
            "sympy_op: expr must be a sympy expression (sympy.Expr); got StrictLessThan x < 1")):
        theon.sympy_op(X < 1, [X])
    with pytest.raises(TypeError, match=re.escape(
            "sympy_op: args[1] must be a sympy Symbol; got str 'y'")):
        theon.sympy_op(X, [X, "y"])


def test_to_sympy_errors_name_the_op():
    x, y = T.dvectors("x", "y")
    with pytest.raises(TypeError, match=re.escape(
            "to_sympy: dot is not an elementwise op; to_sympy reads graphs of elementwise "
            "ops over inputs and scalar constants")):
        theon.to_sympy(T.exp(T.dot(x, y)))
    with pytest.raises(TypeError, match=re.escape(
            "to_sympy: constant [1.0, 2.0, 3.0] is not a scalar constant")):
        theon.to_sympy(x + np.array([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match=re.escape(
            "to_sympy: sympy has no counterpart of the elementwise op isnan")):
        theon.to_sympy(T.isnan(x))
    with pytest.raises(ValueError, match=re.escape(
            "to_sympy: two different inputs are named 'x'; rename one or give their "
            "symbols in symbols")):
        theon.to_sympy(x + T.dvector("x"))
