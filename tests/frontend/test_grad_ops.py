"""Gradients of the products and shape ops (dot of any rank, matmul, tensordot, batched_dot,
outer, join/split, alloc, tile, repeat, roll, sort, cumsum/cumprod, diag, arange), checked
against central differences with ``verify_grad`` and against closed forms in numpy."""
import numpy as np
import pytest

import theon as theano
import theon.tensor as T
from theon import ir
from theon.gradient import verify_grad
from theon.ir import build
from theon.ir.ops.linalg import BatchedDot, Dot, Matmul, Outer, Tensordot
from theon.ir.ops.array_functions import CumOp, Diag, Repeat, Roll, Sort, Tile
from theon.ir.ops.shape_ops import Alloc, Join, SplitPart, SumToShape


def _points(shapes, seed):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-1.0, 1.0, size=shape) for shape in shapes]


# name -> (function of the variables, shapes of the float64 point)
CASES = {
    "dot_3d_2d": (T.dot, [(2, 3, 4), (4, 5)]),
    "dot_3d_3d": (T.dot, [(2, 3, 4), (2, 4, 3)]),
    "dot_vector_3d": (T.dot, [(4,), (2, 4, 3)]),
    "dot_3d_vector": (T.dot, [(2, 3, 4), (4,)]),
    "matmul_broadcast_batch": (T.matmul, [(2, 1, 3, 4), (5, 4, 2)]),
    "matmul_batch_one_on_b": (T.matmul, [(3, 2, 4), (1, 4, 2)]),
    "matmul_vector_batch": (T.matmul, [(4,), (2, 4, 3)]),
    "matmul_batch_vector": (T.matmul, [(2, 3, 4), (4,)]),
    "matmul_vectors": (T.matmul, [(4,), (4,)]),
    "tensordot_int_axes": (lambda a, b: T.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 5)]),
    "tensordot_axis_lists": (lambda a, b: T.tensordot(a, b, [[0, 2], [2, 0]]),
                             [(2, 3, 4), (4, 5, 2)]),
    "tensordot_outer": (lambda a, b: T.tensordot(a, b, 0), [(2, 3), (3,)]),
    "tensordot_full": (lambda a, b: T.tensordot(a, b, [[0, 1], [1, 0]]), [(2, 3), (3, 2)]),
    "batched_dot_3d_3d": (T.batched_dot, [(2, 3, 4), (2, 4, 5)]),
    "batched_dot_3d_2d": (T.batched_dot, [(2, 3, 4), (2, 4)]),
    "batched_dot_2d_3d": (T.batched_dot, [(2, 4), (2, 4, 3)]),
    "batched_dot_2d_2d": (T.batched_dot, [(3, 4), (3, 4)]),
    "batched_dot_4d_4d": (T.batched_dot, [(2, 3, 2, 4), (2, 3, 4, 2)]),
    "batched_dot_vector_3d": (T.batched_dot, [(2,), (2, 3, 4)]),
    "batched_dot_2d_vector": (T.batched_dot, [(2, 3), (2,)]),
    "outer_matrix_vector": (T.outer, [(2, 3), (4,)]),
    "join_axis_1": (lambda a, b: T.concatenate([a, b], axis=1), [(2, 3), (2, 4)]),
    "stack": (lambda a, b: T.stack([a, b], axis=1), [(2, 3), (2, 3)]),
    "split_part": (lambda x: T.split(x, [1, 3], 2, axis=1)[1], [(2, 4)]),
    "alloc_new_axes": (lambda v: T.alloc(v, 3, 2, 4), [(2, 4)]),
    "alloc_length_one": (lambda v: T.alloc(v, 3, 2, 4), [(1, 4)]),
    "tile": (lambda x: T.tile(x, (2, 1, 3)), [(2, 3)]),
    "repeat_int_axis": (lambda x: T.repeat(x, 3, axis=1), [(2, 3)]),
    "repeat_flat": (lambda x: T.repeat(x, 2), [(2, 3)]),
    "repeat_array": (lambda x: T.repeat(x, [1, 0, 3], axis=1), [(2, 3)]),
    "roll": (lambda x: T.roll(x, 2, axis=1), [(2, 5)]),
    "roll_flat": (lambda x: T.roll(x, -4), [(2, 3)]),
    "sort_last_axis": (lambda x: T.sort(x, axis=1), [(3, 5)]),
    "sort_axis_0_3d": (lambda x: T.sort(x, axis=0), [(3, 4, 2)]),
    "sort_flat": (lambda x: T.sort(x, axis=None), [(3, 4)]),
    "cumsum_axis": (lambda x: T.cumsum(x, axis=1), [(3, 5)]),
    "cumsum_flat": (T.cumsum, [(3, 4)]),
    "cumprod_axis": (lambda x: T.cumprod(x, axis=0), [(4, 3)]),
    "cumprod_flat": (T.cumprod, [(2, 3)]),
    "diag_vector_offset": (lambda x: T.diag(x, 1), [(3,)]),
    "diag_matrix_offset_below": (lambda x: T.diag(x, -1), [(4, 3)]),
    "diag_matrix_offset_above": (lambda x: T.diag(x, 2), [(3, 5)]),
    "tril": (lambda x: T.tril(x, -1), [(3, 4)]),
    "triu": (lambda x: T.triu(x, 1), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name):
    function, shapes = CASES[name]
    seed = sorted(CASES).index(name)
    points = _points(shapes, seed)
    if name.startswith("cumprod"):
        points = [np.sign(p) * (np.abs(p) + 0.5) for p in points]  # away from 0
    verify_grad(function, points, rng=np.random.RandomState(seed))


# ---- closed forms -------------------------------------------------------------------------

def _gradients(build_output, points, projection_seed=0):
    """theon's gradients of ``sum(out * u)`` at ``points`` (float64 variables of unknown
    lengths), and ``u``."""
    variables = [T.TensorType("float64", shape=(None,) * np.ndim(p))(f"x{i}")
                 for i, p in enumerate(points)]
    out = build_output(*variables)
    shape = theano.function(variables, out)(*points).shape
    u = np.random.RandomState(projection_seed).uniform(0.5, 1.5, size=shape)
    cost = (out * u).sum()
    return theano.function(variables, theano.grad(cost, variables))(*points), u


def test_matmul_gradient_sums_over_broadcast_batch_axes():
    a, b = _points([(2, 1, 3, 4), (5, 4, 2)], 1)
    (ga, gb), u = _gradients(T.matmul, [a, b])
    np.testing.assert_allclose(ga, (u @ np.swapaxes(b, -1, -2)).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(gb, (np.swapaxes(a, -1, -2) @ u).sum(axis=0))


def test_matmul_with_static_broadcast_axes_sums_at_build_time():
    a = T.TensorType("float64", shape=(2, 1, 3, 4))("a")
    b = T.TensorType("float64", shape=(5, 4, 2))("b")
    ga, gb = theano.grad(T.matmul(a, b).sum(), [a, b])
    nodes = ir.toposort([ga.node, gb.node])
    assert not any(isinstance(node.op, SumToShape) for node in nodes)
    av, bv = _points([(2, 1, 3, 4), (5, 4, 2)], 2)
    got_a, got_b = theano.function([a, b], [ga, gb])(av, bv)
    ones = np.ones((2, 5, 3, 2))
    np.testing.assert_allclose(got_a, (ones @ np.swapaxes(bv, -1, -2)).sum(1, keepdims=True))
    np.testing.assert_allclose(got_b, (np.swapaxes(av, -1, -2) @ ones).sum(axis=0))


def test_matrix_products_need_no_run_time_sum():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    grads = theano.grad(T.matmul(a, b).sum(), [a, b])
    assert not any(isinstance(node.op, SumToShape)
                   for node in ir.toposort([g.node for g in grads]))


def test_sum_to_shape_sums_only_what_was_broadcast():
    op = SumToShape((None, 3))
    grad = np.arange(24.0).reshape(2, 4, 3)
    np.testing.assert_allclose(op.impl(grad, 1), grad.sum(axis=(0, 1))[None, :])
    same = grad[0]
    assert op.impl(same, 4) is same  # nothing was broadcast: no copy
    with pytest.raises(ValueError, match="sum_to_shape"):
        op.impl(grad, 2)


def test_dot_of_3d_and_matrix_closed_form():
    a, b = _points([(2, 3, 4), (4, 5)], 3)
    (ga, gb), u = _gradients(T.dot, [a, b])
    np.testing.assert_allclose(ga, u @ b.T)
    np.testing.assert_allclose(gb, np.einsum("ijk,ijl->kl", a, u))


def test_tensordot_axis_lists_closed_form():
    a, b = _points([(2, 3, 4), (4, 5, 2)], 4)
    (ga, gb), u = _gradients(lambda x, y: T.tensordot(x, y, [[0, 2], [2, 0]]), [a, b])
    np.testing.assert_allclose(ga, np.einsum("jl,klm->mjk", u, b))
    np.testing.assert_allclose(gb, np.einsum("mjk,jl->klm", a, u))


def test_batched_dot_closed_form():
    a, b = _points([(3, 2, 4), (3, 4, 5)], 5)
    (ga, gb), u = _gradients(T.batched_dot, [a, b])
    np.testing.assert_allclose(ga, u @ np.swapaxes(b, 1, 2))
    np.testing.assert_allclose(gb, np.swapaxes(a, 1, 2) @ u)


def test_outer_closed_form():
    x, y = _points([(2, 2), (3,)], 6)
    (gx, gy), u = _gradients(T.outer, [x, y])
    np.testing.assert_allclose(gx, (u @ y).reshape(2, 2))
    np.testing.assert_allclose(gy, x.reshape(-1) @ u)


def test_join_gives_each_input_its_slice():
    a, b, c = _points([(2, 1), (2, 3), (2, 2)], 7)
    grads, u = _gradients(lambda *xs: T.concatenate(xs, axis=1), [a, b, c])
    for got, want in zip(grads, np.split(u, [1, 4], axis=1)):
        np.testing.assert_allclose(got, want)


def test_join_with_static_lengths():
    a = T.TensorType("float64", shape=(2, 3))("a")
    b = T.TensorType("float64", shape=(1, 3))("b")
    ga, gb = theano.grad((T.join(0, a, b) * np.arange(9.0).reshape(3, 3)).sum(), [a, b])
    got_a, got_b = theano.function([a, b], [ga, gb])(np.zeros((2, 3)), np.zeros((1, 3)))
    np.testing.assert_allclose(got_a, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_allclose(got_b, [[6, 7, 8]])


def test_split_with_symbolic_sizes():
    x, sizes = T.dmatrix("x"), T.lvector("sizes")
    first, second, third = T.split(x, sizes, 3, axis=1)
    cost = (2 * first).sum() + (3 * third).sum()
    g = theano.function([x, sizes], theano.grad(cost, x))(np.zeros((2, 5)), [1, 3, 1])
    np.testing.assert_allclose(g, [[2, 0, 0, 0, 3]] * 2)


def test_alloc_sums_over_new_and_broadcast_axes():
    value = _points([(1, 4)], 8)[0]
    (g,), u = _gradients(lambda v: T.alloc(v, 3, 2, 4), [value])
    np.testing.assert_allclose(g, u.sum(axis=(0, 1))[None, :])


def test_alloc_with_symbolic_lengths():
    v, n = T.dvector("v"), T.lscalar("n")
    g = theano.function([v, n], theano.grad(T.alloc(v, n, 3).sum(), v))(np.ones(3), 4)
    np.testing.assert_allclose(g, [4.0, 4.0, 4.0])


def test_tile_closed_form():
    x = _points([(2, 3)], 9)[0]
    (g,), u = _gradients(lambda v: T.tile(v, (2, 1, 3)), [x])
    np.testing.assert_allclose(g, u.reshape(2, 2, 3, 3).sum(axis=(0, 2)))


def test_repeat_with_repeats_array_sums_each_elements_copies():
    x = _points([(2, 3)], 10)[0]
    repeats = [2, 0, 3]
    (g,), u = _gradients(lambda v: T.repeat(v, repeats, axis=1), [x])
    want = np.stack([u[:, :2].sum(1), np.zeros(2), u[:, 2:].sum(1)], axis=1)
    np.testing.assert_allclose(g, want)


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("kind", ["scalar", "vector"])
def test_repeat_with_symbolic_repeats(axis, kind):
    x = T.dmatrix("x")
    repeats = T.lscalar("repeats") if kind == "scalar" else T.lvector("repeats")
    if kind == "scalar":
        value = 2
    else:
        value = {None: [1, 0, 2, 1, 1, 3], 0: [3, 0], 1: [1, 0, 2]}[axis]
    out = T.repeat(x, repeats, axis=axis).flatten()
    # where each output element was copied from, in the flattened x
    origin = np.repeat(np.arange(6).reshape(2, 3), value, axis=axis).reshape(-1)
    weights = np.arange(float(origin.size))
    cost = (out * weights).sum()
    got = theano.function([x, repeats], theano.grad(cost, x))(np.zeros((2, 3)), value)
    want = np.zeros(6)
    np.add.at(want, origin, weights)
    np.testing.assert_allclose(got, want.reshape(2, 3))


def test_roll_with_symbolic_shift_rolls_back():
    x, shift = T.dvector("x"), T.lscalar("shift")
    weights = np.arange(5.0)
    g = theano.function([x, shift], theano.grad((T.roll(x, shift) * weights).sum(), x))
    np.testing.assert_allclose(g(np.zeros(5), 2), np.roll(weights, -2))
    np.testing.assert_allclose(g(np.zeros(5), -7), np.roll(weights, 7))


def test_sort_scatters_through_the_sorting_permutation():
    x = _points([(3, 5)], 11)[0]
    (g,), u = _gradients(lambda v: T.sort(v, axis=1), [x])
    want = np.zeros_like(x)
    np.put_along_axis(want, np.argsort(x, axis=1, kind="stable"), u, axis=1)
    np.testing.assert_allclose(g, want)


def test_cumsum_is_reversed_cumsum():
    x = _points([(3, 4)], 12)[0]
    (g,), u = _gradients(lambda v: T.cumsum(v, axis=1), [x])
    np.testing.assert_allclose(g, np.cumsum(u[:, ::-1], axis=1)[:, ::-1])


def test_cumprod_closed_form():
    x = np.array([2.0, -0.5, 3.0, 1.5])
    (g,), u = _gradients(T.cumprod, [x])
    jacobian = np.array([[np.prod(x[:i + 1]) / x[j] if j <= i else 0.0 for j in range(4)]
                         for i in range(4)])
    np.testing.assert_allclose(g, u @ jacobian)


@pytest.mark.parametrize("k", [-1, 0, 2])
def test_diag_both_directions(k):
    vector = _points([(3,)], 13)[0]
    (g,), u = _gradients(lambda v: T.diag(v, k), [vector])
    np.testing.assert_allclose(g, np.diagonal(u, k))
    matrix = _points([(3, 4)], 14)[0]
    (g,), u = _gradients(lambda m: T.diag(m, k), [matrix])
    want = np.zeros((3, 4))
    rows = np.arange(len(u)) + max(-k, 0)
    want[rows, rows + k] = u
    np.testing.assert_allclose(g, want)


def test_arange_bounds_get_zero_gradients():
    start = T.dscalar("start")
    g = theano.grad(T.arange(start, 5.0, 1.0).sum(), start)
    assert float(theano.function([start], g)(0.5)) == 0.0


# ---- dtypes, integer inputs, second order -------------------------------------------------

@pytest.mark.parametrize("function, shapes", [
    (T.matmul, [(2, 1, 3, 4), (5, 4, 2)]),
    (lambda x: T.cumsum(T.tile(x, (1, 2)), axis=1), [(2, 3)]),
], ids=["matmul", "tile_cumsum"])
def test_float32_gradients(function, shapes):
    points = [p.astype(np.float32) for p in _points(shapes, 15)]
    verify_grad(function, points, rng=np.random.RandomState(15), abs_tol=2e-2, rel_tol=2e-2)
    variables = [T.TensorType("float32", shape=(None,) * len(s))(f"x{i}")
                 for i, s in enumerate(shapes)]
    grads = theano.grad(function(*variables).sum(), variables)
    assert all(g.dtype == "float32" for g in grads)


def _inputs(*specs):
    return [ir.Node.make(ir.Input.new(ir.TensorType(dtype, shape))) for dtype, shape in specs]


INTEGER_CASES = {
    "dot": (Dot(), [("int64", (2, 3, 4)), ("float64", (4, 5))]),
    "matmul": (Matmul(), [("int32", (2, 3, 4)), ("float64", (None, 4, 2))]),
    "tensordot": (Tensordot((1,), (0,)), [("float64", (2, 3)), ("int64", (3, 4))]),
    "batched_dot": (BatchedDot(), [("int64", (2, 3, 4)), ("float64", (2, 4))]),
    "outer": (Outer(), [("float64", (3,)), ("int8", (2, 2))]),
    "join": (Join(0), [("int64", (2, 3)), ("float64", (None, 3))]),
    "alloc": (Alloc((4, 3)), [("int64", (3,))]),
    "tile": (Tile((2,)), [("int64", (3,))]),
    "repeat": (Repeat(0, 2), [("int64", (3,))]),
    "roll": (Roll(0, 1), [("int64", (3,))]),
    "sort": (Sort(0), [("int64", (3,))]),
    "cumsum": (CumOp(0, "add"), [("int64", (3,))]),
    "diag": (Diag(1), [("int64", (3, 3))]),
    "split": (SplitPart(0, 0, 2, (1, 2)), [("int64", (3,))]),
}


@pytest.mark.parametrize("name", sorted(INTEGER_CASES))
def test_integer_inputs_get_no_gradient(name):
    op, specs = INTEGER_CASES[name]
    inputs = _inputs(*specs)
    node = ir.Node.make(op, inputs)
    grads = op.vjp(node, build.zeros_like(node, "float64"))
    assert len(grads) == len(inputs)
    for x, g in zip(inputs, grads):
        assert (g is None) == (x.type.dtype not in ("float32", "float64"))
        if g is not None:
            assert g.type.dtype == x.type.dtype and g.type.ndim == x.type.ndim


def test_integer_parameters_get_no_gradient():
    x, count = _inputs(("float64", (2, 3)), ("int64", ()))
    node = ir.Node.make(Repeat(1, None), (x, count))
    assert node.op.vjp(node, build.zeros_like(node))[1] is None
    node = ir.Node.make(Roll(1, None), (x, count))
    assert node.op.vjp(node, build.zeros_like(node))[1] is None


@pytest.mark.parametrize("function, shapes", [
    (T.matmul, [(2, 1, 3, 4), (5, 4, 2)]),
    (lambda x: T.sort(x, axis=0) * T.cumprod(x, axis=1), [(3, 2)]),
], ids=["matmul", "sort_cumprod"])
def test_second_derivatives(function, shapes):
    def gradient(*variables):
        return theano.grad((function(*variables) ** 2).sum(), variables[0])
    points = [p + np.sign(p) * 0.5 for p in _points(shapes, 16)]
    verify_grad(gradient, points, rng=np.random.RandomState(16))


@pytest.mark.parametrize("build, expected", [
    (lambda x: T.mean(x[[0, 2, 2]]), lambda v: np.bincount([0, 2, 2], minlength=4) / 3.0),
    (lambda x: T.sum(x[1:3]), lambda v: np.array([0.0, 1.0, 1.0, 0.0])),
    (lambda x: 3.0 * T.sum(x[np.array([3, 3])]), lambda v: np.array([0.0, 0.0, 0.0, 6.0])),
])
def test_gradient_of_a_filled_index_is_scattered_without_the_fill(build, expected):
    """The gradient of a sum or mean is a fill; indexing's gradient scatters its value and
    lets inc_subtensor broadcast it (repeated indices still accumulate)."""
    x = T.dvector("x")
    g = theano.function([x], theano.grad(build(x), x))
    value = np.arange(4.0)
    np.testing.assert_allclose(g(value), expected(value), rtol=1e-15)
    # one fill only: the zeros the scatter starts from, not one of the scattered value
    assert g.source("ir").count("second") == 1
