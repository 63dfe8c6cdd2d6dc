"""``theon.shared``: construction, dtypes and broadcast patterns, ``get_value`` and
``set_value`` (copies, borrowing, conversions and their errors), shared variables in
expressions, and compiled functions reading the current value at every call."""
import gc
import importlib
import weakref

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import DTypeError

compiler = importlib.import_module("theon.frontend.compiler")


# ---- construction -------------------------------------------------------------------------

def test_shared_is_a_variable_with_name_type_and_no_default_update():
    W = theon.shared(np.zeros((3, 2)), name="W")
    assert isinstance(W, theon.SharedVariable) and isinstance(W, theon.Variable)
    assert isinstance(W, T.TensorVariable)
    assert W.name == "W" and repr(W) == "W"
    assert W.type == T.TensorType("float64", (False, False))
    assert W.dtype == "float64" and W.ndim == 2 and W.broadcastable == (False, False)
    assert W.default_update is None
    assert W.owner is None


@pytest.mark.parametrize("value, dtype, ndim", [
    (0, "int64", 0),                      # Theano: Python ints are int64
    (0.0, "float64", 0),                  # Theano: Python floats are float64, not floatX
    (True, "bool", 0),
    (np.float32(1), "float32", 0),
    (np.int8(3), "int8", 0),
    (np.array(2.5, dtype=np.float32), "float32", 0),
    (np.zeros(4, dtype=np.int32), "int32", 1),
    (np.zeros((2, 3, 4), dtype=np.uint8), "uint8", 3),
    ([[1.0, 2.0]], "float64", 2),
    ([1, 2, 3], "int64", 1),
])
def test_dtype_and_rank_follow_the_value(value, dtype, ndim):
    variable = theon.shared(value)
    assert variable.dtype == dtype and variable.ndim == ndim
    got = variable.get_value()
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.asarray(value))


def test_python_float_stays_float64_under_float32_float_x():
    old = theon.config.floatX
    try:
        theon.config.floatX = "float32"
        assert theon.shared(0.5).dtype == "float64"
        assert theon.shared(np.float32(0.5)).dtype == "float32"
    finally:
        theon.config.floatX = old


def test_default_broadcastable_is_all_false_even_for_length_1():
    variable = theon.shared(np.ones((1, 3)))
    assert variable.broadcastable == (False, False)
    row = theon.shared(np.ones((1, 3)), broadcastable=(True, False))
    assert row.broadcastable == (True, False)
    # a broadcastable shared row broadcasts against a matrix
    x = T.dmatrix("x")
    got = theon.function([x], x + row)(np.zeros((2, 3)))
    np.testing.assert_array_equal(got, np.ones((2, 3)))


def test_bad_broadcastable_is_a_type_error():
    with pytest.raises(TypeError, match=r"shared: dimension 0 is declared broadcastable but "
                                        r"the value has length 2 there \(shape \(2, 3\)\)"):
        theon.shared(np.ones((2, 3)), broadcastable=(True, False))
    with pytest.raises(TypeError, match=r"shared: broadcastable=\(True,\) has 1 entries; the "
                                        r"value has rank 2"):
        theon.shared(np.ones((1, 3)), broadcastable=(True,))


def test_unsupported_values_are_rejected():
    with pytest.raises(TypeError, match="shared: value x is a symbolic variable"):
        theon.shared(T.dvector("x"))
    with pytest.raises(DTypeError, match="shared: a value of dtype <U1 is not supported; "
                                         "expected one of bool, int8, "):
        theon.shared(np.array(["a"]))
    with pytest.raises(DTypeError, match="shared: a value of dtype complex128 is not supported"):
        theon.shared(np.zeros(2, dtype=complex))
    with pytest.raises(DTypeError, match="shared: a value of dtype float16 is not supported"):
        theon.shared(np.zeros(2, dtype=np.float16))


# ---- get_value and set_value --------------------------------------------------------------

def test_constructor_copies_unless_borrow():
    value = np.zeros(3)
    copied = theon.shared(value)
    value[0] = 1.0
    assert copied.get_value()[0] == 0.0
    borrowed = theon.shared(value, borrow=True)
    assert borrowed.get_value(borrow=True) is value


def test_get_value_copies_unless_borrow():
    variable = theon.shared(np.arange(3.0))
    got = variable.get_value()
    got[0] = 100.0
    assert variable.get_value()[0] == 0.0
    inner = variable.get_value(borrow=True)
    assert inner is variable.get_value(borrow=True)
    inner[0] = 7.0
    assert variable.get_value()[0] == 7.0


def test_set_value_copies_unless_borrow():
    variable = theon.shared(np.zeros(3))
    value = np.ones(3)
    variable.set_value(value)
    value[0] = 5.0
    np.testing.assert_array_equal(variable.get_value(), [1.0, 1.0, 1.0])
    variable.set_value(value, borrow=True)
    assert variable.get_value(borrow=True) is value


def test_set_value_may_change_the_shape():
    variable = theon.shared(np.zeros((2, 3)), name="W")
    variable.set_value(np.ones((5, 4)))
    assert variable.get_value().shape == (5, 4)
    variable.set_value(np.ones((0, 4)))
    assert variable.get_value().shape == (0, 4)


def test_set_value_converts_python_numbers_and_safe_dtypes():
    f64 = theon.shared(np.zeros(3), name="v")
    f64.set_value([1, 2, 3])
    assert f64.get_value().dtype == np.float64
    f64.set_value(np.array([1, 2, 3], dtype=np.int32))  # int32 -> float64 loses nothing
    np.testing.assert_array_equal(f64.get_value(), [1.0, 2.0, 3.0])
    f32 = theon.shared(np.float32(0), name="lr")
    f32.set_value(0.1)  # a Python float into float32, as function arguments
    assert f32.get_value().dtype == np.float32 and f32.get_value() == np.float32(0.1)
    i32 = theon.shared(np.int32(0), name="k")
    i32.set_value(7)
    assert i32.get_value().dtype == np.int32 and i32.get_value() == 7
    scalar = theon.shared(0.0)
    scalar.set_value(3)
    assert scalar.get_value() == 3.0 and scalar.get_value().dtype == np.float64


def test_set_value_wrong_rank_names_the_variable():
    variable = theon.shared(np.zeros((2, 3)), name="W")
    with pytest.raises(TypeError, match=r"set_value: shared variable 'W' \(float64\[\?, \?\]\) "
                                        r"got a value of rank 1 \(shape \(3,\)\); expected "
                                        r"rank 2"):
        variable.set_value(np.zeros(3))
    with pytest.raises(TypeError, match=r"shared variable 'W' .* got a value of rank 0"):
        variable.set_value(1.0)


def test_set_value_lossy_dtype_names_expected_and_given():
    variable = theon.shared(np.zeros(3, dtype=np.float32), name="W")
    with pytest.raises(DTypeError, match=r"set_value: shared variable 'W' \(float32\[\?\]\) got "
                                         r"dtype float64; expected float32, and the conversion "
                                         r"could lose precision"):
        variable.set_value(np.zeros(3))
    counter = theon.shared(np.int32(0), name="k")
    with pytest.raises(DTypeError, match="shared variable 'k' .* got dtype int64; expected "
                                         "int32"):
        counter.set_value(2 ** 40)
    with pytest.raises(DTypeError, match="got dtype float64; expected int32"):
        counter.set_value(1.5)
    with pytest.raises(DTypeError, match="got a value of dtype <U1; expected float32"):
        variable.set_value(np.array(["a", "b", "c"]))


def test_allow_downcast_and_strict():
    loose = theon.shared(np.zeros(2, dtype=np.float32), allow_downcast=True)
    loose.set_value(np.array([0.1, 0.2]))
    assert loose.get_value().dtype == np.float32
    np.testing.assert_array_equal(loose.get_value(), np.array([0.1, 0.2], np.float32))
    strict = theon.shared(np.zeros(2), strict=True, name="s")
    strict.set_value(np.ones(2))
    with pytest.raises(DTypeError, match=r"shared variable 's' .* got list; expected an ndarray "
                                         r"of dtype float64 \(the variable is strict\)"):
        strict.set_value([1.0, 2.0])
    with pytest.raises(DTypeError, match="got int64; expected an ndarray of dtype float64"):
        strict.set_value(np.ones(2, dtype=np.int64))


def test_set_value_respects_broadcastable_dimensions():
    row = theon.shared(np.ones((1, 3)), broadcastable=(True, False), name="r")
    row.set_value(np.zeros((1, 5)))
    with pytest.raises(TypeError, match=r"shared variable 'r' .* got a value of shape \(2, 5\); "
                                        r"expected length 1 at axis 0"):
        row.set_value(np.zeros((2, 5)))


def test_set_value_with_non_contiguous_value_copies_to_c_order():
    variable = theon.shared(np.zeros((3, 2)))
    value = np.arange(12.0).reshape(4, 3)[::2, ::2].T.copy(order="F")
    variable.set_value(value)
    assert variable.get_value(borrow=True).flags.c_contiguous
    np.testing.assert_array_equal(variable.get_value(), value)


# ---- in expressions and functions ---------------------------------------------------------

def test_function_reads_the_current_value_without_recompiling(monkeypatch):
    W = theon.shared(np.ones((2, 2)), name="W")
    x = T.dvector("x")
    f = theon.function([x], T.dot(W, x))
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [3.0, 3.0])

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(compiler, "compile_graph", no_compile)
    W.set_value(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [1.0, 4.0])
    W.set_value(np.ones((3, 2)))  # a new shape: the compiled code does not depend on it
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [3.0, 3.0, 3.0])
    W.get_value(borrow=True)[:] = 0.0  # writing through a borrowed array is seen too
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [0.0, 0.0, 0.0])


def test_function_of_shared_only_and_output_is_a_copy():
    W = theon.shared(np.arange(3.0))
    f = theon.function([], W)
    got = f()
    np.testing.assert_array_equal(got, [0.0, 1.0, 2.0])
    got[0] = 9.0
    assert W.get_value()[0] == 0.0
    np.testing.assert_array_equal(W.eval(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal((W * 2).eval(), [0.0, 2.0, 4.0])


def test_integer_and_zero_dimensional_shared_variables():
    count = theon.shared(0, name="count")
    scale = theon.shared(np.float32(2), name="scale")
    x = T.fvector("x")
    f = theon.function([x], [x * scale, count + 1])
    out, following = f(np.array([1, 2], np.float32))
    assert out.dtype == np.float32 and following.dtype == np.int64 and following == 1
    np.testing.assert_array_equal(out, [2.0, 4.0])


def test_cast_of_a_shared_variable():
    W = theon.shared(np.array([1.7, -2.2, 3.5]), name="W")
    as_int = T.cast(W, "int32")
    assert as_int.dtype == "int32"
    got = theon.function([], as_int)()
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, np.array([1.7, -2.2, 3.5]).astype(np.int32))
    np.testing.assert_array_equal(theon.function([], W.astype("float32"))(),
                                  np.array([1.7, -2.2, 3.5], np.float32))


def test_shared_variables_are_distinct_inputs_and_graphs_are_cached():
    a = theon.shared(np.ones(3), name="a")
    b = theon.shared(np.ones(3) * 2, name="b")
    assert a.node is not b.node
    f = theon.function([], a * 3.0 + a)
    g = theon.function([], b * 3.0 + b)   # the same structure: a cache hit
    assert g.report.cache == "memory"
    np.testing.assert_array_equal(f(), [4.0] * 3)
    np.testing.assert_array_equal(g(), [8.0] * 3)
    h = theon.function([], a + b)
    np.testing.assert_array_equal(h(), [3.0] * 3)


def test_shape_errors_name_the_shared_variable():
    W = theon.shared(np.ones((2, 3)), name="W")
    x = T.dmatrix("x")
    f = theon.function([x], x + W)
    # the operand the message measures the other against depends on the operand order a
    # cached compilation of an equal graph chose: either way it names W and its shape
    with pytest.raises(theon.ShapeError,
                       match=r"to match 'W' \(shape \(2, 3\)\)|'W' has shape \(2, 3\)"):
        f(np.ones((4, 4)))


def test_a_graph_keeps_its_shared_variables_alive():
    W = theon.shared(np.arange(3.0), name="W")
    expression = W * 2
    reference = weakref.ref(W)
    del W
    gc.collect()
    assert reference() is not None
    np.testing.assert_array_equal(theon.function([], expression)(), [0.0, 2.0, 4.0])
    del expression
    gc.collect()
    assert reference() is None  # and nothing else holds it


def test_shared_variable_cannot_be_an_explicit_input():
    W = theon.shared(np.zeros(2), name="W")
    with pytest.raises(TypeError, match=r"function: input 0 \(W\): cannot use a shared variable "
                                        "as explicit input"):
        theon.function([W], W * 2)


def test_mixed_inputs_order_and_argument_count():
    W = theon.shared(np.ones(2), name="W")
    x, y = T.dvector("x"), T.dvector("y")
    f = theon.function([x, y], x * W - y)
    np.testing.assert_array_equal(f(np.array([2.0, 3.0]), np.array([1.0, 1.0])), [1.0, 2.0])
    with pytest.raises(TypeError, match=r"function takes 2 inputs \(x, y\); got 1"):
        f(np.ones(2))
    f.trust_input = True
    np.testing.assert_array_equal(f(np.array([2.0, 3.0]), np.array([1.0, 1.0])), [1.0, 2.0])
