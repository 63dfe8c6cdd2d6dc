"""Pooling (``theon.tensor.signal.pool``: pool_2d, pool_3d, max_pool_2d_same_size) against a
reference written as plain loops over output positions, following Theano 1.0's CPU
``Pool.perform``: every mode, ignore_border True and False with ragged edges, strides
below, equal to and above the window, padding, ranks 2 to 5, float and integer dtypes,
empty batches and non-contiguous inputs; shapes drawn by hypothesis; gradients against
central differences, Theano's tie convention, gradients of gradients, static shapes, the
deprecated argument names and the errors."""
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import theon
import theon.tensor as T
from theon import ShapeError
from theon.gradient import verify_grad
from theon.ir import Node
from theon.ir.ops.pool import AveragePoolGrad, MaxPoolGrad, MaxPoolGradGrad, Pool
from theon.tensor.signal import pool

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


# ---- the reference ------------------------------------------------------------------------

def reference_length(length, window, stride, pad, ignore_border):
    """Theano 1.0's ``Pool.out_shape`` along one axis."""
    padded = length + 2 * pad
    if ignore_border:
        return max((padded - window) // stride + 1, 0)
    if stride >= window:
        return (padded - 1) // stride + 1
    return max(0, (padded - 1 - window + stride) // stride) + 1


def reference_windows(lengths, ws, stride, pad, ignore_border):
    """For each output position: the input positions in its window and the window's size
    clipped to the padded input (average_inc_pad's divisor)."""
    counts = [reference_length(*args, ignore_border) for args in zip(lengths, ws, stride, pad)]
    windows = {}
    for position in np.ndindex(*counts):
        ranges, size = [], 1
        for j, length, window, step, margin in zip(position, lengths, ws, stride, pad):
            start = j * step - margin           # in the input's coordinates
            end = start + window
            size *= min(end, length + margin) - start
            ranges.append(range(max(start, 0), min(end, length)))
        windows[position] = (list(itertools.product(*ranges)), size)
    return counts, windows


def reference_pool(x, ws, stride=None, pad=None, ignore_border=True, mode="max"):
    """Pooling by loops over every leading index and every output position."""
    count = len(ws)
    stride = ws if stride is None else stride
    pad = (0,) * count if pad is None else pad
    lead = x.shape[:-count]
    counts, windows = reference_windows(x.shape[-count:], ws, stride, pad, ignore_border)
    out = np.zeros(lead + tuple(counts), dtype=x.dtype)
    for index in np.ndindex(*lead):
        for position, (points, size) in windows.items():
            values = [x[index + point].item() for point in points]
            if mode == "max":
                out[index + position] = max(values)
            elif mode == "sum":
                out[index + position] = sum(values)
            elif mode == "average_inc_pad":
                out[index + position] = sum(values) / size
            else:
                out[index + position] = sum(values) / len(values)
    return out


def reference_max_winners(x, ws, stride, pad, ignore_border):
    """How many windows each element is the maximum of (ties: all of them)."""
    count = len(ws)
    _, windows = reference_windows(x.shape[-count:], ws, stride, pad, ignore_border)
    wins = np.zeros(x.shape)
    for index in np.ndindex(*x.shape[:-count]):
        for points, _ in windows.values():
            best = max(x[index + point] for point in points)
            for point in points:
                wins[index + point] += x[index + point] == best
    return wins


# ---- helpers ------------------------------------------------------------------------------

def sample(shape, dtype, seed=0, distinct=False):
    """Values of ``shape``: small integers for integer dtypes (no overflow in a sum),
    well-separated distinct floats when ``distinct`` (no ties in a maximum)."""
    rng = np.random.default_rng(seed)
    if dtype.startswith(("int", "uint")):
        return rng.integers(-9 if dtype.startswith("int") else 0, 10, size=shape).astype(dtype)
    if distinct:
        size = int(np.prod(shape))
        return (rng.permutation(size).reshape(shape) * 0.25 - size / 8).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def pool_function(count):
    return pool.pool_2d if count == 2 else pool.pool_3d


def compiled_pool(dtype, ndim, **arguments):
    count = len(arguments["ws"])
    x = T.tensor(dtype, shape=(None,) * ndim, name="x")
    return theon.function([x], pool_function(count)(x, **arguments))


def assert_matches_reference(x, **arguments):
    got = compiled_pool(x.dtype.name, x.ndim, **arguments)(x)
    expected = reference_pool(x, **arguments)
    assert got.dtype == x.dtype and got.shape == expected.shape
    tolerance = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


# ---- values against the reference ---------------------------------------------------------
# id, input shape, ws, stride, pad, ignore_border

GEOMETRIES = [
    ("rank2_tiles", (4, 6), (2, 2), None, None, True),
    ("rank3_ragged", (3, 5, 7), (2, 3), None, None, False),
    ("rank3_ragged_cut", (3, 5, 7), (2, 3), None, None, True),
    ("stride_below_ws", (2, 3, 5, 7), (3, 2), (1, 1), None, True),
    ("stride_below_ws_ragged", (2, 3, 5, 7), (3, 2), (1, 1), None, False),
    ("stride_above_ws", (2, 1, 7, 6), (2, 2), (3, 4), None, True),
    ("stride_above_ws_ragged", (2, 1, 7, 6), (2, 2), (3, 4), None, False),
    ("window_above_input", (1, 2, 2, 3), (3, 4), (2, 1), None, False),
    ("padding", (2, 2, 6, 5), (3, 3), (2, 2), (1, 2), True),
    ("padding_overlapping", (1, 2, 4, 5), (3, 2), (1, 1), (2, 1), True),
    ("rank5", (2, 1, 2, 5, 4), (2, 2), (1, 2), (1, 1), True),
    ("empty_batch", (0, 3, 5, 5), (2, 2), None, None, False),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, shape, ws, stride, pad, ignore_border", GEOMETRIES,
                         ids=[row[0] for row in GEOMETRIES])
def test_pool_2d_matches_reference(name, shape, ws, stride, pad, ignore_border, mode):
    x = sample(shape, "float64", seed=len(name))
    assert_matches_reference(x, ws=ws, stride=stride, pad=pad or (0, 0),
                             ignore_border=ignore_border, mode=mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_other_dtypes_match_reference(dtype, mode):
    # an integer average is truncated to the input's dtype, as Theano's perform does
    x = sample((2, 5, 7), dtype, seed=3)
    assert_matches_reference(x, ws=(2, 3), stride=(2, 2), ignore_border=False, mode=mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ignore_border, pad", [(True, (1, 0, 1)), (False, (0, 0, 0))])
def test_pool_3d_matches_reference(mode, ignore_border, pad):
    x = sample((2, 4, 5, 3), "float64", seed=5)
    assert_matches_reference(x, ws=(2, 3, 2), stride=(2, 1, 2), pad=pad,
                             ignore_border=ignore_border, mode=mode)
    assert_matches_reference(x[None], ws=(2, 3, 2), stride=(2, 1, 2), pad=pad,
                             ignore_border=ignore_border, mode=mode)


@given(data=st.data())
def test_any_geometry_matches_reference(data):
    count = data.draw(st.sampled_from([2, 3]), label="pooled axes")
    lead = data.draw(st.lists(st.integers(0, 2), max_size=2), label="leading shape")
    lengths = data.draw(st.lists(st.integers(1, 6), min_size=count, max_size=count))
    ws = tuple(data.draw(st.lists(st.integers(1, 4), min_size=count, max_size=count)))
    stride = tuple(data.draw(st.lists(st.integers(1, 4), min_size=count, max_size=count)))
    ignore_border = data.draw(st.booleans(), label="ignore_border")
    pad = (0,) * count
    if ignore_border:
        pad = tuple(data.draw(st.integers(0, window - 1)) for window in ws)
    mode = data.draw(st.sampled_from(MODES), label="mode")
    dtype = data.draw(st.sampled_from(["float64", "float32", "int16"]), label="dtype")
    x = sample(tuple(lead) + tuple(lengths), dtype, seed=len(lead))
    assert_matches_reference(x, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border,
                             mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_non_contiguous_inputs(mode):
    base = sample((3, 8, 9), "float64", seed=7)
    arguments = dict(ws=(2, 3), stride=(1, 2), pad=(1, 1), ignore_border=True, mode=mode)
    function = compiled_pool("float64", 3, **arguments)
    op = Pool((2, 3), (1, 2), (1, 1), True, mode)
    for view in (base[:, ::2, 1::2], base.transpose(0, 2, 1), base[::-1, :, ::-1]):
        expected = reference_pool(view, **arguments)
        np.testing.assert_allclose(function(view), expected, rtol=1e-12)
        np.testing.assert_allclose(op.impl(view), expected, rtol=1e-12)


def test_empty_windows_of_an_empty_axis():
    # a pooled axis of length 0 with ignore_border=False and stride < ws has one window
    # (Theano's out_shape) that holds no element: max gives the lowest value, sums 0
    x = np.zeros((2, 0, 3))
    arguments = dict(ws=(2, 1), stride=(1, 1), ignore_border=False)
    expected = {"max": -np.inf, "sum": 0.0, "average_inc_pad": 0.0, "average_exc_pad": 0.0}
    for mode, value in expected.items():
        got = compiled_pool("float64", 3, mode=mode, **arguments)(x)
        np.testing.assert_array_equal(got, np.full((2, 1, 3), value))


def test_max_pool_2d_same_size_keeps_the_maxima():
    x = T.dmatrix("x")
    function = theon.function([x], pool.max_pool_2d_same_size(x, (2, 2)))
    value = np.array([[1.0, 4.0, 2.0, 2.0, 9.0],
                      [3.0, 0.0, 2.0, 1.0, 8.0],
                      [5.0, 6.0, 7.0, 0.0, 1.0]])
    expected = np.array([[0.0, 4.0, 2.0, 2.0, 0.0],
                         [0.0, 0.0, 2.0, 0.0, 0.0],
                         [0.0, 0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(function(value), expected)


# ---- gradients ----------------------------------------------------------------------------
# id, input shape, ws, stride, pad, ignore_border

GRADIENT_GEOMETRIES = [
    ("tiles", (2, 4, 6), (2, 2), None, (0, 0), True),
    ("ragged_overlapping", (1, 2, 5, 4), (3, 2), (2, 1), (0, 0), False),
    ("stride_above_ws_ragged", (2, 5, 7), (2, 2), (3, 4), (0, 0), False),
    ("padding", (2, 5, 4), (3, 2), (2, 1), (1, 1), True),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, shape, ws, stride, pad, ignore_border", GRADIENT_GEOMETRIES,
                         ids=[row[0] for row in GRADIENT_GEOMETRIES])
def test_gradient_matches_central_differences(name, shape, ws, stride, pad, ignore_border,
                                              mode):
    point = sample(shape, "float64", seed=len(name), distinct=True)

    def pooled(x):
        return pool.pool_2d(x, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border,
                            mode=mode)

    verify_grad(pooled, [point], rng=np.random.RandomState(len(name)))


@pytest.mark.parametrize("mode", MODES)
def test_pool_3d_gradient_matches_central_differences(mode):
    point = sample((1, 3, 4, 3), "float64", seed=11, distinct=True)

    def pooled(x):
        return pool.pool_3d(x, ws=(2, 2, 2), stride=(1, 2, 1), pad=(1, 0, 1),
                            ignore_border=True, mode=mode)

    verify_grad(pooled, [point], rng=np.random.RandomState(11))


@pytest.mark.parametrize("mode", MODES)
def test_gradient_of_gradient_matches_central_differences(mode):
    point = sample((2, 5, 4), "float64", seed=13, distinct=True)

    def gradient(x):
        pooled = pool.pool_2d(x, ws=(2, 3), stride=(2, 1), pad=(1, 1), ignore_border=True,
                              mode=mode)
        return T.grad(T.sum(pooled ** 2), x)

    verify_grad(gradient, [point], rng=np.random.RandomState(13))


@pytest.mark.parametrize("ignore_border, stride", [(True, (2, 2)), (False, (1, 2))])
def test_max_gradient_of_gradient_closed_form(ignore_border, stride):
    # g = grad(sum(y**2)) is 2 * x_c * k_c at an element that is the maximum of k_c windows,
    # so grad(sum(g**2)) = 8 * x_c * k_c**2
    x = T.dtensor3("x")
    pooled = pool.pool_2d(x, ws=(2, 2), stride=stride, ignore_border=ignore_border)
    first = T.grad(T.sum(pooled ** 2), x)
    second = theon.function([x], T.grad(T.sum(first ** 2), x))
    value = sample((2, 5, 5), "float64", seed=17, distinct=True)
    wins = reference_max_winners(value, (2, 2), stride, (0, 0), ignore_border)
    np.testing.assert_allclose(second(value), 8 * value * wins ** 2, rtol=1e-12)


def test_max_gradient_goes_to_every_tie():
    # Theano's MaxPoolGrad: every element equal to its window's maximum gets the window's
    # gradient, and an element that is the maximum of several windows gets their sum
    x = T.dmatrix("x")
    weights = T.dmatrix("weights")
    tiles = pool.pool_2d(x, ws=(2, 2), ignore_border=True)
    overlapping = pool.pool_2d(x, ws=(1, 2), stride=(1, 1), ignore_border=True)
    tile_grad = theon.function([x], T.grad(T.sum(tiles), x))
    overlap_grad = theon.function([x, weights], T.grad(T.sum(overlapping * weights), x))
    np.testing.assert_array_equal(tile_grad(np.array([[3.0, 3.0], [1.0, 3.0]])),
                                  [[1.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(
        overlap_grad(np.array([[0.0, 5.0, 5.0, 1.0]]), np.array([[1.0, 10.0, 100.0]])),
        [[0.0, 11.0, 110.0, 0.0]])


def test_integer_input_has_no_gradient():
    x = T.imatrix("x")
    pooled = pool.pool_2d(x, ws=(2, 2), ignore_border=True, mode="sum")
    assert Pool((2, 2), (2, 2), (0, 0), True, "sum").vjp(pooled.node, pooled.node) == (None,)
    gradient = theon.function([x], T.grad(T.sum(pooled * 1.5), x))
    np.testing.assert_array_equal(gradient(np.arange(16, dtype="int32").reshape(4, 4)), 0)


def test_gradient_ops_read_non_contiguous_inputs():
    base = sample((3, 9, 8), "float64", seed=19, distinct=True)
    x = base.transpose(0, 2, 1)[:, ::-1]
    parameters = ((2, 3), (1, 2), (1, 1), True)
    maxout = Pool(*parameters, "max").impl(x)
    gz = np.ones_like(maxout)[..., ::-1]
    expected = reference_max_winners(x, (2, 3), (1, 2), (1, 1), True)
    np.testing.assert_array_equal(MaxPoolGrad(*parameters).impl(x, maxout, gz), expected)
    np.testing.assert_array_equal(MaxPoolGradGrad(*parameters).impl(x, maxout, x[:, :, :]),
                                  maxout)
    summed = AveragePoolGrad(*parameters, "sum").impl(x, gz)
    np.testing.assert_array_equal(summed, reference_max_winners(np.zeros(x.shape), *parameters))


# ---- static shapes ------------------------------------------------------------------------

@pytest.mark.parametrize("shape, arguments, expected", [
    ((2, 3, 5, 7), dict(ws=(2, 2), ignore_border=True), (2, 3, 2, 3)),
    ((2, 3, 5, 7), dict(ws=(2, 2), ignore_border=False), (2, 3, 3, 4)),
    ((None, 3, 5, None), dict(ws=(3, 2), stride=(1, 1), ignore_border=False), (None, 3, 3, None)),
    ((4, 6), dict(ws=(3, 3), stride=(2, 2), pad=(1, 2), ignore_border=True), (2, 4)),
    ((1, 1, 1), dict(ws=(2, 2), ignore_border=True), (1, 0, 0)),
])
def test_static_shape(shape, arguments, expected):
    x = T.tensor("float32", shape=shape)
    pooled = pool.pool_2d(x, **arguments)
    assert pooled.type.shape == expected and pooled.dtype == "float32"
    gradient = T.grad(T.sum(pooled), x)
    assert gradient.type.shape == shape


def test_pool_3d_static_shape():
    x = T.tensor("float64", shape=(2, 6, 5, 4, 3))
    pooled = pool.pool_3d(x, ws=(2, 2, 2), stride=(2, 1, 3), ignore_border=False)
    assert pooled.type.shape == (2, 6, 3, 3, 1)


# ---- Theano's argument conventions --------------------------------------------------------

def test_namespace_imports():
    import theon.tensor.signal.pool as module
    assert module.pool_2d is pool.pool_2d and module.pool_3d is pool.pool_3d


def test_unset_ignore_border_warns_and_is_false():
    x = T.dmatrix("x")
    with pytest.warns(UserWarning, match=r"pool_2d\(\) will have the parameter ignore_border "
                                         r"default value changed to True \(currently False\)"):
        unset = pool.pool_2d(x, ws=(2, 2))
    assert unset.node is pool.pool_2d(x, ws=(2, 2), ignore_border=False).node


def test_deprecated_names_warn_and_mean_the_new_ones():
    x = T.dtensor3("x")
    expected = pool.pool_2d(x, ws=(2, 3), stride=(1, 2), pad=(1, 1), ignore_border=True)
    with pytest.warns(DeprecationWarning) as record:
        old = pool.pool_2d(x, ds=(2, 3), st=(1, 2), padding=(1, 1), ignore_border=True)
    assert old.node is expected.node
    assert [str(w.message) for w in record] == [
        f"DEPRECATION: the '{old}' parameter is not going to exist anymore as it is going "
        f"to be replaced by the parameter '{new}'."
        for old, new in (("ds", "ws"), ("st", "stride"), ("padding", "pad"))]


def test_mode_aliases():
    x = T.dmatrix("x")
    arguments = dict(ws=(2, 2), ignore_border=True)
    assert pool.pool_2d(x, mode="max_deterministic", **arguments).node is \
        pool.pool_2d(x, mode="max", **arguments).node
    assert pool.pool_2d(x, mode="average", **arguments).node is \
        pool.pool_2d(x, mode="average_inc_pad", **arguments).node


def test_input_may_be_an_array():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pooled = pool.pool_2d(np.arange(16.0).reshape(4, 4), ws=(2, 2), ignore_border=True)
    np.testing.assert_array_equal(pooled.eval(), [[5.0, 7.0], [13.0, 15.0]])


# ---- errors -------------------------------------------------------------------------------

BAD_CALLS = [
    ("rank", NotImplementedError,
     r"^pool_2d: input 0 \(input 'v'\) has rank 1; expected rank >= 2 \(the last 2 axes are "
     r"pooled\)$", lambda v, m, t: pool.pool_2d(v, ws=(2, 2), ignore_border=True)),
    ("rank_3d", NotImplementedError,
     r"^pool_3d: input 0 \(input 'm'\) has rank 2; expected rank >= 3",
     lambda v, m, t: pool.pool_3d(m, ws=(2, 2, 2), ignore_border=True)),
    ("mode", ValueError,
     r"^pool_2d: mode 'median'; expected one of 'max', 'sum', 'average_inc_pad', "
     r"'average_exc_pad', 'max_deterministic', 'average'$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2), ignore_border=True, mode="median")),
    ("pad_not_below_ws", NotImplementedError,
     r"^pool_2d: pad\[1\] is 2; expected a pad smaller than the window, ws\[1\] = 2$",
     lambda v, m, t: pool.pool_2d(m, ws=(3, 2), pad=(1, 2), ignore_border=True)),
    ("pad_without_ignore_border", NotImplementedError,
     r"^pool_2d: pad \(1, 0\) with ignore_border=False; expected ignore_border=True when "
     r"padding$", lambda v, m, t: pool.pool_2d(m, ws=(2, 2), pad=(1, 0), ignore_border=False)),
    ("ws_length", ValueError,
     r"^pool_2d: ws \(2, 2, 2\) has 3 entries; expected 2, one per pooled axis$",
     lambda v, m, t: pool.pool_2d(t, ws=(2, 2, 2), ignore_border=True)),
    ("stride_length_3d", ValueError,
     r"^pool_3d: stride \(1, 1\) has 2 entries; expected 3, one per pooled axis$",
     lambda v, m, t: pool.pool_3d(t, ws=(2, 2, 2), stride=(1, 1), ignore_border=True)),
    ("ws_float", TypeError, r"^pool_2d: ws\[1\] is float 2.0; expected an int$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2.0), ignore_border=True)),
    ("ws_int", TypeError, r"^pool_2d: ws is int 2; expected a tuple of 2 ints$",
     lambda v, m, t: pool.pool_2d(m, ws=2, ignore_border=True)),
    ("ws_symbolic", TypeError, r"^pool_2d: ws is the symbolic v; expected a tuple of 2 ints "
     r"known while building the graph$", lambda v, m, t: pool.pool_2d(m, ws=v,
                                                                       ignore_border=True)),
    ("ws_zero", ValueError, r"^pool_2d: ws\[0\] is 0; expected an int >= 1$",
     lambda v, m, t: pool.pool_2d(m, ws=(0, 2), ignore_border=True)),
    ("stride_zero", ValueError, r"^pool_2d: stride\[1\] is 0; expected an int >= 1$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2), stride=(1, 0), ignore_border=True)),
    ("pad_negative", ValueError, r"^pool_2d: pad\[0\] is -1; expected an int >= 0$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2), pad=(-1, 0), ignore_border=True)),
    ("no_ws", ValueError, r"^pool_2d: no window size; expected ws, a tuple of 2 ints$",
     lambda v, m, t: pool.pool_2d(m, ignore_border=True)),
    ("ws_and_ds", ValueError, r"^pool_2d: both ws=\(2, 2\) and its deprecated alias "
     r"ds=\(3, 3\) given; expected only ws$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2), ds=(3, 3), ignore_border=True)),
    ("pad_and_padding", ValueError, r"^pool_2d: both pad=\(1, 1\) and its deprecated alias "
     r"padding=\(1, 1\) given; expected only pad$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2), pad=(1, 1), padding=(1, 1),
                                  ignore_border=True)),
    ("ignore_border_type", TypeError,
     r"^pool_2d: ignore_border is str 'yes'; expected True or False$",
     lambda v, m, t: pool.pool_2d(m, ws=(2, 2), ignore_border="yes")),
]


@pytest.mark.parametrize("name, error, message, call", BAD_CALLS,
                         ids=[row[0] for row in BAD_CALLS])
def test_bad_arguments(name, error, message, call):
    v, m, t = T.dvector("v"), T.dmatrix("m"), T.dtensor3("t")
    with pytest.raises(error, match=message):
        call(v, m, t)


def test_ir_type_rules():
    vector, matrix = T.dvector("v").node, T.dmatrix("m").node
    op = Pool((2, 2), (2, 2), (0, 0), True, "max")
    with pytest.raises(ShapeError, match=r"^pool: input has rank 1 \(shape \(\?\)\); expected "
                                         r"at least 2, one axis per window length$"):
        Node.make(op, (vector,))
    with pytest.raises(ValueError, match=r"^pool: mode 'mean'; expected one of 'max', 'sum', "
                                         r"'average_inc_pad', 'average_exc_pad'$"):
        Node.make(Pool((2, 2), (2, 2), (0, 0), True, "mean"), (matrix,))
    wrong = T.tensor("float64", shape=(None, 3)).node
    grad_op = MaxPoolGrad((2, 2), (2, 2), (0, 0), True)
    shaped = T.tensor("float64", shape=(4, 4)).node
    with pytest.raises(ShapeError, match=r"^max_pool_grad: gz has shape \(\?, 3\); expected "
                                         r"\(2, 2\)$"):
        Node.make(grad_op, (shaped, Node.make(op, (shaped,)), wrong))


def test_gradient_op_checks_run_time_shapes():
    grad_op = MaxPoolGrad((2, 2), (2, 2), (0, 0), True)
    x = np.zeros((4, 4))
    with pytest.raises(ShapeError, match=r"^max_pool_grad: gz has shape \(1, 2\); expected the "
                                         r"pooled shape \(2, 2\)$"):
        grad_op.impl(x, np.zeros((2, 2)), np.zeros((1, 2)))


def test_theano_0_7_downsample_module():
    from theon.tensor.signal import downsample
    x = sample((2, 3, 5, 7), "float64", seed=9)
    xs = T.tensor4("x")
    f = theon.function([xs], downsample.max_pool_2d(xs, (2, 3), ignore_border=False,
                                                    st=(1, 2), mode="average_exc_pad"))
    np.testing.assert_allclose(f(x), reference_pool(x, ws=(2, 3), stride=(1, 2), pad=(0, 0),
                                                    ignore_border=False,
                                                    mode="average_exc_pad"), rtol=1e-12)
