"""Constant folding: all-constant subgraphs become one constant, computed with numpy."""
import importlib

import numpy as np

import theon
import theon.tensor as T
from theon import ir
from theon.ir import Constant, Node
from theon.passes import fold_constants


def graph(inputs, *outputs):
    return ir.Graph(tuple(v.node for v in inputs), tuple(o.node for o in outputs))


def const(value, dtype=None):
    return Node.make(Constant(np.asarray(value, dtype=dtype)))


def test_all_constant_subgraph_folds():
    x = T.dvector("x")
    a = T.constant(np.array([1.0, 2.0, 3.0]))
    folded_part = T.exp(a) * 2.0 + T.sin(a)
    out = x + folded_part
    result = fold_constants(graph([x], out)).outputs[0]
    values = np.exp([1.0, 2.0, 3.0]) * 2.0 + np.sin([1.0, 2.0, 3.0])
    expected = Node.make(ir.ELEMENTWISE["add"], (x.node, const(values)))
    assert result is expected


def test_fully_constant_output():
    a = T.constant(np.array([[1, 2], [3, 4]], dtype=np.int32))
    out = (a * a + 1) // 3
    result = fold_constants(graph([], out)).outputs[0]
    assert result is const(np.array([[0, 1], [3, 5]], dtype=np.int32))
    np.testing.assert_array_equal(theon.function([], out)(), [[0, 1], [3, 5]])


def test_folding_keeps_dtype():
    a = T.constant(np.array([1, 2], dtype=np.int8))
    out = a / 2  # int8 / int8 is float32 (Theano's rule)
    result = fold_constants(graph([], out)).outputs[0]
    assert result is const(np.array([0.5, 1.0], dtype=np.float32))


def test_fold_returns_input_when_nothing_changes():
    x = T.dvector("x")
    g = graph([x], T.exp(x) + 1.0)
    assert fold_constants(g) is g


def test_big_constants_are_not_folded():
    limit = importlib.import_module("theon.passes.fold_constants").MAX_FOLDED_ELEMENTS
    big = T.constant(np.ones(limit + 1, dtype=np.int8))
    g = graph([], big + big)
    assert fold_constants(g) is g
