"""The shape operations (``theon/frontend/shape.py``) through ``theon.function``, against
numpy: the op table over ranks, dtypes, axes, empty arrays and length-1 dimensions; shapes
drawn by hypothesis; symbolic shape arguments; views read in place by kernels; and the
errors, at build time for static shapes and at call time otherwise, naming both shapes.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import theon
import theon.tensor as T
from theon import ShapeError
from theon.frontend import shape as S

DTYPES = ("float32", "float64", "int8", "int32", "int64", "uint8", "bool")


def var(dtype, ndim, name="x"):
    """A fresh input of ``dtype`` and rank ``ndim`` with no static lengths."""
    return T.tensor(dtype, shape=(None,) * ndim, name=name)


def sample(shape, dtype, seed=0):
    """Deterministic values of ``shape`` and ``dtype`` (distinct where the dtype allows)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        return rng.integers(0, 100, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def run(inputs, outputs, *values):
    # a result may not need its input (zeros_like of a tensor of static shape)
    return theon.function(inputs, outputs, on_unused_input="ignore")(*values)


# ---- the op table ------------------------------------------------------------------------
# id, theon function of one input, numpy reference, input shapes

ROWS = [
    ("reshape_flat", lambda x: x.reshape((-1,)), lambda a: a.reshape(-1),
     [(2, 3), (0, 3), (1, 1, 4), (5,)]),
    ("reshape_symbolic", lambda x: x.reshape((x.shape[0], -1)),
     lambda a: a.reshape(a.shape[0], -1), [(2, 3), (1, 1, 4), (3, 2, 2)]),
    ("reshape_to_rank3", lambda x: S.reshape(x, (2, -1, 1)), lambda a: a.reshape(2, -1, 1),
     [(2, 3), (4,), (2, 0)]),
    ("flatten1", lambda x: x.flatten(), lambda a: a.reshape(-1), [(2, 3), (0, 2), (2, 1, 3)]),
    ("flatten2", lambda x: x.flatten(2), lambda a: a.reshape(len(a), a[0].size if len(a) else 4),
     [(2, 3, 4), (0, 2, 2), (3, 1)]),
    ("ravel", lambda x: x.ravel(), lambda a: a.ravel(), [(2, 3), (3,)]),
    ("T", lambda x: x.T, lambda a: a.T, [(2, 3), (0, 3), (1, 1), (2, 3, 4), (5,)]),
    ("transpose_axes", lambda x: x.transpose(1, 2, 0), lambda a: a.transpose(1, 2, 0),
     [(2, 3, 4), (1, 0, 2)]),
    ("transpose_fn", lambda x: S.transpose(x, (0, 2, 1)), lambda a: a.transpose(0, 2, 1),
     [(2, 3, 4)]),
    ("dimshuffle_x", lambda x: x.dimshuffle("x", 1, "x", 0), lambda a: a.T[None, :, None],
     [(2, 3), (0, 1)]),
    ("padleft", lambda x: S.shape_padleft(x, 2), lambda a: a[None, None], [(2, 3), (0,)]),
    ("padright", lambda x: S.shape_padright(x), lambda a: a[..., None], [(2, 3), (4,)]),
    ("padaxis", lambda x: S.shape_padaxis(x, 1), lambda a: np.expand_dims(a, 1),
     [(2, 3), (4,)]),
    ("padaxis_neg", lambda x: S.shape_padaxis(x, -1), lambda a: np.expand_dims(a, -1),
     [(2, 3)]),
    ("concat0", lambda x: S.concatenate([x, x, x]), lambda a: np.concatenate([a, a, a]),
     [(2, 3), (0, 3), (4,)]),
    ("concat_last", lambda x: S.concatenate([x, x * 2], axis=-1),
     lambda a: np.concatenate([a, a * 2], axis=-1), [(2, 3), (2, 0)]),
    ("join1", lambda x: S.join(1, x, x), lambda a: np.concatenate([a, a], 1), [(2, 3, 1)]),
    ("stack0", lambda x: S.stack([x, x + 1]), lambda a: np.stack([a, a + 1]), [(2, 3), (0,)]),
    ("stack2", lambda x: S.stack(x, x, axis=2), lambda a: np.stack([a, a], axis=2),
     [(2, 3)]),
    ("zeros_like", lambda x: S.zeros_like(x), np.zeros_like, [(2, 3), (0,), ()]),
    ("ones_like_f32", lambda x: S.ones_like(x, dtype="float32"),
     lambda a: np.ones_like(a, dtype="float32"), [(2, 3)]),
    ("alloc_like", lambda x: S.alloc(x, 2, *x.shape), lambda a: np.broadcast_to(a, (2,) + a.shape),
     [(2, 3), (0,)]),
    ("tile", lambda x: T.tile(x, (2, 3)), lambda a: np.tile(a, (2, 3)), [(2, 3), (4,), (0, 2)]),
    ("repeat_axis", lambda x: x.repeat(2, axis=0), lambda a: np.repeat(a, 2, axis=0),
     [(2, 3), (0,)]),
    ("repeat_flat", lambda x: T.repeat(x, 3), lambda a: np.repeat(a, 3), [(2, 3)]),
    ("roll", lambda x: T.roll(x, 1, axis=-1), lambda a: np.roll(a, 1, axis=-1),
     [(2, 3), (0, 2), (4,)]),
    ("roll_flat", lambda x: T.roll(x, -2), lambda a: np.roll(a, -2), [(2, 3)]),
    ("sort", lambda x: x.sort(), lambda a: np.sort(a, kind="stable"), [(2, 5), (0,), (7,)]),
    ("sort_axis0", lambda x: T.sort(x, axis=0), lambda a: np.sort(a, axis=0, kind="stable"),
     [(4, 3)]),
    ("sort_none", lambda x: T.sort(x, axis=None), lambda a: np.sort(a, axis=None), [(2, 3)]),
    ("argsort", lambda x: x.argsort(), lambda a: np.argsort(a, kind="stable"), [(2, 5), (6,)]),
    ("cumsum", lambda x: x.cumsum(), np.cumsum, [(2, 3), (0,)]),
    ("cumsum_axis", lambda x: T.cumsum(x, axis=1), lambda a: np.cumsum(a, axis=1), [(2, 3)]),
    ("cumprod_axis", lambda x: x.cumprod(axis=0), lambda a: np.cumprod(a, axis=0), [(3, 2)]),
    ("diag_matrix", lambda x: T.diag(x), np.diag, [(3, 3), (2, 4), (0, 0)]),
    ("diag_vector", lambda x: T.diag(x), np.diag, [(3,), (0,), (1,)]),
    ("tril", lambda x: S.tril(x), np.tril, [(3, 3), (2, 4), (0, 3)]),
    ("triu_k", lambda x: S.triu(x, k=1), lambda a: np.triu(a, k=1), [(3, 4), (4, 2)]),
    ("tril_neg_k", lambda x: S.tril(x, -1), lambda a: np.tril(a, -1), [(3, 3)]),
    ("identity_like", lambda x: S.identity_like(x), lambda a: np.eye(*a.shape, dtype=a.dtype),
     [(3, 3), (2, 4)]),
]

# ops that do arithmetic on their input are not tested on bool/uint8 (numpy's own rules)
_ARITHMETIC = {"concat_last", "stack0", "cumsum", "cumsum_axis", "cumprod_axis"}


def _cases():
    for name, build, reference, shapes in ROWS:
        for shape in shapes:
            for dtype in ("float64", "int32", "float32", "bool"):
                if dtype == "bool" and name in _ARITHMETIC:
                    continue
                if dtype != "float64" and shape != shapes[0]:
                    continue  # every shape in float64, every dtype on the first shape
                yield pytest.param(build, reference, shape, dtype, id=f"{name}-{shape}-{dtype}")


@pytest.mark.parametrize("build, reference, shape, dtype", list(_cases()))
def test_op_table(build, reference, shape, dtype):
    x = var(dtype, len(shape))
    value = sample(shape, dtype)
    result = run([x], build(x), value)
    expected = reference(value)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype, (result.dtype, expected.dtype)
    np.testing.assert_array_equal(result, expected)


# ---- constructors ------------------------------------------------------------------------

def test_zeros_ones_alloc_static_and_symbolic():
    n = T.lscalar("n")
    zeros, ones = S.zeros((n, 3)), S.ones((2, n), dtype="int32")
    assert zeros.type.shape == (None, 3) and zeros.dtype == theon.config.floatX
    assert S.zeros((2, 3)).type.shape == (2, 3)
    got_zeros, got_ones = run([n], [zeros, ones], 4)
    np.testing.assert_array_equal(got_zeros, np.zeros((4, 3)))
    np.testing.assert_array_equal(got_ones, np.ones((2, 4), dtype="int32"))
    assert got_ones.dtype == np.int32
    assert run([n], S.zeros((n, 3)), 0).shape == (0, 3)
    v = T.vector("v")
    np.testing.assert_array_equal(run([v, n], S.alloc(v, n, 3), np.arange(3.0), 2),
                                  np.tile(np.arange(3.0), (2, 1)))
    assert S.alloc(np.float32(1.5), 2).dtype == "float32"


def test_arange():
    y = T.vector("y")
    n = T.lscalar("n")
    result = run([y], S.arange(y.shape[0]), np.zeros(5))
    np.testing.assert_array_equal(result, np.arange(5))
    assert result.dtype == np.int64
    assert S.arange(5).type.shape == (5,) and S.arange(5).dtype == "int64"
    assert S.arange(0.0, 1.0, 0.25).dtype == theon.config.floatX
    np.testing.assert_allclose(run([n], S.arange(1, n, 2), 8), np.arange(1, 8, 2))
    np.testing.assert_allclose(run([n], S.arange(n, 0, -1), 3), [3, 2, 1])
    np.testing.assert_array_equal(run([n], S.arange(n), 0), np.arange(0))
    d = T.dscalar("d")
    got = run([d], S.arange(0, d, 0.5), 2.0)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.arange(0, 2.0, 0.5))
    assert S.arange(3, dtype="float32").dtype == "float32"


@pytest.mark.parametrize("n, m, k", [(3, None, 0), (2, 4, 1), (4, 2, -1), (0, None, 0)])
def test_eye(n, m, k):
    expected = np.eye(n, m, k)
    assert run([], S.eye(n, m, k)).tolist() == expected.tolist()
    rows = T.lscalar("rows")
    got = run([rows], S.eye(rows, m, k, dtype="int8"), n)
    assert got.dtype == np.int8 and got.tolist() == expected.astype("int8").tolist()


def test_split():
    x = T.matrix("x")
    value = sample((6, 2), "float64")
    parts = run([x], S.split(x, [1, 3, 2], 3), value)
    for got, want in zip(parts, np.split(value, [1, 4])):
        np.testing.assert_array_equal(got, want)
    sizes = T.lvector("sizes")
    parts = run([x, sizes], S.split(x.T, sizes, 2, axis=1), value, np.array([0, 6]))
    assert parts[0].shape == (2, 0)
    np.testing.assert_array_equal(parts[1], value.T)
    with pytest.raises(ValueError, match=r"split: splits_size \(2, 2\).*shape \(6, 2\)"):
        run([x, sizes], S.split(x, sizes, 2), value, np.array([2, 2]))


def test_reshape_to_a_symbolic_vector():
    pytest.importorskip("theon.frontend.indexing")  # entries of a vector are read by index
    x = T.tensor3("x")
    target = T.lvector("target")
    value = sample((2, 3, 4), "float64")
    got, zeros = run([x, target], [S.reshape(x, target, ndim=2), S.zeros(x.shape[1:])],
                     value, np.array([4, 6]))
    np.testing.assert_array_equal(got, value.reshape(4, 6))
    assert zeros.shape == (3, 4)


def test_repeat_tile_roll_symbolic():
    x = T.vector("x")
    counts = T.lvector("counts")
    shift = T.lscalar("shift")
    value = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(run([x, counts], T.repeat(x, counts), value,
                                      np.array([0, 2, 1])), [2.0, 2.0, 3.0])
    np.testing.assert_array_equal(run([x], x.repeat([1, 0, 2]), value), [1.0, 3.0, 3.0])
    np.testing.assert_array_equal(run([x, shift], T.roll(x, shift), value, 4),
                                  np.roll(value, 4))
    assert T.tile(x, 2).type.ndim == 1


def test_cumsum_dtype_follows_numpy():
    for dtype in ("int8", "uint8", "bool", "float32"):
        x = var(dtype, 1)
        value = sample((5,), dtype)
        result = run([x], T.cumsum(x), value)
        assert result.dtype == np.cumsum(value).dtype
        np.testing.assert_array_equal(result, np.cumsum(value))


def test_squeeze_drops_broadcastable():
    x = T.tensor("float64", shape=(None, 1, 3, 1), name="x")
    y = x.squeeze()
    assert y.type.shape == (None, 3)
    value = sample((2, 1, 3, 1), "float64")
    np.testing.assert_array_equal(run([x], y, value), value.squeeze())


# ---- static shapes -----------------------------------------------------------------------

def test_static_shapes_are_derived():
    x = T.tensor("float32", shape=(2, None, 4), name="x")
    assert x.T.type.shape == (4, None, 2)
    assert x.reshape((-1,)).type.shape == (None,)
    assert S.reshape(T.tensor("float32", shape=(2, 3, 4)), (4, -1)).type.shape == (4, 6)
    assert x.reshape((x.shape[0], -1)).type.shape == (2, None)
    assert x.dimshuffle("x", 2, 0, 1).type.broadcastable == (True, False, False, False)
    assert S.concatenate([x, x], axis=0).type.shape == (4, None, 4)
    assert S.stack([x, x], axis=1).type.shape == (2, 2, None, 4)
    assert S.zeros_like(x).type.shape == (2, None, 4)
    assert S.eye(3, 2).type.shape == (3, 2)
    assert T.diag(T.tensor("float32", shape=(3,))).type.shape == (3, 3)


def test_constant_graph_folds():
    f = theon.function([], S.zeros((2, 3)) + S.arange(3))
    np.testing.assert_array_equal(f(), np.zeros((2, 3)) + np.arange(3))


# ---- hypothesis --------------------------------------------------------------------------

small_shapes = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


@given(shape=small_shapes, data=st.data())
def test_reshape_property(shape, data):
    size = int(np.prod(shape))
    value = np.arange(size, dtype="float64").reshape(shape)
    target = list(data.draw(st.permutations(shape)))
    if target and size:
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    x = var("float64", len(shape))
    result = run([x], x.reshape(tuple(target)), value)
    np.testing.assert_array_equal(result, value.reshape(target))


@given(shape=small_shapes, data=st.data())
def test_transpose_and_dimshuffle_property(shape, data):
    value = np.arange(int(np.prod(shape)), dtype="float64").reshape(shape)
    axes = data.draw(st.permutations(range(len(shape))))
    pattern = list(axes)
    for _ in range(data.draw(st.integers(0, 2))):
        pattern.insert(data.draw(st.integers(0, len(pattern))), "x")
    x = var("float64", len(shape))
    transposed, shuffled = run([x], [x.transpose(*axes), x.dimshuffle(*pattern)], value)
    np.testing.assert_array_equal(transposed, value.transpose(axes))
    expected = value.transpose(axes).reshape(
        [1 if entry == "x" else value.shape[entry] for entry in pattern])
    np.testing.assert_array_equal(shuffled, expected)


@given(shape=st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple),
       lengths=st.lists(st.integers(0, 3), min_size=1, max_size=3), data=st.data())
def test_concatenate_property(shape, lengths, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    values = []
    for index, length in enumerate(lengths):
        piece = list(shape)
        piece[axis] = length
        values.append(sample(tuple(piece), "float64", seed=index))
    xs = [var("float64", len(shape), f"x{i}") for i in range(len(values))]
    result = run(xs, S.concatenate(xs, axis=axis), *values)
    np.testing.assert_array_equal(result, np.concatenate(values, axis=axis))


# ---- views, kernels and memory -----------------------------------------------------------

def test_transposed_view_read_in_place_by_kernel():
    x = T.matrix("x")
    y = T.tensor3("y")
    value = sample((3, 5), "float64")
    cube = sample((2, 3, 4), "float64")
    f = theon.function([x, y], [(x.T + 1) * 2, y.dimshuffle(2, 0, 1) * 3])
    got, got_cube = f(value, cube)
    np.testing.assert_allclose(got, (value.T + 1) * 2)
    np.testing.assert_allclose(got_cube, cube.transpose(2, 0, 1) * 3)
    # the kernels read the transposed views through their strides (the strided variant),
    # not from C-contiguous copies
    kernels = [call for call in f._executable.calls if hasattr(call, "step")]
    assert kernels and all(call.step.kernel.strided for call in kernels)
    np.testing.assert_allclose(f(value, cube)[0], (value.T + 1) * 2)
    np.testing.assert_allclose((x.T.flatten() * x.flatten()).eval({x: value}),
                               value.T.ravel() * value.ravel())


@pytest.mark.parametrize("build", [lambda x: x.T, lambda x: x.reshape((-1,)),
                                   lambda x: x.dimshuffle(0, "x", 1),
                                   lambda x: S.split(x, [1, 2], 2)[1],
                                   lambda x: x.reshape((x.shape[0], 3))],
                         ids=["T", "reshape", "dimshuffle", "split", "reshape_same"])
def test_view_output_is_not_input_memory(build):
    x = T.matrix("x")
    value = sample((3, 3), "float64")
    result = theon.function([x], build(x))(value)
    assert not np.shares_memory(result, value)
    result[...] = 0  # writable, and the input is untouched
    assert value.any()


# ---- errors ------------------------------------------------------------------------------

def test_concatenate_static_mismatch_names_both_shapes():
    a = T.tensor("float64", shape=(2, 3))
    b = T.tensor("float64", shape=(2, 4))
    with pytest.raises(ShapeError, match=r"join\(axis=0\): input 1 .*\(2, 4\).*\(2, 3\)"):
        S.concatenate([a, b])
    with pytest.raises(ShapeError, match="rank"):
        S.concatenate([a, T.vector()])


def test_concatenate_runtime_mismatch_names_both_shapes():
    a, b = T.matrix("a"), T.matrix("b")
    f = theon.function([a, b], S.concatenate([a, b], axis=1))
    with pytest.raises(ValueError, match=r"join\(axis=1\): input 1 has shape \(3, 2\).*"
                                         r"\(2, 2\)"):
        f(np.zeros((2, 2)), np.zeros((3, 2)))


def test_reshape_wrong_size():
    x = T.tensor("float64", shape=(2, 3))
    with pytest.raises(ShapeError, match=r"reshape: .*\(2, 3\).*\(4, 2\)"):
        x.reshape((4, 2))
    with pytest.raises(ShapeError, match=r"reshape: .*\(2, 3\).*\(4, -1\)"):
        x.reshape((4, -1))
    m = T.matrix("m")
    f = theon.function([m], m.reshape((4, 2)))
    with pytest.raises(ValueError, match=r"reshape: .*shape \(2, 3\).*\(4, 2\)"):
        f(np.zeros((2, 3)))
    n = T.lscalar("n")
    g = theon.function([m, n], m.reshape((n, -1)))
    with pytest.raises(ValueError, match=r"reshape: .*shape \(2, 3\).*\(4, -1\)"):
        g(np.zeros((2, 3)), 4)
    with pytest.raises(ShapeError, match="more than one -1"):
        m.reshape((-1, -1))


def test_dimshuffle_cannot_drop_non_broadcastable():
    x = T.matrix("x")
    with pytest.raises(ShapeError, match=r"dimshuffle\{0\}: cannot drop dimension 1 of the "
                                         r"input of shape \(\?, \?\).*shape \(\?,\)"):
        x.dimshuffle(0)
    row = T.row("row")
    assert row.dimshuffle(1).type.ndim == 1
    with pytest.raises(ShapeError, match="appears twice"):
        x.dimshuffle(0, 0)
    with pytest.raises(ShapeError, match="out of range"):
        x.dimshuffle(0, 2)


def test_other_errors():
    x = T.matrix("x")
    with pytest.raises(ValueError, match="not a permutation"):
        S.transpose(x, (0, 0))
    with pytest.raises(ShapeError, match="arange: step is 0"):
        S.arange(0, 5, 0)
    with pytest.raises(ShapeError, match=r"split: splits_size \(1, 1\) sums to 2.*3"):
        S.split(T.tensor("float64", shape=(3,)), [1, 1], 2)
    with pytest.raises(ShapeError, match=r"alloc: .*\(3,\).*\(2, 2\)"):
        S.alloc(T.tensor("float64", shape=(3,)), 2, 2)
    with pytest.raises(TypeError, match="integer"):
        S.zeros((T.dscalar(), 2))
    v = T.vector("v")
    with pytest.raises(ValueError, match=r"alloc: value of shape \(3,\).*\(2, 2\)"):
        theon.function([v], S.alloc(v, 2, 2))(np.zeros(3))


# ---- the namespace -----------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(T, "reshape"),
                    reason="re-exports not yet added to theon/tensor/__init__.py")
def test_tensor_namespace_exports():
    for name, function in S.FUNCTIONS.items():
        assert getattr(T, name) is function, name


# ---- addbroadcast / unbroadcast / patternbroadcast -------------------------------------------

def test_addbroadcast_lets_a_length_one_axis_broadcast_and_be_dropped():
    x, row = var("float64", 2), var("float64", 2, "row")
    pinned = T.addbroadcast(row, 0)
    assert pinned.broadcastable == (True, False)
    f = theon.function([x, row], [x + pinned, pinned.dimshuffle(1)])
    a, b = sample((3, 4), "float64"), sample((1, 4), "float64", 1)
    total, flat = f(a, b)
    np.testing.assert_array_equal(total, a + b)
    np.testing.assert_array_equal(flat, b[0])
    with pytest.raises(ShapeError, match=r"^rebroadcast\{0:x\}: axis 0 of the input \(shape "
                                         r"\(3, 4\)\) has length 3; declared broadcastable, "
                                         r"it must be 1$"):
        f(a, a)


def test_unbroadcast_and_patternbroadcast():
    column = T.tensor("float64", shape=(None, 1), name="c")
    assert T.unbroadcast(column, 1).broadcastable == (False, False)
    assert T.patternbroadcast(column, (True, False)).broadcastable == (True, False)
    plain = var("float64", 2)
    assert T.unbroadcast(plain, 0) is plain  # nothing to change: no op
    with pytest.raises(ShapeError, match=r"^rebroadcast\{1:x\}: axis 1 has static length 3; "
                                         r"only a length of 1 can be broadcastable$"):
        T.addbroadcast(T.tensor("float64", shape=(2, 3)), 1)
    with pytest.raises(ValueError, match=r"^patternbroadcast: the pattern \(True,\) has 1 "
                                         r"entries; the tensor has rank 2$"):
        T.patternbroadcast(column, (True,))


def test_rebroadcast_gradient_keeps_the_input_pattern():
    row = var("float64", 2, "row")
    cost = T.sum(T.addbroadcast(row, 0) * np.arange(6.0).reshape(2, 3))
    grad = T.grad(cost, row)
    assert grad.broadcastable == (False, False)
    got = theon.function([row], grad)(np.ones((1, 3)))
    np.testing.assert_array_equal(got, [[3.0, 5.0, 7.0]])
