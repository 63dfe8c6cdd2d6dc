"""Test values (``theon.config.compute_test_value``, Theano's debugger): values computed by
the ops' numpy references as the graph is built, checked against numpy, and the errors and
warnings that point at the line that built the faulty variable."""
import contextlib
import pickle
import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import theon
import theon.tensor as T
from theon import DTypeError, ShapeError
from theon.frontend import test_value, variable
from theon.ifelse import ifelse
from theon.ir.ops import Dot


@contextlib.contextmanager
def flag(action):
    """``theon.config.compute_test_value = action`` for a block."""
    previous = theon.config.compute_test_value
    theon.config.compute_test_value = action
    try:
        yield
    finally:
        theon.config.compute_test_value = previous


@pytest.fixture
def raising():
    with flag("raise"):
        yield


def matrix(name, value):
    x = T.matrix(name)
    x.tag.test_value = value
    return x


BUILT_HERE = r" \(built at .*test_test_value\.py:\d+\): "


# ---- the flag -------------------------------------------------------------------------------

def test_flag_values_are_validated():
    with pytest.raises(ValueError, match=re.escape(
            "config.compute_test_value: expected one of 'off', 'ignore', 'warn', 'raise', "
            "'pdb', got 'on'")):
        theon.config.compute_test_value = "on"
    assert theon.config.compute_test_value == "off"


def test_off_installs_no_hook_and_computes_nothing():
    """With both build-time flags off, a new variable costs one read of an empty list."""
    assert theon.config.compute_test_value == "off"
    assert theon.config.execution == "graph"
    assert variable.BUILD_HOOKS == []
    x = T.matrix("x")
    x.tag.test_value = np.ones((2, 2))
    y = T.exp(x)
    with pytest.raises(AttributeError, match=re.escape(
            "<exp float64[?, ?]> has no test value: none was computed "
            "(theon.config.compute_test_value is 'off')")):
        y.tag.test_value
    assert not hasattr(y.tag, "test_value")
    with flag("raise"):
        assert variable.BUILD_HOOKS != []
        np.testing.assert_allclose(y.tag.test_value, np.e)  # computed when asked for
    assert variable.BUILD_HOOKS == []


def test_flag_from_theon_flags_at_start_up():
    config = theon.config.__class__({"THEON_FLAGS": "compute_test_value=warn"})
    assert config.compute_test_value == "warn"


# ---- assigning test values ------------------------------------------------------------------

def test_assigned_value_is_converted_copied_and_read_only():
    x = T.fvector("x")
    source = [0.5, 1.5]
    x.tag.test_value = source                 # Python floats: any float dtype
    assert x.tag.test_value.dtype == np.float32
    array = np.array([1, 2], dtype=np.int16)  # a safe cast
    x.tag.test_value = array
    array[0] = 7
    np.testing.assert_array_equal(x.tag.test_value, [1.0, 2.0])
    with pytest.raises(ValueError, match="read-only"):
        x.tag.test_value[0] = 3.0


def test_assigned_value_of_the_wrong_dtype():
    x = T.fvector("x")
    with pytest.raises(DTypeError, match=re.escape(
            "test value of 'x' (float32[?]) got dtype float64; expected float32, and the "
            "conversion could lose precision (convert the value with .astype('float32') "
            "first)")):
        x.tag.test_value = np.ones(3)
    with pytest.raises(DTypeError, match=re.escape(
            "test value of 'x' (float32[?]) got a value of dtype <U1; expected float32")):
        x.tag.test_value = np.array(["a"])


def test_assigned_value_of_the_wrong_rank():
    x = T.matrix("x")
    with pytest.raises(TypeError, match=re.escape(
            "test value of 'x' (float64[?, ?]) got a value of rank 1 (shape (3,)); "
            "expected rank 2")):
        x.tag.test_value = np.ones(3)


def test_assigned_value_of_the_wrong_static_length():
    row = T.row("r")
    with pytest.raises(ShapeError, match=re.escape(
            "test value of 'r' (float64[1, ?]) got a value of shape (2, 3); expected length "
            "1 at axis 0 (a broadcastable dimension)")):
        row.tag.test_value = np.ones((2, 3))
    fixed = T.tensor("float64", shape=(None, 4), name="f")
    with pytest.raises(ShapeError, match=re.escape(
            "test value of 'f' (float64[?, 4]) got a value of shape (2, 3); expected length "
            "4 at axis 1 (its static length)")):
        fixed.tag.test_value = np.ones((2, 3))


def test_constants_and_shared_variables_have_their_value():
    c = T.constant(np.arange(3.0))
    np.testing.assert_array_equal(c.tag.test_value, [0.0, 1.0, 2.0])
    w = theon.shared(np.ones(2), name="w")
    np.testing.assert_array_equal(w.tag.test_value, [1.0, 1.0])
    with pytest.raises(TypeError, match=re.escape(
            "test value of 'w' (float64[?]): a shared variable's test value is its current "
            "value; change it with set_value")):
        w.tag.test_value = np.zeros(2)
    with pytest.raises(TypeError, match=re.escape(
            "test value of <constant [0.0, 1.0, 2.0] float64[3]> (float64[3]): a constant's "
            "test value is its value; it cannot be set")):
        c.tag.test_value = np.zeros(3)


def test_delete_and_other_tag_entries():
    x = matrix("x", np.ones((1, 1)))
    x.tag.note = "free-form"
    del x.tag.test_value
    assert not hasattr(x.tag, "test_value")
    assert x.tag.note == "free-form"
    with pytest.raises(AttributeError, match="'x' has no assigned test value to delete"):
        del x.tag.test_value


def test_pickled_variable_keeps_its_test_value():
    x = matrix("x", np.arange(4.0).reshape(2, 2))
    x.tag.note = 3
    clone = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(clone.tag.test_value, x.tag.test_value)
    assert clone.tag.note == 3


# ---- values equal numpy ---------------------------------------------------------------------

ELEMENTWISE = [
    (T.exp, np.exp), (T.tanh, np.tanh), (T.nnet.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    (lambda a: T.sqr(a) - 2 * a, lambda a: a * a - 2 * a), (abs, np.abs),
    (lambda a: T.maximum(a, 0.5), lambda a: np.maximum(a, 0.5)),
    (T.nnet.softplus, lambda a: np.log1p(np.exp(a))),
]

REDUCTIONS = [
    (lambda a: a.sum(axis=0), lambda a: a.sum(axis=0)),
    (lambda a: a.mean(), np.mean),
    (lambda a: a.max(axis=-1, keepdims=True), lambda a: a.max(axis=-1, keepdims=True)),
    (lambda a: T.argmin(a, axis=0), lambda a: np.argmin(a, axis=0)),
    (lambda a: a.var(axis=0), lambda a: a.var(axis=0)),
    (lambda a: T.logsumexp(a, axis=-1), lambda a: np.log(np.exp(a).sum(axis=-1))),
]


@given(data=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                       elements=st.floats(-3, 3)),
       case=st.sampled_from(ELEMENTWISE + REDUCTIONS))
def test_elementwise_and_reductions_equal_numpy(data, case):
    function, reference = case
    with flag("raise"):
        x = T.tensor("float64", (False,) * data.ndim, name="x")
        x.tag.test_value = data
        got = function(x).tag.test_value
    expected = np.asarray(reference(data))
    assert got.shape == expected.shape
    assert got.dtype == function(x).dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@given(rows=st.integers(1, 4), inner=st.integers(1, 4), cols=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_dot_equals_numpy(rows, inner, cols, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((rows, inner)), rng.standard_normal((inner, cols))
    with flag("raise"):
        got = T.dot(matrix("a", a), matrix("b", b)).tag.test_value
    np.testing.assert_allclose(got, a @ b, rtol=1e-12)


def _softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


STRUCTURAL = [
    ("reshape", lambda x: x.reshape((4, 3)), lambda a: a.reshape(4, 3)),
    ("dimshuffle", lambda x: x.dimshuffle(1, "x", 0), lambda a: a.T[:, None, :]),
    ("slice", lambda x: x[1:, ::-2], lambda a: a[1:, ::-2]),
    ("advanced", lambda x: x[[2, 0], 1], lambda a: a[[2, 0], 1]),
    ("mask", lambda x: x[x > 0], lambda a: a[a > 0]),
    ("set_subtensor", lambda x: T.set_subtensor(x[0], 9.0),
     lambda a: np.concatenate([np.full((1, 4), 9.0), a[1:]])),
    ("shape", lambda x: x.shape, lambda a: np.array(a.shape)),
    ("concatenate", lambda x: T.concatenate([x, 2 * x], axis=1),
     lambda a: np.concatenate([a, 2 * a], axis=1)),
    ("softmax", T.nnet.softmax, _softmax),
    ("logsoftmax", T.nnet.logsoftmax, lambda a: np.log(_softmax(a))),
    ("relu", T.nnet.relu, lambda a: np.maximum(a, 0)),
    ("crossentropy", lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x),
                                                               T.eye(3, 4)),
     lambda a: -np.log(_softmax(a)[np.arange(3), np.arange(3)])),
    ("ifelse", lambda x: ifelse(T.lt(x.sum(), 100.0), x + 1, x - 1), lambda a: a + 1),
]


@pytest.mark.parametrize("name, function, reference", STRUCTURAL,
                         ids=[case[0] for case in STRUCTURAL])
def test_structural_and_nnet_functions_equal_numpy(raising, name, function, reference):
    data = np.random.default_rng(5).standard_normal((3, 4))
    got = function(matrix("x", data)).tag.test_value
    expected = reference(data)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_shared_variables_contribute_their_current_value(raising):
    w = theon.shared(np.arange(3.0), name="w")
    v = T.vector("v")
    v.tag.test_value = np.ones(3)
    y = w * v
    np.testing.assert_array_equal(y.tag.test_value, [0.0, 1.0, 2.0])
    w.set_value(np.full(3, 5.0))
    np.testing.assert_array_equal(y.tag.test_value, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal((w * v).tag.test_value, [5.0, 5.0, 5.0])


def test_a_new_input_value_is_seen_downstream(raising):
    x = T.vector("x")
    x.tag.test_value = [1.0, 2.0]
    y = T.exp(x) * 2
    np.testing.assert_allclose(y.tag.test_value, 2 * np.exp([1.0, 2.0]))
    x.tag.test_value = [0.0, 0.0]
    np.testing.assert_array_equal(y.tag.test_value, [2.0, 2.0])


def test_each_node_is_computed_once(raising, monkeypatch):
    calls = []
    original = Dot.impl

    def counting(self, a, b):
        calls.append((a.shape, b.shape))
        return original(self, a, b)

    monkeypatch.setattr(Dot, "impl", counting)
    x, w = matrix("x", np.ones((2, 3))), matrix("w", np.ones((3, 4)))
    product = T.dot(x, w)
    T.exp(product)
    T.nnet.softmax(product)          # several nodes, some never wrapped in a variable
    T.dot(x, w) + 1                  # the same node, built again
    product.tag.test_value
    assert calls == [((2, 3), (3, 4))]


def test_scan_steps_get_none_and_the_loop_gets_its_value(raising):
    data = np.arange(6.0).reshape(3, 2)
    x = matrix("x", data)
    totals, _ = theon.scan(lambda row, acc: acc + T.exp(row), sequences=x,
                           outputs_info=T.zeros_like(x[0]))
    np.testing.assert_allclose(totals.tag.test_value, np.cumsum(np.exp(data), axis=0))


def test_gradient_placeholders_raise_nothing(raising):
    v = T.vector("v")
    v.tag.test_value = np.array([0.5, -1.0, 2.0])
    hessian = theon.gradient.hessian((v ** 3).sum(), v)
    np.testing.assert_allclose(hessian.tag.test_value, np.diag(6 * v.tag.test_value))
    rop = theon.Rop(T.tanh(v), v, T.ones_like(v))
    np.testing.assert_allclose(rop.tag.test_value, 1 - np.tanh(v.tag.test_value) ** 2)


def test_function_ignores_test_values(raising):
    x = matrix("x", np.ones((2, 2)))
    f = theon.function([x], T.exp(x).sum(axis=0))
    np.testing.assert_allclose(f(np.zeros((3, 2))), [3.0, 3.0])


# ---- errors at the line that builds the graph -----------------------------------------------

def test_dot_shape_error_at_build_time(raising):
    x, w = matrix("x", np.ones((3, 4))), matrix("W", np.ones((5, 2)))
    with pytest.raises(ShapeError, match="^dot" + BUILT_HERE + re.escape(
            "cannot compute the test value from input 0 ('x', float64 shape (3, 4)), "
            "input 1 ('W', float64 shape (5, 2)): dot: input 1 has shape (5, 2); expected "
            "4 rows to match input 0 (shape (3, 4))")):
        T.dot(x, w)


def test_broadcast_and_reshape_errors_at_build_time(raising):
    x = matrix("x", np.ones((2, 3)))
    v = T.vector("v")
    v.tag.test_value = np.ones(4)
    with pytest.raises(ValueError, match="^add" + BUILT_HERE + re.escape(
            "cannot compute the test value from input 0 ('x', float64 shape (2, 3)), "
            "input 1 ('v', float64 shape (4,)): operands could not be broadcast together")):
        x + v
    with pytest.raises(ValueError, match=r"^reshape\(5,\)" + BUILT_HERE + re.escape(
            "cannot compute the test value from input 0 ('x', float64 shape (2, 3)): "
            "reshape: cannot reshape an array of shape (2, 3) (size 6) into shape (5,) "
            "(size 5)")):
        x.reshape((5,))


# ---- inputs without a test value ------------------------------------------------------------

MISSING_X = ("Cannot compute test value: input 0 ('z') of Op exp missing default value: 'z' "
             "has no test value; give it one (variable.tag.test_value = value) or set "
             "theon.config.compute_test_value = 'off'")


def test_raise_names_the_input_without_a_value():
    z = T.matrix("z")
    with flag("raise"), pytest.raises(ValueError, match=re.escape(MISSING_X)):
        T.exp(z)


def test_raise_names_the_input_a_computed_operand_lacks():
    z, y = T.matrix("z"), matrix("y", np.ones((2, 2)))
    with flag("ignore"):
        hidden = T.exp(z)
    with flag("raise"), pytest.raises(ValueError, match=re.escape(
            "Cannot compute test value: input 1 (<exp float64[?, ?]>) of Op add missing "
            "default value: it depends on 'z', which has no test value; give it one "
            "(variable.tag.test_value = value) or set theon.config.compute_test_value = "
            "'off'")):
        y + hidden


def test_warn_points_at_the_users_line_and_leaves_no_value():
    z = T.matrix("z")
    with flag("warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = T.exp(z)
    assert [str(w.message) for w in caught] == [MISSING_X]
    assert caught[0].category is UserWarning
    assert caught[0].filename == __file__
    with flag("warn"):
        assert not hasattr(y.tag, "test_value")


def test_ignore_is_silent_and_leaves_no_value():
    z = T.matrix("z")
    with flag("ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        y = T.exp(z) + 1
        assert not hasattr(y.tag, "test_value")
        with pytest.raises(AttributeError, match=re.escape(
                "<add float64[?, ?]> has no test value: it depends on 'z', which has none")):
            y.tag.test_value


def test_pdb_opens_a_post_mortem_and_goes_on(monkeypatch):
    import pdb
    seen = []
    monkeypatch.setattr(pdb, "post_mortem", lambda traceback: seen.append(traceback))
    z = T.matrix("z")
    with flag("pdb"):
        T.exp(z)
    assert len(seen) == 1
    assert seen[0].tb_frame.f_code.co_name == "_report"


# ---- Theano's functions ---------------------------------------------------------------------

def test_get_test_value_and_get_debug_values():
    x = matrix("x", np.ones((2, 2)))
    z = T.matrix("z")
    np.testing.assert_array_equal(test_value.get_test_value(np.arange(2)), [0, 1])
    assert test_value.get_debug_values(x) == []  # flag off
    with flag("raise"):
        (value,) = test_value.get_debug_values(x)
        np.testing.assert_array_equal(value, np.ones((2, 2)))
        [(first, second)] = test_value.get_debug_values(x, 2 * x)
        np.testing.assert_array_equal(second, 2 * first)
        with pytest.raises(ValueError, match=re.escape(
                "Argument 1 ('z') has no test value: 'z' has no test value")):
            test_value.get_debug_values(x, z)
    with flag("ignore"):
        assert test_value.get_debug_values(x, z) == []
