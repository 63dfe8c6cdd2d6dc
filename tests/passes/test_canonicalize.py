"""Canonicalisation rules: build the input and the expected graph, run the pass, and check
``result is expected`` (hash-consing makes the comparison exact).  Plus the property that the
pipeline up to fusion never changes a value."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import theon.tensor as T
from theon import ir
from theon.ir import ELEMENTWISE, Constant, Node
from theon.passes import PIPELINE, canonicalize, run_pipeline


def graph(inputs, *outputs):
    return ir.Graph(tuple(v.node for v in inputs), tuple(o.node for o in outputs))


def rewritten(inputs, output):
    return canonicalize(graph(inputs, output)).outputs[0]


def const(value, dtype):
    return Node.make(Constant(np.asarray(value, dtype=dtype)))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int8"])
def test_identities_disappear(dtype):
    x = T.vector("x", dtype=dtype)
    for built in (x * 1, 1 * x, x + 0, 0 + x, x - 0, x ** 1, --x):
        assert rewritten([x], built) is x.node, built


def test_true_div_by_one():
    x = T.dvector("x")
    assert rewritten([x], x / 1) is x.node
    i = T.ivector("i")  # int32 / 1 is float64: not the input itself
    assert rewritten([i], i / 1) is not i.node


def test_identity_of_another_type_stays():
    x = T.bvector("x")
    out = x + np.int32(0)  # int8 + int32 array scalar is int32: not x
    result = rewritten([x], out)
    assert result.type.dtype == out.dtype


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint16", "int64"])
def test_self_subtraction_of_ints_is_zero(dtype):
    x = T.vector("x", dtype=dtype)
    expected = Node.make(ELEMENTWISE["second"], (x.node, const(0, dtype)))
    result = rewritten([x], x - x)
    assert result.type == (x - x).node.type
    assert result is expected


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_self_subtraction_of_floats_stays(dtype):
    x = T.vector("x", dtype=dtype)
    assert rewritten([x], x - x) is (x - x).node  # inf - inf is nan


def test_integer_times_zero():
    x = T.ivector("x")
    expected = Node.make(ELEMENTWISE["second"], (x.node, const(0, "int32")))
    assert rewritten([x], x * 0) is expected
    f = T.dvector("f")
    assert rewritten([f], f * 0) is (f * 0).node  # inf * 0 is nan


def test_square_and_root():
    x = T.dvector("x")
    assert rewritten([x], x ** 2) is T.sqr(x).node
    assert rewritten([x], x ** 0.5) is T.sqrt(x).node
    i = T.ivector("i")
    assert rewritten([i], i ** 2) is T.sqr(i).node


def test_commutative_operands_are_ordered():
    x, y = T.dvector("x"), T.dvector("y")
    assert rewritten([x, y], x + y) is rewritten([x, y], y + x)
    assert rewritten([x, y], x * y) is rewritten([x, y], y * x)
    assert rewritten([x, y], T.maximum(x, y)) is rewritten([x, y], T.maximum(y, x))
    assert rewritten([x, y], x - y) is not rewritten([x, y], y - x)


def test_idempotent_and_involution():
    x, i = T.dvector("x"), T.ivector("i")
    assert rewritten([x], T.maximum(x, x)) is x.node
    assert rewritten([i], i & i) is i.node
    assert rewritten([i], ~~i) is i.node


def test_negation_is_absorbed():
    x, y = T.dvector("x"), T.dvector("y")
    assert rewritten([x, y], x - (-y)) is rewritten([x, y], x + y)
    assert rewritten([x, y], x + (-y)) is rewritten([x, y], x - y)


def test_pass_returns_its_input_when_nothing_changes():
    x, y = T.dvector("x"), T.dvector("y")
    g = graph([x, y], T.exp(x) * T.sin(y))
    g = canonicalize(g)
    assert canonicalize(g) is g


def test_trace_is_kept_by_rewrites():
    x = T.dvector("x")
    out = (x + 0) * 3
    result = rewritten([x], out)
    assert result.trace is not None and "test_canonicalize.py" in result.trace


# ---- the pipeline up to fusion keeps every value --------------------------------------------

UNARY = ["neg", "abs", "exp", "sin", "tanh", "sqr", "sgn", "floor", "sigmoid", "log1p"]
BINARY = ["add", "sub", "mul", "true_div", "maximum", "minimum", "pow", "arctan2"]
SPECIAL = [0.0, 1.0, 2.0, 0.5, -1.0]


@st.composite
def small_graph(draw):
    """A random elementwise expression over 3 inputs (a vector, a row, a matrix) with
    constants that the rules like (0, 1, 2, 0.5), reused subexpressions and self operands."""
    x, r, m = T.dvector("x"), T.drow("r"), T.dmatrix("m")
    pool = [x, r, m]
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "constant", "self"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(getattr(T, draw(st.sampled_from(UNARY)))(a))
        elif kind == "self":
            pool.append(getattr(T, draw(st.sampled_from(BINARY)))(a, a))
        elif kind == "constant":
            c = draw(st.sampled_from(SPECIAL))
            name = draw(st.sampled_from(BINARY))
            pool.append(getattr(T, name)(*((a, c) if draw(st.booleans()) else (c, a))))
        else:
            pool.append(getattr(T, draw(st.sampled_from(BINARY)))(
                a, draw(st.sampled_from(pool))))
    outputs = draw(st.lists(st.sampled_from(pool[3:]), min_size=1, max_size=3))
    return [x, r, m], outputs


@given(small_graph(), st.integers(0, 2**32 - 1))
def test_pipeline_up_to_fuse_keeps_values(case, seed):
    inputs, outputs = case
    original = graph(inputs, *outputs)
    fused, _ = run_pipeline(original, passes=PIPELINE[:-1], verify=True)
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=(3,)), rng.normal(size=(1, 3)), rng.normal(size=(2, 3))]
    values[2][0, 0] = 0.0  # exact zeros and ones exercise the identities
    values[0][1] = 1.0
    before = ir.evaluate(original, values)
    after = ir.evaluate(fused, values)
    for b, a in zip(before, after):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, equal_nan=True)


def test_shape_of_elementwise_reads_an_operand():
    m, r, c = T.matrix("m"), T.row("r"), T.col("c")
    shape = ir.Shape
    expression = T.exp(m - r)
    assert rewritten([m, r], expression.shape[0]) is Node.make(shape(0), (m.node,))
    assert rewritten([m, r], expression.shape[1]) is Node.make(shape(1), (m.node,))
    # only the row's second axis, the column's first, do not broadcast
    assert rewritten([r, c], (r + c).shape[1]) is Node.make(shape(1), (r.node,))
    assert rewritten([r, c], (r + c).shape[0]) is Node.make(shape(0), (c.node,))
    # a vector aligned on the trailing axis
    v = T.vector("v")
    assert rewritten([c, v], (c * v).shape[1]) is Node.make(shape(0), (v.node,))
    # the whole shape: an operand with the result's rank and no broadcast axis
    assert rewritten([m, r], expression.shape) is Node.make(shape(), (m.node,))
    assert rewritten([r, c], (r + c).shape).inputs[0] is (r + c).node


def test_mean_computes_its_operand_once():
    x, y = T.matrix("x"), T.matrix("y")
    schedule, _ = run_pipeline(graph([x, y], T.exp(x - y).mean()))
    kernels = [step for step in schedule.steps if hasattr(step, "kernel")]
    assert sum("exp" in step.kernel.members for step in kernels) == 1


def test_nested_sums_become_one():
    x = T.dtensor3("x")
    reduce = ir.ops.Reduce
    assert rewritten([x], x.sum(axis=1).sum(axis=0)) is \
        Node.make(reduce("add", (0, 1), False, "float64"), (x.node,))
    assert rewritten([x], x.sum(axis=2, keepdims=True).sum(axis=0, keepdims=True)) is \
        Node.make(reduce("add", (0, 2), True, "float64"), (x.node,))
    mixed = x.sum(axis=2, keepdims=True).sum(axis=0)  # keepdims differ: stays
    assert rewritten([x], mixed) is mixed.node
    i = T.itensor3("i")  # int32 sums to int64, then int64 sums: one dtype, merged
    assert rewritten([i], i.sum(axis=0).sum(axis=0)).op.axes == (0, 1)


def test_shape_of_a_reduction_reads_the_reduced_array():
    x = T.dmatrix("x")
    assert rewritten([x], x.sum(axis=1).shape[0]) is x.shape[0].node
    assert rewritten([x], x.sum(axis=0, keepdims=True).shape[1]) is x.shape[1].node
