"""Bad input: the exact exception type and the key parts of its message (STYLE.md section 8):
the operation, the input (position and name), what was expected and what was given."""
import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import DTypeError, MissingInputError, ShapeError, UnusedInputError


def raises(exception, match):
    """pytest.raises that also insists on the exact type (not a subclass)."""
    context = pytest.raises(exception, match=match)

    class Exact:
        def __enter__(self):
            self.info = context.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = context.__exit__(*exc)
            assert self.info.type is exception, self.info.type
            return suppressed

    return Exact()


def test_exception_hierarchy():
    assert issubclass(DTypeError, TypeError)
    assert issubclass(ShapeError, ValueError)
    assert issubclass(UnusedInputError, ValueError)
    assert issubclass(MissingInputError, ValueError)
    assert issubclass(theon.CompileError, RuntimeError)


@pytest.fixture(scope="module")
def add_xy():
    x, y = T.fvector("x"), T.fvector("y")
    return theon.function([x, y], x + y)


@pytest.fixture(scope="module")
def add_two_outputs():
    """Not a single-kernel function: arguments go through the general call path."""
    x, y = T.fvector("x"), T.fvector("y")
    return theon.function([x, y], [x + y, x])


@pytest.fixture(params=["direct", "general"])
def adder(request, add_xy, add_two_outputs):
    return add_xy if request.param == "direct" else add_two_outputs


def test_wrong_number_of_arguments(adder):
    ones = np.ones(3, np.float32)
    with raises(TypeError, match=r"function takes 2 inputs \(x, y\); got 1"):
        adder(ones)
    with raises(TypeError, match=r"function takes 2 inputs \(x, y\); got 3"):
        adder(ones, ones, ones)


def test_wrong_rank(adder):
    with raises(TypeError, match=r"function: input 0 \('x', float32\[\?\]\) got an array of "
                                 r"rank 2 \(shape \(2, 3\)\); expected rank 1"):
        adder(np.ones((2, 3), np.float32), np.ones(3, np.float32))
    with raises(TypeError, match=r"input 1 \('y', float32\[\?\]\) got an array of rank 0"):
        adder(np.ones(3, np.float32), 1.5)


def test_lossy_dtype(adder):
    with raises(DTypeError, match=r"function: input 1 \('y', float32\[\?\]\) got dtype float64; "
                                  r"expected float32, and the conversion could lose precision "
                                  r"\(pass allow_input_downcast=True"):
        adder(np.ones(3, np.float32), np.ones(3))
    with raises(DTypeError, match=r"input 0 \('x', float32\[\?\]\) got dtype int64; expected "
                                  "float32"):
        adder(np.ones(3, np.int64), np.ones(3, np.float32))


def test_non_numeric_argument(adder):
    with raises(DTypeError, match=r"input 0 \('x', float32\[\?\]\) got an array of dtype <U1; "
                                  "expected float32"):
        adder(np.array(["a", "b", "c"]), np.ones(3, np.float32))


def test_shape_mismatch_on_non_broadcastable_dims(adder):
    with raises(ShapeError, match=r"'y' has shape \(4,\); expected length 3 at axis 0 to match "
                                  r"'x' \(shape \(3,\)\); only dimensions declared broadcastable "
                                  "may differ"):
        adder(np.ones(3, np.float32), np.ones(4, np.float32))


def test_length_one_on_a_non_broadcastable_dim(adder):
    """A length-1 array does not broadcast where the pattern says it does not (Theano)."""
    with raises(ShapeError, match=r"'y' has shape \(4,\); expected length 1 at axis 0 to match "
                                  r"'x' \(shape \(1,\)\)"):
        adder(np.ones(1, np.float32), np.ones(4, np.float32))
    with raises(ShapeError, match=r"expected length 4 at axis 0 to match 'x' \(shape \(4,\)\)"):
        adder(np.ones(4, np.float32), np.ones(1, np.float32))


def test_shape_mismatch_across_ranks():
    x, m = T.fvector("x"), T.fmatrix("m")
    f = theon.function([x, m], x + m)
    with raises(ShapeError, match=r"'m' has shape \(2, 4\); expected length 3 at axis 1 to "
                                  r"match 'x' \(shape \(3,\)\)"):
        f(np.ones(3, np.float32), np.ones((2, 4), np.float32))


def test_length_other_than_one_on_a_broadcastable_dim():
    r, m = T.frow("r"), T.fmatrix("m")
    f = theon.function([r, m], r + m)
    with raises(ShapeError, match=r"function: input 0 \('r', float32\[1, \?\]\) has shape "
                                  r"\(2, 3\); expected length 1 at axis 0 \(a broadcastable "
                                  r"dimension\)"):
        f(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(f(np.ones((1, 3), np.float32), np.ones((2, 3), np.float32)),
                                  np.full((2, 3), 2.0, np.float32))


def test_incompatible_static_types_fail_at_build():
    a = T.TensorType("float32", shape=(3,))("a")
    b = T.TensorType("float32", shape=(4,))("b")
    with raises(ShapeError, match=r"add: static shapes \[\(3,\), \(4,\)\] do not broadcast: "
                                  r"lengths \[3, 4\] at axis 0"):
        a + b
    c = T.TensorType("float64", shape=(2, None))("c")
    d = T.TensorType("float64", shape=(None, 5))("d")
    assert (c * d).type.shape == (2, 5)
    e = T.TensorType("float64", shape=(3, 5))("e")
    with raises(ShapeError, match=r"mul: static shapes .* lengths \[2, 3\] at axis 0"):
        c * e


def test_static_length_is_checked_at_call():
    a = T.TensorType("float64", shape=(3,))("a")
    f = theon.function([a], a * 2)
    with raises(ShapeError, match=r"input 0 \('a', float64\[3\]\) has shape \(4,\); expected "
                                  r"length 3 at axis 0 \(a static length\)"):
        f(np.ones(4))


@pytest.mark.parametrize("build", [lambda x, i: x & i, lambda x, i: i | x,
                                   lambda x, i: x ^ x, lambda x, i: ~x])
def test_bitwise_on_floats_fails_at_build(build):
    x, i = T.fvector("x"), T.ivector("i")
    with raises(DTypeError, match=r"(and_|or_|xor|invert): input [01] has dtype float32; "
                                  "expected an integer or bool dtype"):
        build(x, i)


def test_unused_input():
    x, y = T.dvector("x"), T.dvector("y")
    with raises(UnusedInputError, match=r"function: input 1 \('y'\) is not used to compute "
                                        "any output; pass on_unused_input='ignore'"):
        theon.function([x, y], x * 2)


def test_missing_input():
    x, y = T.dvector("x"), T.dvector("y")
    with raises(MissingInputError, match=r"function: an output depends on input 'input y' "
                                         r"\(float64\[\?\]\), which is not among the "
                                         "function's inputs"):
        theon.function([x], x + y)


def test_non_variable_in_inputs():
    x = T.dvector("x")
    with raises(TypeError, match="function: input 1 is a int, not a symbolic variable"):
        theon.function([x, 3], x)
    with raises(TypeError, match="function: input 0 is a ndarray, not a symbolic variable"):
        theon.function([np.ones(3)], x)
    with raises(TypeError, match=r"function: input 0 \(<add float64\[\?\]>\) is computed from "
                                 "other variables or constant"):
        theon.function([x + 1], x)
    with raises(TypeError, match="function: inputs must be a list of variables, got Variable"):
        theon.function(x, x)


def test_input_given_twice():
    x = T.dvector("x")
    with raises(ValueError, match=r"function: input 1 \(x\) is given twice"):
        theon.function([x, x], x)


def test_bool_len_iter_of_a_variable():
    x = T.dvector("x")
    with raises(TypeError, match="a symbolic variable has no truth value; use T.switch"):
        bool(x)
    with raises(TypeError, match="a symbolic variable has no truth value"):
        if x > 0:
            pass
    with raises(TypeError, match=r"a symbolic variable has no len\(\)"):
        len(x)
    with raises(TypeError, match="a symbolic variable is not iterable"):
        list(x)


def test_wrong_number_of_operands_to_an_op():
    x = T.dvector("x")
    with raises(TypeError, match="exp: expected 1 argument, got 2"):
        T.exp(x, x)
    with raises(TypeError, match="add: expected 2 arguments, got 1"):
        T.add(x)


def test_unknown_dtype():
    with raises(TypeError, match="dtype 'complex128' is not supported"):
        T.vector("x", dtype="complex128")
    with raises(TypeError, match="unknown dtype 'nonsense'"):
        T.vector("x", dtype="nonsense")


def test_update_of_a_non_shared_variable():
    x = T.dvector("x")
    with raises(TypeError, match="update target must be a SharedVariable"):
        theon.function([x], x, updates=[(x, x + 1)])


def test_shape_index_errors():
    x = T.dmatrix("x")
    with raises(IndexError, match=r"x.shape\[2\]: axis out of range for a tensor of rank 2"):
        x.shape[2]
