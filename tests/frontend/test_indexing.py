"""numpy-style indexing (``x[...]``) and ``set_subtensor``/``inc_subtensor``, checked
against numpy through ``theon.function``: values, dtypes, static shapes, errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theon
import theon.tensor as T
from theon.frontend.indexing import inc_subtensor, set_subtensor
from theon.ir import DTypeError, ShapeError, serialize
from theon.ir.ops.indexing import AdvancedSubtensor, IncSubtensor, Subtensor

RNG = np.random.default_rng(0)


def _tensor(dtype, shape):
    """An input of ``dtype`` with static shape ``shape`` (None: unknown)."""
    return T.TensorType(dtype, shape=shape)("x")


def _consistent(static, actual):
    """Whether a static shape agrees with a run-time one (None matches any length)."""
    return len(static) == len(actual) and all(s is None or s == a
                                              for s, a in zip(static, actual))


# ---- basic indexing ---------------------------------------------------------------------

@st.composite
def _basic_cases(draw):
    """(shape, index, which parts are symbolic): ints, slices (negative steps), None, ..."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    ellipsis = draw(st.booleans())
    before = draw(st.integers(0, ndim))
    after = draw(st.integers(0, ndim - before)) if ellipsis else 0
    axes = list(range(before)) + list(range(ndim - after, ndim))
    items = []
    for axis in axes:
        length = shape[axis]
        if length and draw(st.booleans()):
            items.append(draw(st.integers(-length, length - 1)))
            continue
        bound = st.none() | st.integers(-length - 2, length + 2)
        step = st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3])
        items.append(slice(draw(bound), draw(bound), draw(step)))
    if ellipsis:
        items.insert(before, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    symbolic = draw(st.booleans())
    return shape, tuple(items), symbolic


def _symbolic_index(index):
    """``index`` with every int (and slice part) replaced by an lscalar input: the index,
    the inputs and their values."""
    inputs, values = [], []

    def make(value):
        if value is None:
            return None
        variable = T.lscalar(f"i{len(inputs)}")
        inputs.append(variable)
        values.append(value)
        return variable

    items = []
    for item in index:
        if isinstance(item, int):
            items.append(make(item))
        elif isinstance(item, slice):
            items.append(slice(make(item.start), make(item.stop), make(item.step)))
        else:
            items.append(item)
    return tuple(items), inputs, values


@given(_basic_cases())
def test_basic_indexing_matches_numpy(case):
    shape, index, symbolic = case
    value = RNG.standard_normal(shape)
    expected = value[index]
    for static in (shape, (None,) * len(shape)):
        x = _tensor("float64", static)
        if symbolic:
            theon_index, inputs, values = _symbolic_index(index)
        else:
            theon_index, inputs, values = index, [], []
        result = x[theon_index]
        assert isinstance(result.node.op, Subtensor)
        assert _consistent(result.node.type.shape, expected.shape)
        if static == shape and not symbolic:
            assert result.node.type.shape == expected.shape   # exact when all is static
        got = theon.function([x, *inputs], result)(value, *values)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_basic_index_forms():
    x = T.dtensor3("x")
    a = RNG.standard_normal((4, 5, 6))
    cases = [(1,), (-1,), (1, -2, 3), (slice(None, None, -1),), (Ellipsis, 2),
             (None, 1, Ellipsis, None), (np.newaxis,), (slice(1, None), Ellipsis, slice(-2)),
             (np.int64(2), slice(4, 0, -2)), ()]
    for index in cases:
        np.testing.assert_array_equal(theon.function([x], x[index])(a), a[index])
    np.testing.assert_array_equal(theon.function([x], x[2])(a), a[2])


def test_minibatch_idiom_with_symbolic_bounds():
    data = T.dmatrix("data")
    i = T.lscalar("i")
    batch_size = 3
    f = theon.function([data, i], data[i * batch_size:(i + 1) * batch_size])
    a = RNG.standard_normal((10, 2))
    for index in range(4):   # the last batch is short, as with numpy
        np.testing.assert_array_equal(f(a, index), a[index * 3:(index + 1) * 3])
    j = T.iscalar("j")
    g = theon.function([data, i, j], data[i:, j])
    np.testing.assert_array_equal(g(a, 4, -1), a[4:, -1])
    step = theon.function([data, i], data[::i])
    np.testing.assert_array_equal(step(a, -3), a[::-3])


def test_shape_indexing_still_works():
    x = T.dmatrix("x")
    a = np.zeros((3, 7))
    f = theon.function([x], [x.shape[0], x.shape[-1], x.shape[1:], x.shape[::-1]])
    first, last, tail, reverse = f(a)
    assert first == 3 and last == 7
    np.testing.assert_array_equal(tail, [7])
    np.testing.assert_array_equal(reverse, [7, 3])


# ---- advanced indexing ------------------------------------------------------------------

@st.composite
def _advanced_cases(draw):
    """(shape, index, symbolic): index arrays (or one mask) mixed with ints, slices, None."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    use_mask = draw(st.booleans())
    array_shape = draw(st.sampled_from([(3,), (2, 2), (1,), (0,)]))
    consumed = draw(st.integers(1, ndim))
    ellipsis = draw(st.sampled_from([None, "front", "back"])) if consumed < ndim else None
    first = ndim - consumed if ellipsis == "front" else 0   # the axes the items index
    items, axis, advanced = [], first, False
    while axis < first + consumed:
        length = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "advanced"]))
        if kind == "advanced" and use_mask and not advanced:
            width = draw(st.integers(1, first + consumed - axis))
            mask_shape = shape[axis:axis + width]
            size = int(np.prod(mask_shape))
            mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
            items.append(np.asarray(mask, dtype=bool).reshape(mask_shape))
            axis += width
            advanced = True
            continue
        if kind == "advanced" and not use_mask:
            count = int(np.prod(array_shape))
            values = draw(st.lists(st.integers(-length, length - 1), min_size=count,
                                   max_size=count))
            items.append(np.asarray(values, dtype=np.int64).reshape(array_shape))
            advanced = True
        elif kind == "int":
            items.append(draw(st.integers(-length, length - 1)))
        else:
            bound = st.none() | st.integers(-length - 1, length + 1)
            items.append(slice(draw(bound), draw(bound),
                               draw(st.sampled_from([None, 1, 2, -1]))))
        axis += 1
    if not advanced:
        position = draw(st.integers(0, len(items) - 1))
        items[position] = np.arange(shape[first + position] - 1, -1, -1)[:2]
    if ellipsis:
        items.insert(0 if ellipsis == "front" else len(items), Ellipsis)
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return shape, tuple(items), draw(st.booleans())


@given(_advanced_cases())
def test_advanced_indexing_matches_numpy(case):
    shape, index, symbolic = case
    value = RNG.standard_normal(shape)
    expected = value[index]
    x = _tensor("float64", shape)
    inputs, values, items = [], [], []
    for item in index:
        if symbolic and isinstance(item, np.ndarray):
            variable = T.TensorType(item.dtype.name, shape=(None,) * item.ndim)("idx")
            inputs.append(variable)
            values.append(item)
            items.append(variable)
        else:
            items.append(item)
    result = x[tuple(items)]
    assert isinstance(result.node.op, AdvancedSubtensor)
    assert _consistent(result.node.type.shape, expected.shape)
    got = theon.function([x, *inputs], result)(value, *values)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_index_vectors_with_repeats_and_negative_indices():
    x = T.dmatrix("x")
    idx = T.lvector("idx")
    a = RNG.standard_normal((5, 4))
    f = theon.function([x, idx], [x[idx], x[idx, 1:], x[:, idx], x[::-1, idx], x[idx, idx]])
    got = f(a, np.array([0, -1, 3, 3, 0]))
    np.testing.assert_array_equal(got[0], a[[0, -1, 3, 3, 0]])
    np.testing.assert_array_equal(got[1], a[[0, -1, 3, 3, 0], 1:])
    np.testing.assert_array_equal(got[2], a[:, [0, -1, 3, 3, 0]])
    np.testing.assert_array_equal(got[3], a[::-1, [0, -1, 3, 3, 0]])
    np.testing.assert_array_equal(got[4], a[[0, -1, 3, 3, 0], [0, -1, 3, 3, 0]])
    constant = theon.function([x], x[[2, 2, -5], None])(a)
    np.testing.assert_array_equal(constant, a[[2, 2, -5], None])
    assert x[[2, 2, -5]].node.type.shape == (3, None)


def test_pick_one_entry_per_row_idiom():
    """``p[arange(n), y]``: the log-likelihood of each row's label."""
    p = T.dmatrix("p")
    rows = T.lvector("rows")
    y = T.ivector("y")
    probabilities = RNG.random((6, 3))
    labels = np.array([0, 2, 1, 1, 0, 2], dtype=np.int32)
    f = theon.function([p, rows, y], -T.log(p[rows, y]))
    np.testing.assert_allclose(f(probabilities, np.arange(6), labels),
                               -np.log(probabilities[np.arange(6), labels]))
    arange = getattr(T, "arange", None) or _frontend_arange()
    if arange is None:
        pytest.skip("arange is not available yet")
    g = theon.function([p, y], -T.log(p[arange(y.shape[0]), y]))
    np.testing.assert_allclose(g(probabilities, labels),
                               -np.log(probabilities[np.arange(6), labels]))


def _frontend_arange():
    """``arange`` from the frontend while ``theon.tensor`` does not export it yet."""
    try:
        from theon.frontend.shape import arange
    except ImportError:
        return None
    return arange


def test_boolean_masks():
    x = T.dmatrix("x")
    a = RNG.standard_normal((4, 3))
    f = theon.function([x], [x[x > 0], x[x > 100], x[:, x[0] > 0], x[x[:, 0] > 0, 1:]])
    positive, empty, columns, rows = f(a)
    np.testing.assert_array_equal(positive, a[a > 0])
    assert empty.shape == (0,) and empty.dtype == np.float64
    np.testing.assert_array_equal(columns, a[:, a[0] > 0])
    np.testing.assert_array_equal(rows, a[a[:, 0] > 0, 1:])
    assert x[x > 0].node.type.shape == (None,)
    mask = T.TensorType("bool", (False,))("mask")
    g = theon.function([x, mask], x[mask] * 2)
    np.testing.assert_array_equal(g(a, [True, False, True, False]), a[[0, 2]] * 2)
    c = T.constant(np.arange(5.0))
    np.testing.assert_array_equal(theon.function([], c[c > 2] * 2)(), [6.0, 8.0])


def test_mask_of_the_wrong_length_raises_at_call_time():
    x, mask = T.dvector("x"), T.TensorType("bool", (False,))("mask")
    f = theon.function([x, mask], x[mask])
    with pytest.raises(IndexError, match="boolean index did not match"):
        f(np.zeros(5), np.ones(4, dtype=bool))
    with pytest.raises(IndexError, match="boolean index did not match"):
        _tensor("float64", (5,))[np.ones(4, dtype=bool)]


# ---- set_subtensor / inc_subtensor ------------------------------------------------------

def test_set_and_inc_subtensor_with_basic_indices():
    x, y = T.dmatrix("x"), T.dvector("y")
    i = T.lscalar("i")
    a = RNG.standard_normal((4, 3))
    before = a.copy()
    f = theon.function([x, y, i], [set_subtensor(x[i], y), inc_subtensor(x[1:, ::-1], y),
                                   set_subtensor(x[:, 0], 0.0), inc_subtensor(x[i, 2], 5)])
    row = np.array([1.0, 2.0, 3.0])
    setrow, incremented, zeroed, one = f(a, row, -1)
    np.testing.assert_array_equal(a, before)             # functional: x is not modified
    want = a.copy()
    want[-1] = row
    np.testing.assert_array_equal(setrow, want)
    want = a.copy()
    want[1:, ::-1] += row                                # y broadcasts over the rows
    np.testing.assert_array_equal(incremented, want)
    want = a.copy()
    want[:, 0] = 0.0
    np.testing.assert_array_equal(zeroed, want)
    want = a.copy()
    want[-1, 2] += 5
    np.testing.assert_array_equal(one, want)
    assert set_subtensor(x[i], y).node.type == x.node.type


def test_inc_subtensor_accumulates_repeated_indices():
    v, idx = T.dvector("v"), T.lvector("idx")
    f = theon.function([v, idx], inc_subtensor(v[idx], 1.0))
    index = np.array([0, 0, 2, -1, 2, 2])
    want = np.zeros(5)
    np.add.at(want, index, 1.0)
    np.testing.assert_array_equal(f(np.zeros(5), index), want)
    m, w = T.dmatrix("m"), T.dmatrix("w")
    g = theon.function([m, idx, w], inc_subtensor(m[idx], w))
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 3))
    want = a.copy()
    np.add.at(want, [1, 1, 3], b)
    np.testing.assert_allclose(g(a, [1, 1, 3], b), want)
    h = theon.function([m, idx], inc_subtensor(m[idx, 1:], np.array([10.0, 20.0])))
    want = a.copy()
    np.add.at(want, (np.array([0, 0]), slice(1, None)), [10.0, 20.0])
    np.testing.assert_array_equal(h(a, [0, 0]), want)


def test_set_subtensor_with_index_arrays_and_masks():
    x = T.dmatrix("x")
    idx = T.lvector("idx")
    a = RNG.standard_normal((4, 3))
    f = theon.function([x, idx], [set_subtensor(x[idx, 0], -1.0),
                                  set_subtensor(x[x < 0], 0.0),
                                  inc_subtensor(x[x < 0], 1.0, set_instead_of_inc=True)])
    first, relu, ones = f(a, [3, 0])
    want = a.copy()
    want[[3, 0], 0] = -1.0
    np.testing.assert_array_equal(first, want)
    np.testing.assert_array_equal(relu, np.maximum(a, 0.0))
    np.testing.assert_array_equal(ones, np.where(a < 0, 1.0, a))


def test_update_errors_at_build_time():
    x, i = T.fmatrix("x"), T.lscalar("i")
    with pytest.raises(TypeError, match="set_subtensor: the first argument must be an "
                                        "indexed tensor"):
        set_subtensor(x, 1.0)
    with pytest.raises(DTypeError, match="inc_subtensor: input 1 .* dtype float64"):
        inc_subtensor(x[i], T.dvector("y"))
    with pytest.raises(ShapeError, match="set_subtensor: input 1 .* rank 2"):
        set_subtensor(x[i], T.fmatrix("y"))
    with pytest.raises(ShapeError, match="does not broadcast"):
        set_subtensor(_tensor("float32", (4, 3))[1:], np.ones(2, dtype=np.float32))
    with pytest.raises(TypeError, match="immutable: use x = T.set_subtensor"):
        x[0] = 1.0


# ---- results in further expressions, memory -----------------------------------------------

def test_strided_views_feed_elementwise_kernels():
    x = T.dvector("x")
    m = T.dmatrix("m")
    a = RNG.standard_normal(11)
    b = RNG.standard_normal((5, 6))
    f = theon.function([x], x[::2] * 2 + 1)
    np.testing.assert_array_equal(f(a), a[::2] * 2 + 1)
    kernel_calls = [call for call in f._executable.calls if hasattr(call, "step")]
    assert kernel_calls and kernel_calls[0].step.kernel.strided   # read in place, strided
    g = theon.function([x], x[::-1] + x)
    np.testing.assert_array_equal(g(a), a[::-1] + a)
    h = theon.function([m], T.exp(m[::-2, 1::2]) * m[::-2, ::2])
    np.testing.assert_allclose(h(b), np.exp(b[::-2, 1::2]) * b[::-2, ::2], rtol=1e-12)


def test_indexed_outputs_do_not_share_the_input_memory():
    x = T.dmatrix("x")
    a = RNG.standard_normal((4, 3))
    f = theon.function([x], [x[1:], x[...], x[:, ::-1], x[0], x[[0, 1]], x[x > 0]])
    for got in f(a):
        assert not np.shares_memory(got, a)
    got = theon.function([x], x[1:])(a)
    got[0, 0] = 100.0
    assert a[1, 0] != 100.0


# ---- errors ---------------------------------------------------------------------------

def test_out_of_range_indices_raise_index_error_at_call_time():
    x, i = T.dvector("x"), T.lscalar("i")
    idx = T.lvector("idx")
    m = T.dmatrix("m")
    f = theon.function([x, i], x[i])
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 5"):
        f(np.zeros(5), 7)
    with pytest.raises(IndexError, match="index -6 is out of bounds for axis 0 with size 5"):
        f(np.zeros(5), -6)
    g = theon.function([m, idx], m[:, idx])
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        g(np.zeros((2, 3)), [0, 3])
    h = theon.function([x, idx], inc_subtensor(x[idx], 1.0))
    with pytest.raises(IndexError, match="index 9 is out of bounds for axis 0 with size 5"):
        h(np.zeros(5), [1, 9])
    k = theon.function([m], m[5])
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        k(np.zeros((2, 3)))
    # slices never raise, as in numpy
    np.testing.assert_array_equal(theon.function([x], x[3:100])(np.arange(5.0)), [3.0, 4.0])


def test_statically_wrong_indices_raise_when_built():
    x = T.dmatrix("x")
    with pytest.raises(IndexError, match="too many indices for tensor: tensor is "
                                         "2-dimensional, but 3 were indexed"):
        x[0, 1, 2]
    with pytest.raises(IndexError, match="too many indices"):
        x[[0], :, None, [1]][0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 3"):
        _tensor("float64", (2, 3))[:, 4]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]


@pytest.mark.parametrize("index", [1.0, np.float64(0.0), (0, 1.5), slice(0.5, None),
                                   [0.0, 1.0], True])
def test_non_integer_indices_raise_type_error(index):
    with pytest.raises(TypeError):
        T.dmatrix("x")[index]


def test_float_tensor_indices_raise_type_error():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="index 0: only integer or boolean tensors"):
        x[T.dscalar("s")]
    with pytest.raises(TypeError, match="index 1: only integer or boolean tensors"):
        x[:, T.dvector("v")]
    with pytest.raises(TypeError, match="slice bounds must be integers"):
        x[T.dscalar("s"):]


def test_indexing_schedules_serialise():
    x, i, idx = T.dmatrix("x"), T.lscalar("i"), T.lvector("idx")
    f = theon.function([x, i, idx], [x[i:, None], inc_subtensor(x[idx, ..., 0], 1.0)])
    schedule = serialize.loads_schedule(serialize.dumps_schedule(f.schedule))
    assert schedule.steps == f.schedule.steps
    assert any(isinstance(step.op, IncSubtensor) for step in schedule.steps)
