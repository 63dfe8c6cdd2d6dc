"""``theon.scan`` and the loops built on it (``map``, ``reduce``, ``foldl``, ``foldr``), with
Theano 1.0's semantics: values against numpy loops and closed forms, gradients against
closed forms and central differences (float64), sequence and output taps, ``go_backwards``,
per-step results not fed back, shared-variable updates and random streams inside the loop,
``until``, variables the step reaches without being passed, nested loops, the errors, one
compile whatever the number of steps, the numpy reference evaluator and the disk cache."""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import theon
import theon.tensor as T
from _numeric import numeric_gradient  # beside this file
from theon import ir
from theon.ir.ops import Scan
from theon.scan_module import until
from theon.tensor.shared_randomstreams import RandomStreams

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(0)


def _cumsum(x, **kwargs):
    return theon.scan(lambda v, total: total + v, sequences=x,
                      outputs_info=T.zeros((), x.dtype), **kwargs)


# ---- sit-sot loops over sequences ---------------------------------------------------------

def test_cumsum_values_and_gradient():
    x = T.dvector("x")
    out, updates = _cumsum(x)
    assert updates == {}
    f = theon.function([x], out)
    g = theon.function([x], theon.grad(out.sum(), x))
    value = RNG.standard_normal(7)
    np.testing.assert_allclose(f(value), np.cumsum(value), rtol=1e-12)
    # d/dx_j sum_t sum_{i<=t} x_i = n - j
    np.testing.assert_allclose(g(value), np.arange(7, 0, -1, dtype=np.float64), rtol=1e-12)
    assert f(np.zeros(0)).shape == (0,)


def _fibonacci(a, b, n):
    values = []
    for _ in range(n):
        a, b = b, a + b
        values.append(b)
    return np.array(values)


@pytest.mark.parametrize("symbolic", [False, True])
def test_fibonacci_with_two_output_taps(symbolic):
    x0 = T.dvector("x0")
    n = T.iscalar("n") if symbolic else 10
    seen = []

    def step(two_back, one_back):
        seen.append((two_back.ndim, one_back.ndim))
        return two_back + one_back

    fib, _ = theon.scan(step, outputs_info=dict(initial=x0, taps=[-2, -1]), n_steps=n)
    assert seen[0] == (0, 0)
    inputs = [x0, n] if symbolic else [x0]
    f = theon.function(inputs, fib)
    g = theon.function(inputs, theon.grad(fib[-1] + 0.5 * fib[3], x0))
    args = [10] if symbolic else []
    start = np.array([1.0, 1.0])
    np.testing.assert_array_equal(f(start, *args), _fibonacci(1.0, 1.0, 10))
    np.testing.assert_allclose(f([0.5, -2.0], *args), _fibonacci(0.5, -2.0, 10), rtol=1e-12)
    if symbolic:
        np.testing.assert_array_equal(f(start, 4), [2.0, 3.0, 5.0, 8.0])
    point = np.array([0.3, -0.7])

    def cost(p):
        values = f(p, *args)
        return values[-1] + 0.5 * values[3]

    got = g(point, *args)
    np.testing.assert_allclose(got, numeric_gradient(cost, point), rtol=1e-6)
    # fib[k] = F(k+1) x0[0] + F(k+2) x0[1] (F: Fibonacci numbers, F(1) = F(2) = 1)
    F = _fibonacci(0.0, 1.0, 14)  # F(2), F(3), ...
    F = np.concatenate([[1.0], F])  # F(1), F(2), ...
    np.testing.assert_allclose(got, [F[9] + 0.5 * F[3], F[10] + 0.5 * F[4]], rtol=1e-12)


def test_polynomial_of_two_sequences_and_a_non_sequence():
    # the Theano tutorial's example: the longer sequence (arange) is cut to the shorter
    coefficients = T.dvector("coefficients")
    x = T.dscalar("x")
    components, _ = theon.scan(lambda c, power, free: c * (free ** power),
                               sequences=[coefficients, T.arange(1000)], non_sequences=x)
    polynomial = components.sum()
    f = theon.function([coefficients, x], polynomial)
    g = theon.function([coefficients, x], theon.grad(polynomial, [coefficients, x]))
    c = np.array([1.0, 0.0, 2.0, -3.0])
    assert f(c, 3.0) == pytest.approx(1.0 + 2.0 * 9.0 - 3.0 * 27.0, rel=1e-12)
    gc, gx = g(c, 3.0)
    np.testing.assert_allclose(gc, 3.0 ** np.arange(4), rtol=1e-12)
    assert gx == pytest.approx(2.0 * 2.0 * 3.0 - 3.0 * 3.0 * 9.0, rel=1e-12)


def test_power_gradient_of_a_non_sequence():
    A = T.dvector("A")
    k = T.iscalar("k")
    result, updates = theon.scan(lambda prior, base: prior * base,
                                 outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    assert not updates
    final = result[-1]
    f = theon.function([A, k], final)
    g = theon.function([A, k], theon.grad(final.sum(), A))
    a = np.array([0.5, -1.5, 2.0, 3.0])
    for power in (1, 2, 5):
        np.testing.assert_allclose(f(a, power), a ** power, rtol=1e-12)
        np.testing.assert_allclose(g(a, power), power * a ** (power - 1), rtol=1e-12)
    np.testing.assert_allclose(theon.function([A, k], result)(a, 3),
                               [a, a ** 2, a ** 3], rtol=1e-12)


# ---- lengths ------------------------------------------------------------------------------

def test_sequences_of_different_lengths_the_shortest_wins():
    x, y = T.dvector("x"), T.dvector("y")
    out, _ = theon.scan(lambda a, b: a * b, sequences=[x, y])
    f = theon.function([x, y], out)
    np.testing.assert_array_equal(f([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 3.0, 4.0]), [2.0, 6.0, 12.0])
    np.testing.assert_array_equal(f([1.0, 2.0], [2.0, 3.0, 4.0]), [2.0, 6.0])


def test_fewer_steps_than_the_sequences_allow():
    x = T.dvector("x")
    n = T.iscalar("n")
    out, _ = _cumsum(x, n_steps=n)
    f = theon.function([x, n], out)
    value = np.arange(1.0, 7.0)
    np.testing.assert_array_equal(f(value, 3), [1.0, 3.0, 6.0])
    np.testing.assert_array_equal(f(value, 6), np.cumsum(value))
    assert f(value, 0).shape == (0,)
    fixed, _ = _cumsum(x, n_steps=2)
    np.testing.assert_array_equal(theon.function([x], fixed)(value), [1.0, 3.0])


def test_more_steps_than_a_sequence_has_raises():
    x = T.dvector("x")
    n = T.iscalar("n")
    out, _ = _cumsum(x, n_steps=n)
    f = theon.function([x, n], out)
    with pytest.raises(ValueError, match=re.escape(
            "scan: sequence 0 has 3 entries; 5 steps reading it at offset 0 need 5")):
        f([1.0, 2.0, 3.0], 5)


# ---- taps ---------------------------------------------------------------------------------

def test_sequence_taps():
    x = T.dvector("x")
    out, _ = theon.scan(lambda before, now, after: before + 10 * now + 100 * after,
                        sequences=dict(input=x, taps=[-1, 0, 1]))
    f = theon.function([x], out)
    value = np.arange(1.0, 7.0)
    np.testing.assert_array_equal(f(value), value[:-2] + 10 * value[1:-1] + 100 * value[2:])
    assert f(value).shape == (4,)
    g = theon.function([x], theon.grad((out * np.arange(1.0, 5.0)).sum(), x))
    w = np.arange(1.0, 5.0)
    expected = np.zeros(6)
    expected[:-2] += w
    expected[1:-1] += 10 * w
    expected[2:] += 100 * w
    np.testing.assert_allclose(g(value), expected, rtol=1e-12)


def test_go_backwards_values_and_gradient():
    x = T.dvector("x")
    w = T.dvector("w")
    out, _ = _cumsum(x, go_backwards=True)
    cost = (out * w).sum() + (out ** 2).sum()
    f = theon.function([x], out)
    fc = theon.function([x, w], cost)
    g = theon.function([x, w], theon.grad(cost, x))
    value = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    np.testing.assert_array_equal(f(value), [16.0, 24.0, 28.0, 30.0, 31.0])
    weights = RNG.standard_normal(5)
    np.testing.assert_allclose(g(value, weights),
                               numeric_gradient(lambda p: fc(p, weights), value), rtol=1e-6)


def test_per_step_results_mixed_with_states_in_the_users_order():
    x = T.dvector("x")

    def step(v, total, product):
        return [2 * v, total + v, v ** 2, product * v]

    outputs, _ = theon.scan(step, sequences=x, outputs_info=[
        None, T.constant(0.0), None, dict(initial=T.constant(1.0), taps=[-1])])
    doubled, totals, squares, products = outputs
    f = theon.function([x], [doubled, totals, squares, products])
    value = np.array([1.0, -2.0, 3.0, 0.5])
    got = f(value)
    for got_one, expected in zip(got, [2 * value, np.cumsum(value), value ** 2,
                                       np.cumprod(value)]):
        np.testing.assert_allclose(got_one, expected, rtol=1e-12)


def test_return_list_wraps_a_single_output():
    x = T.dvector("x")
    out, _ = theon.scan(lambda v: v * 3, sequences=x, return_list=True)
    assert isinstance(out, list) and len(out) == 1
    np.testing.assert_array_equal(theon.function([x], out[0])([1.0, 2.0]), [3.0, 6.0])


def test_argument_order_sequence_taps_then_output_taps_then_non_sequences():
    x = T.dvector("x")
    k = T.dscalar("k")
    seen = []

    def step(now, later, two_back, one_back, constant):
        seen.append((now.ndim, later.ndim, two_back.ndim, one_back.ndim, constant is k))
        return now + 10 * later + two_back * one_back + constant

    out, _ = theon.scan(step, sequences=dict(input=x, taps=[0, 2]),
                        outputs_info=dict(initial=T.constant(np.array([1.0, 2.0])),
                                          taps=[-2, -1]),
                        non_sequences=k)
    assert seen[0] == (0, 0, 0, 0, True)
    f = theon.function([x, k], out)
    value = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    history, expected = [1.0, 2.0], []
    for t in range(3):
        new = value[t] + 10 * value[t + 2] + history[-2] * history[-1] + 0.5
        history.append(new)
        expected.append(new)
    np.testing.assert_allclose(f(value, 0.5), expected, rtol=1e-12)


def test_reduce_keeps_no_history():
    x = T.dvector("x")
    total, _ = theon.reduce(lambda v, acc: acc + v, sequences=x,
                            outputs_info=T.constant(0.0))
    f = theon.function([x], total)
    (loop,) = _loops(f.schedule)
    assert loop.op.state_history == (False,)
    assert f(np.arange(20.0)) == 190.0


# ---- updates and random streams -----------------------------------------------------------

def test_updates_of_a_shared_counter():
    counter = theon.shared(0, name="counter")
    x = T.dvector("x")
    out, updates = theon.scan(lambda v: (v + counter, {counter: counter + 1}), sequences=x)
    assert list(updates) == [counter]
    f = theon.function([x], out, updates=updates)
    np.testing.assert_array_equal(f([10.0, 10.0, 10.0, 10.0]), [10.0, 11.0, 12.0, 13.0])
    assert counter.get_value() == 4
    np.testing.assert_array_equal(f([0.0, 0.0, 0.0]), [4.0, 5.0, 6.0])
    assert counter.get_value() == 7
    # without the updates the loop still counts within a call, and the variable stays
    g = theon.function([x], out)
    np.testing.assert_array_equal(g([0.0, 0.0]), [7.0, 8.0])
    assert counter.get_value() == 7


def _philox(state):
    """numpy's generator for a stream state [key0, key1, counter] (see test_random.py)."""
    words = np.asarray(state, dtype=np.int64).view(np.uint64)
    philox = np.random.Philox(key=words[:2], counter=np.array([0, 0, words[2], 0], np.uint64))
    return np.random.Generator(philox)


def test_random_stream_draws_anew_at_each_step():
    srng = RandomStreams(seed=1234)
    x = T.dmatrix("x")
    draws = []

    def step(row):
        draws.append(srng.normal((3,)))
        return row + draws[-1]

    out, updates = theon.scan(step, sequences=x)
    (inner,) = list(updates)
    assert inner is draws[0].rng
    f = theon.function([x], out, updates=updates)
    state = inner.get_value()
    got = f(np.zeros((4, 3)))
    expected = np.stack([_philox(state + [0, 0, i]).normal(0.0, 1.0, (3,)) for i in range(4)])
    np.testing.assert_array_equal(got, expected)
    assert len({tuple(row) for row in got}) == 4
    np.testing.assert_array_equal(inner.get_value(), state + [0, 0, 4])
    again = f(np.zeros((4, 3)))
    assert not np.array_equal(again, got)
    np.testing.assert_array_equal(again[0], _philox(state + [0, 0, 4]).normal(0.0, 1.0, (3,)))


# ---- until --------------------------------------------------------------------------------

def test_until_stops_early():
    limit = T.dscalar("limit")

    def step(h):
        new = 2 * h
        return new, until(new > limit)

    out, _ = theon.scan(step, outputs_info=T.constant(1.0), n_steps=20)
    f = theon.function([limit], out)
    np.testing.assert_array_equal(f(50.0), [2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    np.testing.assert_array_equal(f(0.5), [2.0])
    assert f(1e9).shape == (20,)  # never true: all the steps
    assert theon.scan_module.until is until


def test_until_with_sequences_and_a_per_step_result():
    x = T.dvector("x")

    def step(v, total):
        new = total + v
        return [new, v * 10], until(new >= 5)

    (totals, tens), _ = theon.scan(step, sequences=x, outputs_info=[T.constant(0.0), None])
    f = theon.function([x], [totals, tens])
    got_totals, got_tens = f([1.0, 1.0, 2.0, 1.0, 7.0])
    np.testing.assert_array_equal(got_totals, [1.0, 2.0, 4.0, 5.0])
    np.testing.assert_array_equal(got_tens, [10.0, 10.0, 20.0, 10.0])


def test_gradient_through_a_loop_that_stops_early():
    x = T.dvector("x")
    out, _ = theon.scan(lambda v, h: [h * 1.5 + v, until(h > 0.6)], sequences=x,
                        outputs_info=T.constant(0.0))
    cost = (out ** 2).sum()
    f = theon.function([x], [out, cost])
    g = theon.function([x], theon.grad(cost, x))
    value = np.array([0.3, -0.5, 0.8, 0.2, 0.4])
    states, _ = f(value)
    h, expected = 0.0, []
    for v in value:
        stop = h > 0.6
        h = h * 1.5 + v
        expected.append(h)
        if stop:
            break
    np.testing.assert_allclose(states, expected, rtol=1e-12)
    assert len(states) == 4
    got = g(value)
    np.testing.assert_allclose(got, numeric_gradient(lambda p: f(p)[1], value),
                               rtol=1e-6, atol=1e-9)
    assert got[4] == 0.0  # the entry after the stop is never read


def test_updates_count_only_the_steps_run_before_until():
    counter = theon.shared(0, name="counter")
    x = T.dvector("x")
    out, updates = theon.scan(lambda v: [v * 2, {counter: counter + 1}, until(v > 2)],
                              sequences=x)
    f = theon.function([x], out, updates=updates)
    np.testing.assert_array_equal(f([1.0, 2.0, 3.0, 4.0, 5.0]), [2.0, 4.0, 6.0])
    assert counter.get_value() == 3


# ---- map, reduce, foldl, foldr ------------------------------------------------------------

def test_map_reduce_foldl_foldr():
    x, y = T.dvector("x"), T.dvector("y")
    mapped, _ = theon.map(lambda a, b: a * b + 1, sequences=[x, y])
    total, _ = theon.reduce(lambda v, acc: acc + v, sequences=x,
                            outputs_info=T.constant(0.0))
    # a non-commutative fold shows the direction: acc * 10 + v
    left, _ = theon.foldl(lambda v, acc: acc * 10 + v, sequences=x,
                          outputs_info=T.constant(0.0))
    right, _ = theon.foldr(lambda v, acc: acc * 10 + v, sequences=x,
                           outputs_info=T.constant(0.0))
    f = theon.function([x, y], [mapped, total, left, right])
    got = f([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(got[0], [5.0, 11.0, 19.0])
    assert got[1] == 6.0 and got[1].shape == ()
    assert got[2] == 123.0 and got[3] == 321.0


def test_gradient_through_foldl():
    x = T.dvector("x")
    w = T.dscalar("w")
    result, _ = theon.foldl(lambda v, acc, scale: acc * scale + v ** 2, sequences=x,
                            outputs_info=T.constant(0.0), non_sequences=w)
    f = theon.function([x, w], result)
    value = np.array([1.0, -2.0, 0.5, 3.0])
    gx, gw = theon.function([x, w], theon.grad(result, [x, w]))(value, 0.7)
    # result = sum_i x_i^2 w^(n-1-i)
    powers = np.arange(3, -1, -1)
    np.testing.assert_allclose(f(value, 0.7), (value ** 2 * 0.7 ** powers).sum(), rtol=1e-12)
    np.testing.assert_allclose(gx, 2 * value * 0.7 ** powers, rtol=1e-12)
    np.testing.assert_allclose(gw, (value ** 2 * powers * 0.7 ** (powers - 1.0)).sum(),
                               rtol=1e-12)


# ---- an Elman RNN -------------------------------------------------------------------------

def _rnn(X, W, U, b, h0, **kwargs):
    return theon.scan(lambda x_t, h, W, U, b: T.tanh(T.dot(x_t, U) + T.dot(h, W) + b),
                      sequences=X, outputs_info=h0, non_sequences=[W, U, b], **kwargs)[0]


def _rnn_reference(X, W, U, b, h0):
    h, states = h0, []
    for x_t in X:
        h = np.tanh(x_t @ U + h @ W + b)
        states.append(h)
    return np.array(states)


def _rnn_point():
    rng = np.random.default_rng(7)
    return [rng.standard_normal((5, 3)), 0.5 * rng.standard_normal((4, 4)),
            0.5 * rng.standard_normal((3, 4)), 0.1 * rng.standard_normal(4),
            0.3 * rng.standard_normal(4)]


def test_elman_rnn_values_and_gradients():
    X, W, U = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U")
    b, h0 = T.dvector("b"), T.dvector("h0")
    H = _rnn(X, W, U, b, h0)
    R = np.random.default_rng(8).standard_normal((5, 4))
    cost = (H * R).sum() + (H[-1] ** 2).sum()
    inputs = [X, W, U, b, h0]
    f = theon.function(inputs, [H, cost])
    g = theon.function(inputs, theon.grad(cost, inputs))
    point = _rnn_point()
    states, value = f(*point)
    expected = _rnn_reference(*point)
    np.testing.assert_allclose(states, expected, rtol=1e-12)
    assert value == pytest.approx((expected * R).sum() + (expected[-1] ** 2).sum(), rel=1e-12)
    grads = g(*point)
    for index, got in enumerate(grads):
        def cost_at(p, index=index):
            args = list(point)
            args[index] = p
            return f(*args)[1]

        assert got.shape == point[index].shape
        np.testing.assert_allclose(got, numeric_gradient(cost_at, point[index]),
                                   rtol=1e-6, atol=1e-8, err_msg=inputs[index].name)


def test_compiled_rnn_matches_the_numpy_reference_evaluator():
    X, W, U = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U")
    b, h0 = T.dvector("b"), T.dvector("h0")
    H = _rnn(X, W, U, b, h0)
    cost = (H ** 2).sum()
    inputs = [X, W, U, b, h0]
    outputs = [H, cost, *theon.grad(cost, [W, h0])]
    graph = ir.Graph(tuple(v.node for v in inputs), tuple(v.node for v in outputs))
    point = _rnn_point()
    reference = ir.evaluate(graph, point)
    compiled = theon.function(inputs, outputs)(*point)
    np.testing.assert_allclose(reference[0], _rnn_reference(*point), rtol=1e-12)
    for got, want in zip(compiled, reference):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---- variables the step reaches without being passed --------------------------------------

def test_closure_variables_are_found_and_strict_forbids_them():
    W = theon.shared(np.array([[1.0, 2.0], [0.5, -1.0]]), name="W")
    M = T.dmatrix("M")
    X = T.dmatrix("X")

    def step(x_t, h):
        return T.tanh(T.dot(h, W) + T.dot(x_t, M))

    H, _ = theon.scan(step, sequences=X, outputs_info=T.zeros((2,), "float64"))
    f = theon.function([X, M], H)
    x = np.array([[0.1, 0.2], [0.3, -0.4], [0.0, 1.0]])
    m = np.array([[0.2, -0.3], [0.7, 0.1]])

    def reference(w):
        h, states = np.zeros(2), []
        for row in x:
            h = np.tanh(h @ w + row @ m)
            states.append(h)
        return np.array(states)

    np.testing.assert_allclose(f(x, m), reference(W.get_value()), rtol=1e-12)
    # the shared variable is read at each call, not baked in
    W.set_value(np.zeros((2, 2)))
    np.testing.assert_allclose(f(x, m), np.tanh(x @ m), rtol=1e-12)
    # gradients wrt both
    W.set_value(np.array([[0.3, -0.2], [0.5, 0.4]]))
    g = theon.function([X, M], theon.grad(H.sum(), [M, W]))
    gm, gw = g(x, m)
    np.testing.assert_allclose(gm, numeric_gradient(lambda p: f(x, p).sum(), m), rtol=1e-6)

    def cost_at_w(p):
        saved = W.get_value()
        W.set_value(p)
        try:
            return f(x, m).sum()
        finally:
            W.set_value(saved)

    np.testing.assert_allclose(gw, numeric_gradient(cost_at_w, W.get_value()), rtol=1e-6)

    with pytest.raises(ValueError, match=r"^scan: with strict=True every variable the step "
                       r"function uses must be passed in non_sequences; .* is not$"):
        theon.scan(step, sequences=X, outputs_info=T.zeros((2,), "float64"), strict=True)
    # passing them is enough
    H2, _ = theon.scan(lambda x_t, h, W_, M_: T.tanh(T.dot(h, W_) + T.dot(x_t, M_)),
                       sequences=X, outputs_info=T.zeros((2,), "float64"),
                       non_sequences=[W, M], strict=True)
    np.testing.assert_allclose(theon.function([X, M], H2)(x, m), reference(W.get_value()),
                               rtol=1e-12)


# ---- nested loops -------------------------------------------------------------------------

def test_nested_scan():
    M = T.dmatrix("M")
    s = T.dscalar("s")

    def outer_step(row, total):
        inner, _ = theon.scan(lambda v, acc: acc + v * s, sequences=row,
                              outputs_info=T.constant(0.0))
        return [inner, total + inner[-1]]

    (rows, totals), _ = theon.scan(outer_step, sequences=M,
                                   outputs_info=[None, T.constant(0.0)])
    f = theon.function([M, s], [rows, totals])
    m = np.arange(12.0).reshape(3, 4)
    got_rows, got_totals = f(m, 0.5)
    np.testing.assert_allclose(got_rows, 0.5 * np.cumsum(m, axis=1), rtol=1e-12)
    np.testing.assert_allclose(got_totals, np.cumsum(0.5 * m.sum(axis=1)), rtol=1e-12)


def test_gradient_through_a_nested_scan():
    x = T.dvector("x")

    def outer_step(v, h):
        inner, _ = theon.scan(lambda w, a: T.sin(a * w + v), sequences=x, outputs_info=h)
        return inner[-1]

    out, _ = theon.scan(outer_step, sequences=x, outputs_info=T.constant(0.2))
    cost = (out ** 2).sum()
    f = theon.function([x], cost)
    g = theon.function([x], theon.grad(cost, x))
    value = np.array([0.3, -0.5, 0.8, 0.2])

    def reference(p):
        h, total = 0.2, 0.0
        for v in p:
            for w in p:
                h = np.sin(h * w + v)
            total += h ** 2
        return total

    assert f(value) == pytest.approx(reference(value), rel=1e-12)
    np.testing.assert_allclose(g(value), numeric_gradient(reference, value), rtol=1e-6)


def test_gradient_of_a_gradient_through_scan():
    x = T.dvector("x")
    H, _ = theon.scan(lambda v, h: h * 0.5 + v ** 2, sequences=x,
                      outputs_info=T.zeros((), "float64"))
    first = theon.grad((H ** 2).sum(), x)
    second = (first ** 2).sum()
    f = theon.function([x], second)
    g = theon.function([x], theon.grad(second, x))
    value = np.array([0.3, -0.5, 0.8, 0.2, 0.4])
    np.testing.assert_allclose(g(value), numeric_gradient(f, value), rtol=1e-6)


# ---- errors -------------------------------------------------------------------------------

def test_wrong_number_of_outputs():
    x = T.dvector("x")
    with pytest.raises(ValueError, match=re.escape(
            "scan: the step function returned 2 outputs; outputs_info has 1 entries (one per "
            "output, None for an output not fed back)")):
        theon.scan(lambda v, h: [h + v, h * v], sequences=x, outputs_info=T.constant(0.0))


def test_output_dtype_differs_from_the_initial_value():
    x = T.dvector("x")
    h0 = T.fscalar("h0")
    with pytest.raises(TypeError, match=r"^scan: the step function's output for outputs_info "
                       r"entry 0 has type .*float64.*, but its initial value .* gives "
                       r".*float32.*: they must have the same dtype and rank \(cast the "
                       r"initial value or the output\)$"):
        theon.scan(lambda v, h: h + v, sequences=x, outputs_info=h0)


def test_no_sequences_and_no_n_steps():
    with pytest.raises(ValueError, match=re.escape(
            "scan: no sequences and no n_steps: give n_steps to say how many steps to run")):
        theon.scan(lambda h: h * 2, outputs_info=T.constant(1.0))


def test_fn_must_be_callable():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=re.escape("scan: fn must be callable; got int")):
        theon.scan(3, sequences=x)


def test_output_taps_must_be_negative():
    x0 = T.dvector("x0")
    with pytest.raises(ValueError, match=re.escape(
            "scan: outputs_info[0] has taps [-1, 1]; the taps of an output must be negative "
            "(-1: the previous step)")):
        theon.scan(lambda a, b: a + b, outputs_info=dict(initial=x0, taps=[-1, 1]),
                   n_steps=3)


def _truncated_bptt(xs, w, u, v, h0, k):
    """Reference: cost sum(h) of h_t = tanh(w x_t + u h_{t-1} + v h_{t-2}) and its gradients
    by backpropagation through the last ``k`` steps only (k = -1: all), by hand."""
    n = len(xs)
    h = list(h0)  # h[-2], h[-1] of the initial value, then one per step
    for t in range(n):
        h.append(np.tanh(w * xs[t] + u * h[-1] + v * h[-2]))
    cost = sum(h[2:])
    start = 0 if k == -1 else max(n - k, 0)
    dw = du = dv = 0.0
    dx = np.zeros(n)
    dh = np.zeros(n + 2)  # cotangents of h, carried back
    for t in range(n - 1, start - 1, -1):
        da = (1.0 + dh[t + 2]) * (1 - h[t + 2] ** 2)
        dw, du, dv = dw + da * xs[t], du + da * h[t + 1], dv + da * h[t]
        dx[t] = da * w
        dh[t + 1] += da * u
        dh[t] += da * v
    dh0 = dh[:2] if start == 0 else np.zeros(2)
    return cost, dw, du, dv, dx, dh0


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("truncate", [-1, 1, 2, 4, 6, 9])
def test_truncate_gradient_backpropagates_through_the_last_steps(truncate, static):
    n = 6
    x = T.TensorType("float64", shape=(n,))("x") if static else T.dvector("x")
    w, u, v = T.dscalar("w"), T.dscalar("u"), T.dscalar("v")
    h0 = T.dvector("h0")
    h, _ = theon.scan(lambda x_t, h2, h1: T.tanh(w * x_t + u * h1 + v * h2), sequences=x,
                      outputs_info=dict(initial=h0, taps=[-2, -1]),
                      truncate_gradient=truncate)
    cost = h.sum()
    f = theon.function([x, w, u, v, h0], [cost] + theon.grad(cost, [w, u, v, x, h0]))
    xs, initial = np.linspace(-1.0, 1.5, n), np.array([0.2, -0.4])
    expected = _truncated_bptt(xs, 0.7, 0.5, -0.3, initial, truncate)
    for got, want in zip(f(xs, 0.7, 0.5, -0.3, initial), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_truncate_gradient_must_be_minus_one_or_positive():
    x = T.dvector("x")
    for value in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match=re.escape(
                "scan: truncate_gradient must be -1 (the gradient goes through every step) "
                f"or a positive number of steps; got {value!r}")):
            _cumsum(x, truncate_gradient=value)


def test_n_steps_must_be_a_non_negative_integer():
    with pytest.raises(ValueError, match=re.escape("scan: n_steps is -1; it must be at least 0")):
        theon.scan(lambda h: h + 1, outputs_info=T.constant(0.0), n_steps=-1)
    with pytest.raises(TypeError, match=r"^scan: n_steps must be an integer scalar; got "):
        theon.scan(lambda h: h + 1, outputs_info=T.constant(0.0), n_steps=2.5)
    n = T.iscalar("n")
    out, _ = theon.scan(lambda h: h + 1, outputs_info=T.constant(0.0), n_steps=n)
    f = theon.function([n], out)
    with pytest.raises(ValueError, match=re.escape("scan: n_steps is -2; it must be at least 0")):
        f(-2)


def test_a_sequence_must_have_an_axis():
    with pytest.raises(ValueError, match=re.escape(
            "scan: sequences[0] (s) is 0-d; a sequence is iterated along its first axis")):
        theon.scan(lambda v: v + 1, sequences=T.dscalar("s"))


# ---- compilation --------------------------------------------------------------------------

def _loops(schedule):
    return [step for step in schedule.steps if isinstance(getattr(step, "op", None), Scan)]


def test_one_compile_for_any_number_of_steps():
    A = T.dvector("A")
    k = T.iscalar("k")
    result, _ = theon.scan(lambda prior, base: prior * base, outputs_info=T.ones_like(A),
                           non_sequences=A, n_steps=k)
    f = theon.function([A, k], result[-1])
    schedule = f.schedule
    assert len(_loops(schedule)) == 1
    a = np.array([1.01, 0.99, -1.0])
    np.testing.assert_allclose(f(a, 3), a ** 3, rtol=1e-12)
    np.testing.assert_allclose(f(a, 300), a ** 300, rtol=1e-10)
    assert f.schedule is schedule  # the same compiled function ran both
    # compiled with a constant number of steps: the same code, whatever the number
    compiled = []
    for steps in (3, 300):
        fixed, _ = theon.scan(lambda prior, base: prior * base, outputs_info=T.ones_like(A),
                              non_sequences=A, n_steps=steps)
        g = theon.function([A], fixed[-1])
        np.testing.assert_allclose(g(a), a ** steps, rtol=1e-10)
        compiled.append(g)
    assert compiled[0].report.kernels == compiled[1].report.kernels
    assert [type(s).__name__ for s in compiled[0].schedule.steps] == \
        [type(s).__name__ for s in compiled[1].schedule.steps]


PROGRAM = textwrap.dedent("""
    import json, sys
    import numpy as np, theon, theon.tensor as T
    from theon.tensor.shared_randomstreams import RandomStreams
    X, W, h0 = T.dmatrix('X'), T.dmatrix('W'), T.dvector('h0')
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    w = np.linspace(-0.5, 0.5, 9).reshape(3, 3)
    h = np.full(3, 0.1)
    H, _ = theon.scan(lambda x_t, h: T.tanh(x_t + T.dot(h, W)), sequences=X,
                      outputs_info=h0)
    cost = (H ** 2).sum()
    {case}
    results = f(*args)
    print(json.dumps({{"cache": f.report.cache, "llvm": "llvmlite.binding" in sys.modules,
                      "results": [np.asarray(r).tolist() for r in results]}}))
""")

CASES = {
    "rnn and its gradient wrt a non-sequence": textwrap.dedent("""
        f = theon.function([X, W, h0], [H, theon.grad(cost, W)])
        args = [x, w, h]"""),
    "gradient wrt a sequence": textwrap.dedent("""
        f = theon.function([X, W, h0], [H, theon.grad(cost, X)])
        args = [x, w, h]"""),
    "two output taps": textwrap.dedent("""
        fib, _ = theon.scan(lambda a, b: a + b, outputs_info=dict(initial=h0, taps=[-2, -1]),
                            n_steps=4)
        f = theon.function([h0], [fib])
        args = [h[:2]]"""),
    "a scalar random draw in the step": textwrap.dedent("""
        srng = RandomStreams(5)
        out, updates = theon.scan(lambda v: v + srng.normal(()), sequences=h0)
        f = theon.function([h0], [out])
        args = [h]"""),
}

# the last three cases hold 0-d constants in their schedules (the offset 0 where a
# sequence's gradient starts, the rows of an initial value with several taps, a draw's
# size), which must come back from the disk 0-d


class DiskHitFailed(Exception):
    """The process that read the function from the disk cache failed (the first did not)."""


def _run(cache_dir, case):
    environ = dict(os.environ, PYTHONPATH=str(ROOT), THEON_CACHE_DIR=str(cache_dir))
    program = PROGRAM.format(case=CASES[case].strip())
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          env=environ, timeout=120)


def _result(run):
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", [
    "rnn and its gradient wrt a non-sequence",
    "gradient wrt a sequence",
    "two output taps",
    "a scalar random draw in the step",
])
def test_a_loop_is_read_back_from_the_disk_cache(tmp_path, case):
    first_run = _run(tmp_path, case)
    assert first_run.returncode == 0, first_run.stderr
    second_run = _run(tmp_path, case)
    if second_run.returncode != 0:
        raise DiskHitFailed(second_run.stderr)
    first, second = _result(first_run), _result(second_run)
    assert first["cache"] == "miss" and second["cache"] == "disk"
    assert second["results"] == first["results"]
    assert not second["llvm"]  # kernels and the native loop's driver came from the disk
    if case.startswith("rnn"):
        x = np.linspace(-1, 1, 12).reshape(4, 3)
        w = np.linspace(-0.5, 0.5, 9).reshape(3, 3)
        h, expected = np.full(3, 0.1), []
        for row in x:
            h = np.tanh(row + h @ w)
            expected.append(h)
        np.testing.assert_allclose(first["results"][0], expected, rtol=1e-12)
