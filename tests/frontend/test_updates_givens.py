"""``theon.function``'s ``updates``, default updates, ``givens`` and
``allow_input_downcast``: Theano's rules one by one, in-place updates (the parameter arrays
keep their address), and a few steps of SGD on a linear model against numpy."""
from collections import OrderedDict

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import DTypeError
from theon.runtime import threads


def _address(variable):
    return variable.get_value(borrow=True).ctypes.data


# ---- updates: forms and semantics ---------------------------------------------------------

@pytest.mark.parametrize("form", ["list", "tuple", "ordered_dict", "dict"])
def test_update_forms(form):
    a = theon.shared(np.zeros(2), name="a")
    b = theon.shared(np.int64(5), name="b")
    pairs = [(a, a + 1.0), (b, b * 2)]
    updates = {"list": list, "tuple": tuple, "ordered_dict": OrderedDict,
               "dict": dict}[form](pairs)
    f = theon.function([], [], updates=updates)
    assert f() == []
    f()
    np.testing.assert_array_equal(a.get_value(), [2.0, 2.0])
    assert b.get_value() == 20


def test_updates_read_the_values_from_before_the_call():
    a = theon.shared(np.array([1.0, 2.0]), name="a")
    b = theon.shared(np.array([10.0, 20.0]), name="b")
    swap = theon.function([], [], updates=[(a, b), (b, a)])
    swap()
    np.testing.assert_array_equal(a.get_value(), [10.0, 20.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    mix = theon.function([], [], updates=[(a, a + b), (b, a - b)])
    mix()  # a = 10 + 1, b = 10 - 1 (both from the old a and b)
    np.testing.assert_array_equal(a.get_value(), [11.0, 22.0])
    np.testing.assert_array_equal(b.get_value(), [9.0, 18.0])
    chain = theon.function([], [], updates=[(a, a * 0.0), (b, a * 10.0)])
    chain()
    np.testing.assert_array_equal(a.get_value(), [0.0, 0.0])
    np.testing.assert_array_equal(b.get_value(), [110.0, 220.0])


def test_outputs_see_the_values_from_before_the_call():
    W = theon.shared(np.array([1.0, 2.0]), name="W")
    f = theon.function([], [W, W * 2, W.sum()], updates=[(W, W + 1)])
    old, doubled, total = f()
    np.testing.assert_array_equal(old, [1.0, 2.0])
    np.testing.assert_array_equal(doubled, [2.0, 4.0])
    assert total == 3.0
    np.testing.assert_array_equal(W.get_value(), [2.0, 3.0])
    assert not np.shares_memory(old, W.get_value(borrow=True))


def test_each_update_is_applied_exactly_once_per_call():
    count = theon.shared(0, name="count")
    f = theon.function([], count + 1, updates=[(count, count + 1)])
    assert [int(f()) for _ in range(4)] == [1, 2, 3, 4]
    assert count.get_value() == 4
    returned = f()
    returned += 100  # the output and the new value are distinct arrays
    assert count.get_value() == 5


def test_function_without_inputs_or_outputs_applies_its_updates():
    count = theon.shared(np.int32(0), name="count")
    f = theon.function([], updates=[(count, count + 1)])
    assert f() == []
    assert f() == []
    assert count.get_value() == 2 and count.get_value().dtype == np.int32


def test_updates_with_explicit_inputs_and_trust_input():
    total = theon.shared(np.zeros(3), name="total")
    x = T.dvector("x")
    f = theon.function([x], total + x, updates=[(total, total + x)])
    np.testing.assert_array_equal(f(np.ones(3)), [1.0] * 3)
    f.trust_input = True
    np.testing.assert_array_equal(f(np.full(3, 2.0)), [3.0] * 3)
    np.testing.assert_array_equal(total.get_value(), [3.0] * 3)


def test_numeric_update_values_are_converted_when_nothing_is_lost():
    a = theon.shared(np.ones(3), name="a")
    k = theon.shared(np.int32(4), name="k")
    theon.function([], [], updates=[(a, np.zeros(3)), (k, 0)])()
    np.testing.assert_array_equal(a.get_value(), [0.0] * 3)
    assert k.get_value() == 0 and k.get_value().dtype == np.int32
    f32 = theon.shared(np.ones(2, np.float32), name="w")
    with pytest.raises(DTypeError, match=r"function: the update of shared variable 'w' "
                                         r"\(float32\[\?\]\) got dtype float64; expected "
                                         "float32"):
        theon.function([], [], updates=[(f32, np.zeros(2))])


def test_update_that_changes_the_shape():
    v = theon.shared(np.array([1.0, 2.0]), name="v")
    f = theon.function([], [], updates=[(v, T.concatenate([v, v * 10]))])
    f()
    np.testing.assert_array_equal(v.get_value(), [1.0, 2.0, 10.0, 20.0])
    f()
    assert v.get_value().shape == (8,)


# ---- updates: errors ----------------------------------------------------------------------

def test_update_of_another_dtype_is_theanos_type_error():
    W = theon.shared(np.zeros((2, 2), np.float32), name="W")
    x = T.dmatrix("x")
    message = (r"An update must have the same type as the original shared variable "
               r"\(shared_var=W, shared_var.type=TensorType\(float32, shape=\(None, None\)\), "
               r"update_val=.*, update_val.type=TensorType\(float64, shape=\(None, None\)\)\)"
               r"\. The dtypes differ: cast the expression, e.g. T.cast\(update, 'float32'\)")
    with pytest.raises(TypeError, match=message):
        theon.function([x], [], updates=[(W, W - x)])
    # the documented remedy works
    f = theon.function([x], [], updates=[(W, T.cast(W - x, "float32"))])
    f(np.ones((2, 2)))
    np.testing.assert_array_equal(W.get_value(), -np.ones((2, 2), np.float32))
    count = theon.shared(0, name="count")  # int64
    with pytest.raises(TypeError, match="shared_var=count, .*update_val.type=TensorType"
                                        r"\(float64, shape=\(\)\)"):
        theon.function([], [], updates=[(count, count + 0.5)])


def test_update_with_another_broadcast_pattern_or_rank():
    W = theon.shared(np.zeros((1, 3)), name="W")
    row = T.shape_padleft(T.dvector("v"))
    assert row.broadcastable == (True, False)
    with pytest.raises(TypeError, match=r"shared_var.type=TensorType\(float64, shape=\(None, "
                                        r"None\)\), .*update_val.type=TensorType\(float64, "
                                        r"shape=\(1, None\)\)\)\. If the difference is related "
                                        "to the broadcast pattern"):
        theon.function([], [], updates=[(W, row)], givens={})
    v = theon.shared(np.zeros(3), name="v")
    with pytest.raises(TypeError, match=r"An update must have the same type .*shared_var=v"):
        theon.function([], [], updates=[(v, v.sum())])


def test_update_target_must_be_shared():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"function: update target must be a SharedVariable; "
                                        r"update 0 targets x \(Variable\), which is not a "
                                        "shared variable"):
        theon.function([x], [], updates=[(x, x + 1)])


def test_same_shared_variable_updated_twice():
    W = theon.shared(np.zeros(2), name="W")
    with pytest.raises(ValueError, match="function: this shared variable already has an update "
                                         "expression: W is updated twice"):
        theon.function([], [], updates=[(W, W + 1), (W, W + 2)])


def test_malformed_updates():
    W = theon.shared(np.zeros(2), name="W")
    with pytest.raises(TypeError, match=r"updates must be a list of \(shared variable, new "
                                        r"value\) pairs; got the single pair \(W, .*\): wrap "
                                        "it in a list"):
        theon.function([], [], updates=(W, W + 1))
    with pytest.raises(TypeError, match=r"function: update 0 is W; expected a \(shared "
                                        r"variable, new value\) pair"):
        theon.function([], [], updates=[W])
    with pytest.raises(TypeError, match="updates must be a list, tuple or dict of .* got set"):
        theon.function([], [], updates={W})


# ---- in-place updates ---------------------------------------------------------------------

def test_updates_are_computed_in_place_and_the_array_keeps_its_address():
    W = theon.shared(np.arange(6.0).reshape(2, 3), name="W")
    b = theon.shared(np.zeros(3), name="b")
    x = T.dvector("x")
    f = theon.function([x], (W * x).sum(), updates=[(W, W * 0.5 + x), (b, b + x)])
    # white box: both update kernels write straight into the shared arrays
    assert sorted(f._executable.inplace.values(), key=str) == [{0: 1}, {0: 2}]
    addresses = (_address(W), _address(b))
    expected_W, expected_b = np.arange(6.0).reshape(2, 3), np.zeros(3)
    for step in range(3):
        value = np.array([1.0, 2.0, 3.0]) * step
        got = f(value)
        assert got == (expected_W * value).sum()
        expected_W, expected_b = expected_W * 0.5 + value, expected_b + value
        np.testing.assert_array_equal(W.get_value(), expected_W)
        np.testing.assert_array_equal(b.get_value(), expected_b)
        assert (_address(W), _address(b)) == addresses


def test_update_copied_into_the_array_when_not_computed_by_a_kernel():
    W = theon.shared(np.arange(4.0).reshape(2, 2), name="W")
    before = _address(W)
    f = theon.function([], [], updates=[(W, T.dot(W, W))])  # numpy's dot: copied back
    expected = np.arange(4.0).reshape(2, 2)
    for _ in range(2):
        f()
        expected = expected @ expected
    np.testing.assert_array_equal(W.get_value(), expected)
    assert _address(W) == before


@pytest.mark.parametrize("case", ["transpose", "output_view", "other_update_reads_it",
                                  "returned_too", "reduction"])
def test_in_place_is_refused_where_the_old_value_is_still_needed(case):
    start = np.arange(9.0).reshape(3, 3)
    W = theon.shared(start, name="W")
    V = theon.shared(np.ones((3, 3)), name="V")
    if case == "transpose":        # the kernel reads W at another index than it writes
        outputs, updates = [], [(W, W.T + W)]
        expected_W, expected_out = start.T + start, []
    elif case == "output_view":    # an output is a view of W, copied after the last step
        outputs, updates = [W.T], [(W, W + 1)]
        expected_W, expected_out = start + 1, [start.T]
    elif case == "other_update_reads_it":
        outputs, updates = [], [(W, W * 2), (V, V + W.T)]
        expected_W, expected_out = start * 2, []
    elif case == "returned_too":   # the same expression as an output and as the update
        outputs, updates = [W + 1], [(W, W + 1)]
        expected_W, expected_out = start + 1, [start + 1]
    else:
        outputs, updates = [], [(W, W - W.sum(axis=0))]
        expected_W, expected_out = start - start.sum(axis=0), []
    f = theon.function([], outputs, updates=updates)
    got = f()
    np.testing.assert_array_equal(W.get_value(), expected_W)
    for value, expected in zip(got, expected_out):
        np.testing.assert_array_equal(value, expected)
        assert not np.shares_memory(value, W.get_value(borrow=True))
    if case == "other_update_reads_it":
        np.testing.assert_array_equal(V.get_value(), 1 + start.T)


def test_large_update_split_across_threads_is_correct_in_place():
    n = threads.PARALLEL_MIN_ELEMENTS * 2
    start = np.linspace(-1.0, 1.0, n).reshape(-1, 64)
    W = theon.shared(start, name="W")
    f = theon.function([], W.sum(), updates=[(W, W * 0.5 + 1.0)])
    before = _address(W)
    old_threads = theon.config.num_threads
    try:
        theon.config.num_threads = 2
        total = f()
    finally:
        theon.config.num_threads = old_threads
    np.testing.assert_allclose(total, start.sum(), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(W.get_value(), start * 0.5 + 1.0)
    assert _address(W) == before


def test_argument_aliasing_a_shared_array_updated_in_place():
    W = theon.shared(np.ones(4), name="W")
    V = theon.shared(np.zeros(4), name="V")
    x = T.dvector("x")
    f = theon.function([x], [], updates=[(W, W * 2), (V, x + 1)])
    f(W.get_value(borrow=True))  # x is W's own array: V must see the value before the call
    np.testing.assert_array_equal(W.get_value(), [2.0] * 4)
    np.testing.assert_array_equal(V.get_value(), [2.0] * 4)


def test_borrowed_arrays_that_cannot_be_written_in_place():
    strided = np.zeros((4, 6))[:, ::2]
    W = theon.shared(strided, borrow=True, name="W")
    assert W.get_value(borrow=True) is strided
    f = theon.function([], [], updates=[(W, W + 1)])
    f()
    np.testing.assert_array_equal(W.get_value(), np.ones((4, 3)))
    frozen = np.zeros(3)
    frozen.setflags(write=False)
    R = theon.shared(frozen, borrow=True, name="R")
    theon.function([], [], updates=[(R, R + 1)])()
    np.testing.assert_array_equal(R.get_value(), [1.0] * 3)
    np.testing.assert_array_equal(frozen, [0.0] * 3)


# ---- default updates ----------------------------------------------------------------------

def test_default_update_is_applied_when_the_variable_is_used():
    count = theon.shared(0, name="count")
    count.default_update = count + 1
    f = theon.function([], count * 10)
    assert [int(f()) for _ in range(3)] == [0, 10, 20]
    assert count.get_value() == 3
    other = theon.shared(np.zeros(2), name="other")
    theon.function([], other * 2)()  # does not use count: no default update
    assert count.get_value() == 3


def test_user_update_overrides_the_default_update():
    count = theon.shared(0, name="count")
    count.default_update = count + 1
    theon.function([], count, updates=[(count, count + 100)])()
    assert count.get_value() == 100


@pytest.mark.parametrize("option", [True, "list"])
def test_no_default_updates(option):
    count = theon.shared(0, name="count")
    count.default_update = count + 1
    other = theon.shared(0, name="other")
    other.default_update = other + 1
    skip = True if option is True else [count]
    f = theon.function([], count + other, no_default_updates=skip)
    f()
    f()
    assert count.get_value() == 0
    assert other.get_value() == (0 if option is True else 2)


def test_default_updates_reached_through_other_updates():
    step = theon.shared(0, name="step")
    step.default_update = step + 1
    total = theon.shared(0, name="total")
    f = theon.function([], [], updates=[(total, total + step)])  # uses step: updated too
    f()
    f()
    assert total.get_value() == 1 and step.get_value() == 2


def test_default_update_of_another_type():
    W = theon.shared(np.zeros(2, np.float32), name="W")
    W.default_update = T.cast(W, "float64") + 1
    with pytest.raises(TypeError, match=r"A default_update must have the same type as the "
                                        r"original shared variable \(shared_var=W"):
        theon.function([], W)


# ---- givens ---------------------------------------------------------------------------------

def test_givens_shared_dataset_minibatches_and_set_value():
    data = np.arange(20.0).reshape(10, 2)
    train_x = theon.shared(data, name="train_x")
    x = T.dmatrix("x")
    i = T.lscalar("i")
    batch = 3
    cost = (x ** 2).sum()
    f = theon.function([i], cost, givens={x: train_x[i * batch:(i + 1) * batch]})
    for index in range(3):
        assert f(index) == (data[index * batch:(index + 1) * batch] ** 2).sum()
    new = -np.ones((4, 2))
    train_x.set_value(new)
    assert f(0) == 6.0 and f(1) == 2.0  # sees the new data (a short last batch)


def test_givens_as_a_list_of_pairs_and_numeric_values():
    x, y = T.dvector("x"), T.dvector("y")
    k = T.dscalar("k")
    f = theon.function([k], (x + y) * k, givens=[(x, T.constant(np.ones(2))),
                                                 (y, np.array([1.0, 2.0]))])
    np.testing.assert_array_equal(f(2.0), [4.0, 6.0])


def test_givens_replace_shared_variables_and_intermediates():
    W = theon.shared(np.ones(2), name="W")
    x = T.dvector("x")
    hidden = W * x
    out = hidden + 1
    f = theon.function([x], out, givens={W: x * 3})
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [4.0, 13.0])
    g = theon.function([x], out, givens={hidden: x - 5})
    np.testing.assert_array_equal(g(np.array([1.0, 2.0])), [-3.0, -2.0])


def test_givens_apply_to_updates():
    data = theon.shared(np.array([1.0, 2.0, 3.0]), name="data")
    total = theon.shared(0.0, name="total")
    x = T.dvector("x")
    f = theon.function([], [], updates=[(total, total + x.sum())], givens={x: data})
    f()
    data.set_value(np.array([10.0]))
    f()
    assert total.get_value() == 16.0


def test_givens_type_mismatch_names_both_types():
    x = T.dmatrix("x")
    v = T.dvector("v")
    with pytest.raises(TypeError, match=r"function: givens cannot replace x of type "
                                        r"TensorType\(float64, shape=\(None, None\)\) by v of "
                                        r"type TensorType\(float64, shape=\(None,\)\)"):
        theon.function([v], x.sum(), givens={x: v})
    f = T.fmatrix("f")
    with pytest.raises(TypeError, match=r"by f of type TensorType\(float32, shape=\(None, "
                                        r"None\)\)"):
        theon.function([f], x.sum(), givens={x: f})
    row = T.drow("row")
    with pytest.raises(TypeError, match="length 1 where the original is broadcastable"):
        theon.function([x], row.sum(), givens={row: x})


def test_givens_may_not_replace_an_input():
    x = T.dvector("x")
    y = T.dvector("y")
    with pytest.raises(RuntimeError, match="function: you are trying to replace variable 'x' "
                                           "through the `givens` parameter, but this variable "
                                           "is an input to your function"):
        theon.function([x], x * 2, givens={x: y})


def test_malformed_givens():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="function: given keys must be symbolic variables; "
                                        "given 0 has the key 'x'"):
        theon.function([], x, givens={"x": x})
    with pytest.raises(ValueError, match="function: givens replaces x twice"):
        theon.function([], x, givens=[(x, np.ones(2)), (x, np.zeros(2))])
    a, b = T.dvector("a"), T.dvector("b")
    with pytest.raises(ValueError, match="a new variable may not depend on an old one"):
        theon.function([], a + b, givens=[(a, b), (b, a + 1)])


# ---- allow_input_downcast -----------------------------------------------------------------

def test_float64_array_for_float32_input_needs_allow_input_downcast():
    x = T.fvector("x")
    W = theon.shared(np.ones(2, np.float32), name="W")
    f = theon.function([x], x * W)
    with pytest.raises(TypeError, match=r"function: input 0 \('x', float32\[\?\]\) got dtype "
                                        r"float64; expected float32, and the conversion could "
                                        r"lose precision \(pass allow_input_downcast=True"):
        f(np.array([0.1, 0.2]))
    g = theon.function([x], x * W, allow_input_downcast=True)
    got = g(np.array([0.1, 0.2]))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([0.1, 0.2], np.float32))
    # lossless conversions and Python floats need no flag
    np.testing.assert_array_equal(f(np.array([1, 2], np.int8)), [1.0, 2.0])
    np.testing.assert_array_equal(f([0.5, 0.25]), [0.5, 0.25])


# ---- a whole training loop ----------------------------------------------------------------

def test_sgd_on_a_linear_model_matches_numpy():
    rng = np.random.default_rng(42)
    n, n_in, n_out, batch, lr = 24, 5, 3, 8, 0.05
    data_x = rng.normal(size=(n, n_in))
    data_y = data_x @ rng.normal(size=(n_in, n_out)) + 0.1 * rng.normal(size=(n, n_out))
    W0 = rng.normal(size=(n_in, n_out)) * 0.1
    train_x, train_y = theon.shared(data_x, name="train_x"), theon.shared(data_y, name="train_y")
    W = theon.shared(W0, name="W")
    b = theon.shared(np.zeros(n_out), name="b")
    x, y, i = T.dmatrix("x"), T.dmatrix("y"), T.lscalar("i")
    err = T.dot(x, W) + b - y
    count = T.cast(x.shape[0], "float64")
    cost = T.sum(err ** 2) / count
    grad_W = 2.0 * T.dot(x.T, err) / count   # d cost / d W, by hand
    grad_b = 2.0 * T.sum(err, axis=0) / count
    train = theon.function([i], cost, updates=[(W, W - lr * grad_W), (b, b - lr * grad_b)],
                           givens={x: train_x[i * batch:(i + 1) * batch],
                                   y: train_y[i * batch:(i + 1) * batch]})
    addresses = (_address(W), _address(b))
    ref_W, ref_b = W0.copy(), np.zeros(n_out)
    for epoch in range(3):
        for index in range(n // batch):
            xb = data_x[index * batch:(index + 1) * batch]
            yb = data_y[index * batch:(index + 1) * batch]
            ref_err = xb @ ref_W + ref_b - yb
            ref_cost = np.sum(ref_err ** 2) / batch
            got = train(index)
            np.testing.assert_allclose(got, ref_cost, rtol=1e-8, atol=1e-12)
            ref_W = ref_W - lr * 2.0 * xb.T @ ref_err / batch
            ref_b = ref_b - lr * 2.0 * ref_err.sum(axis=0) / batch
            np.testing.assert_allclose(W.get_value(), ref_W, rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(b.get_value(), ref_b, rtol=1e-8, atol=1e-12)
    assert (_address(W), _address(b)) == addresses
    assert train(0) < np.sum((data_x[:batch] @ W0 - data_y[:batch]) ** 2) / batch
