"""Eager execution (``theon.eager``, ``theon.config.execution``): values computed by the
compiled kernels as variables are built, checked against numpy; the per-signature cache of
compiled single-node functions; the eagerly built graph compiled as a whole; gradients
against finite differences."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import theon
import theon.tensor as T
from theon import DTypeError, ShapeError, eager
from theon.frontend import variable
from theon.ifelse import ifelse


@pytest.fixture
def eager_mode():
    with eager.mode():
        yield


BUILT_HERE = r" \(built at .*test_eager\.py:\d+\): "


# ---- the flag and the context manager -------------------------------------------------------

def test_flag_and_mode():
    assert theon.config.execution == "graph"
    with pytest.raises(ValueError, match=re.escape(
            "config.execution: expected one of 'graph', 'eager', got 'EAGER'")):
        theon.config.execution = "EAGER"
    with pytest.raises(RuntimeError, match="inside"):
        with eager.mode():
            assert theon.config.execution == "eager"
            assert variable.BUILD_HOOKS != []
            raise RuntimeError("inside")
    assert theon.config.execution == "graph"
    assert variable.BUILD_HOOKS == []
    theon.config.execution = "eager"
    try:
        assert float(T.exp(eager.array(0.0))) == 1.0
    finally:
        theon.config.execution = "graph"


# ---- eager arrays ---------------------------------------------------------------------------

def test_array_types_follow_numpy_and_constants():
    assert eager.array([1, 2]).dtype == "int64"
    assert eager.array(1.5).dtype == "float64"
    assert eager.array(np.ones(2, np.float32)).dtype == "float32"
    assert eager.array([1, 2], dtype="float32").dtype == "float32"
    x = eager.array(np.ones((1, 3)), name="x")
    assert x.name == "x"
    assert x.broadcastable == (True, False)
    assert eager.array(np.ones((1, 3)), broadcastable=(False, False)).broadcastable == \
        (False, False)


def test_array_holds_a_read_only_copy():
    source = np.arange(3.0)
    x = eager.array(source)
    source[0] = 10.0
    np.testing.assert_array_equal(x.value, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="read-only"):
        x.value[0] = 1.0


def test_array_rejects_bad_values():
    with pytest.raises(TypeError, match=re.escape(
            "eager.array: x is a variable already; pass a numeric value")):
        eager.array(T.vector("x"))
    with pytest.raises(DTypeError, match=re.escape(
            "eager.array: a value of dtype complex128 is not supported")):
        eager.array([1j])
    with pytest.raises(TypeError, match=re.escape(
            "eager.array: dimension 0 is declared broadcastable but the value has length 2 "
            "there (shape (2,))")):
        eager.array([1.0, 2.0], broadcastable=(True,))
    with pytest.raises(TypeError, match=re.escape(
            "eager.array: broadcastable=(False, False) has 2 entries; the value has rank 1 "
            "(shape (2,))")):
        eager.array([1.0, 2.0], broadcastable=(False, False))


# ---- showing values -------------------------------------------------------------------------

def test_an_eager_variable_shows_its_value(eager_mode):
    x = eager.array([1.0, 4.0], name="x")
    y = T.sqrt(x)
    assert repr(x) == "eager(array([1., 4.]), name='x')"
    assert repr(y) == "eager(array([1., 2.]))"
    assert str(y) == "<sqrt float64[?]>"        # messages keep naming it symbolically
    np.testing.assert_array_equal(np.asarray(y), [1.0, 2.0])
    assert np.asarray(y, dtype=np.int32).dtype == np.int32
    np.testing.assert_array_equal(y.eval(), [1.0, 2.0])
    total = y.sum()
    assert float(total) == 3.0
    assert int(total) == 3
    assert bool(total > 2)
    assert int(x.shape[0]) == 2


def test_multiline_repr_is_aligned(eager_mode):
    y = eager.array(np.eye(2)) * 2
    assert repr(y) == "eager(array([[2., 0.],\n             [0., 2.]]))"


def test_symbolic_variables_stay_symbolic(eager_mode):
    v = T.vector("v")
    y = T.exp(v) + eager.array([1.0, 2.0])
    assert repr(y) == "<add float64[?]>"
    with pytest.raises(AttributeError, match=re.escape(
            "<add float64[?]> has no value: it depends on the symbolic input(s) 'v'; only "
            "variables computed from eager arrays (theon.eager.array), constants and shared "
            "variables have one (compile a function, or use .eval(), to give inputs "
            "values)")):
        y.value
    assert not hasattr(y, "value")
    with pytest.raises(TypeError, match=re.escape(
            "float() of a symbolic variable (<add-reduce[0] float64[]>): it has no value; "
            "compile it with theon.function or use .eval()")):
        float(y.sum())
    with pytest.raises(TypeError, match="a symbolic variable has no truth value"):
        bool(y.sum())
    assert np.asarray(y).dtype == object   # numpy sees an opaque object, as before
    np.testing.assert_allclose(y.eval({v: np.zeros(2)}), [2.0, 3.0])


def test_graph_mode_computes_only_on_request():
    eager.cache_clear()
    x = eager.array([0.0, 1.0])
    y = T.exp(x)
    assert eager.cache_info().misses == 0
    assert repr(y) == "<exp float64[?]>"     # a repr computes nothing
    np.testing.assert_allclose(y.value, [1.0, np.e])
    assert eager.cache_info().misses == 1
    assert float(T.sqr(x).sum()) == 1.0       # conversions compute what reads eager arrays
    with pytest.raises(TypeError, match="a symbolic variable has no truth value"):
        bool(T.constant(1) > 0)               # a graph without eager arrays: as before
    with pytest.raises(TypeError, match=re.escape(
            "float() of a symbolic variable (<constant 2.0 float64[]>): it has no value")):
        float(T.constant(2.0))


# ---- values equal numpy ---------------------------------------------------------------------

UNARY = [
    (T.exp, np.exp), (T.tanh, np.tanh), (T.nnet.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    (lambda a: 3 * a - a * a, lambda a: 3 * a - a * a),
    (lambda a: a.sum(axis=0), lambda a: a.sum(axis=0)),
    (lambda a: a.max(axis=-1), lambda a: a.max(axis=-1)),
    (lambda a: a.mean(), np.mean),
    (lambda a: T.argmax(a, axis=0), lambda a: np.argmax(a, axis=0)),
]


@given(data=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=2,
                                                    max_side=5),
                       elements=st.floats(-3, 3)),
       case=st.sampled_from(UNARY))
def test_elementwise_and_reductions_equal_numpy(data, case):
    function, reference = case
    with eager.mode():
        got = function(eager.array(data)).value
    expected = np.asarray(reference(data))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def _softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


CASES = [
    ("dot", lambda x, w: T.dot(x, w), lambda a, b: a @ b),
    ("reshape", lambda x, w: x.reshape((4, 3)), lambda a, b: a.reshape(4, 3)),
    ("dimshuffle", lambda x, w: x.dimshuffle(1, "x", 0), lambda a, b: a.T[:, None, :]),
    ("slice", lambda x, w: x[1:, ::-2], lambda a, b: a[1:, ::-2]),
    ("advanced", lambda x, w: x[[2, 0]], lambda a, b: a[[2, 0]]),
    ("mask", lambda x, w: x[x > 0], lambda a, b: a[a > 0]),
    ("inc_subtensor", lambda x, w: T.inc_subtensor(x[:, 0], 1.0),
     lambda a, b: a + [1.0, 0.0, 0.0, 0.0]),
    ("softmax", lambda x, w: T.nnet.softmax(x), lambda a, b: _softmax(a)),
    ("crossentropy", lambda x, w: T.nnet.categorical_crossentropy(T.nnet.softmax(x),
                                                                  T.eye(3, 4)),
     lambda a, b: -np.log(_softmax(a)[np.arange(3), np.arange(3)])),
    ("layer", lambda x, w: T.nnet.relu(T.dot(x, w) + 0.1),
     lambda a, b: np.maximum(a @ b + 0.1, 0)),
    ("numpy operand", lambda x, w: x + np.arange(4.0), lambda a, b: a + np.arange(4.0)),
    ("ifelse", lambda x, w: ifelse(T.lt(x.sum(), 100.0), x, -x), lambda a, b: a),
    ("scan", lambda x, w: theon.scan(lambda row, acc: acc + row, sequences=x,
                                     outputs_info=T.zeros_like(x[0]))[0],
     lambda a, b: np.cumsum(a, axis=0)),
]


@pytest.mark.parametrize("name, function, reference", CASES, ids=[c[0] for c in CASES])
def test_functions_equal_numpy(eager_mode, name, function, reference):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    got = function(eager.array(a), eager.array(b)).value
    expected = reference(a, b)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_numbers_and_arrays_become_eager_constants(eager_mode):
    np.testing.assert_allclose(T.exp(np.zeros(2)).value, [1.0, 1.0])
    assert float(T.constant(2.0) ** 3) == 8.0
    assert repr(T.maximum(np.float64(1.5), 2.5)) == "eager(array(2.5))"


def test_shared_variables_give_their_current_value(eager_mode):
    w = theon.shared(np.arange(3.0), name="w")
    y = w * 2
    np.testing.assert_array_equal(y.value, [0.0, 2.0, 4.0])
    w.set_value(np.ones(3))
    np.testing.assert_array_equal(y.value, [2.0, 2.0, 2.0])


def test_errors_raise_at_the_building_line(eager_mode):
    x, w = eager.array(np.ones((3, 4)), name="x"), eager.array(np.ones((5, 2)), name="W")
    with pytest.raises(ShapeError, match="^dot" + BUILT_HERE + re.escape(
            "cannot compute the eager value from input 0 ('x', float64 shape (3, 4)), "
            "input 1 ('W', float64 shape (5, 2)): dot: input 1 has shape (5, 2); expected "
            "4 rows to match input 0 (shape (3, 4))")):
        T.dot(x, w)
    with pytest.raises(ShapeError, match="^add" + BUILT_HERE + re.escape(
            "cannot compute the eager value from input 0 ('x', float64 shape (3, 4)), "
            "input 1 (<dimshuffle{1,0} float64[?, ?]>, float64 shape (2, 5)): kernel[add]: "
            "'input 1' has shape (2, 5); expected length 3 at axis 0 to match 'input 0' "
            "(shape (3, 4)); only dimensions declared broadcastable may differ")):
        x + w.T


# ---- the cache of compiled single-node functions --------------------------------------------

def test_one_compile_per_op_signature(eager_mode):
    eager.cache_clear()
    a, b = eager.array(np.ones(3)), eager.array(np.full(7, 2.0))
    first = T.exp(a)
    assert eager.cache_info() == eager.CacheInfo(hits=0, misses=1, maxsize=1024, currsize=1)
    np.testing.assert_allclose(T.exp(b).value, np.exp(np.full(7, 2.0)))  # another length
    assert eager.cache_info().hits == 1
    T.exp(eager.array(np.ones(3, np.float32)))   # another dtype: another function
    T.exp(eager.array(np.ones((1, 3))))          # another broadcast pattern
    assert eager.cache_info() == eager.CacheInfo(hits=1, misses=3, maxsize=1024, currsize=3)
    again = T.exp(a)                              # the same node: not computed again
    assert again.node is first.node
    assert eager.cache_info().hits == 1


# ---- the graph built eagerly, compiled as a whole --------------------------------------------

@given(seed=st.integers(0, 2**16), rows=st.integers(1, 5))
def test_compiled_graph_equals_eager_values(seed, rows):
    rng = np.random.default_rng(seed)
    data, weights = rng.standard_normal((rows, 3)), rng.standard_normal((3, 2))
    with eager.mode():
        # not broadcastable even when rows == 1: the function takes any number of rows
        x = eager.array(data, name="x", broadcastable=(False, False))
        w = eager.array(weights, name="w")
        out = T.nnet.softmax(T.tanh(T.dot(x, w)) * 2).sum(axis=1) + x.mean()
        eager_value = out.value
    f = theon.function([x, w], out)
    np.testing.assert_allclose(f(data, weights), eager_value, rtol=1e-12)
    other = rng.standard_normal((rows + 2, 3))
    np.testing.assert_allclose(f(other, weights),
                               _softmax(np.tanh(other @ weights) * 2).sum(axis=1)
                               + other.mean(), rtol=1e-12)


# ---- gradients ------------------------------------------------------------------------------

def _cost(x, w):
    return (T.nnet.sigmoid(T.dot(x, w)) ** 2).sum() + T.log1p(x * x).mean()


def _numpy_cost(a, b):
    return float(((1 / (1 + np.exp(-(a @ b)))) ** 2).sum() + np.log1p(a * a).mean())


@given(seed=st.integers(0, 2**16))
def test_gradient_matches_finite_differences(seed):
    """<J v, u> by central differences along one random direction against theon's <v, g>."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    with eager.mode():
        x, w = eager.array(a), eager.array(b)
        cost = _cost(x, w)
        grad_x, grad_w = theon.grad(cost, [x, w])
        assert float(cost) == pytest.approx(_numpy_cost(a, b), rel=1e-12)
    da, db = rng.standard_normal(a.shape), rng.standard_normal(b.shape)
    step = 1e-6
    numeric = (_numpy_cost(a + step * da, b + step * db)
               - _numpy_cost(a - step * da, b - step * db)) / (2 * step)
    analytic = float((grad_x.value * da).sum() + (grad_w.value * db).sum())
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_values_follow_a_shared_variable_updated_in_place_by_a_function():
    w = theon.shared(np.array([1.0, 2.0]), name="w")
    step = theon.function([], [], updates=[(w, w * 3)])
    with theon.eager.mode():
        doubled = w * 2
        np.testing.assert_array_equal(doubled.value, [2.0, 4.0])
        address = w.get_value(borrow=True).__array_interface__["data"][0]
        step()
        assert w.get_value(borrow=True).__array_interface__["data"][0] == address  # in place
        np.testing.assert_array_equal(doubled.value, [6.0, 12.0])
