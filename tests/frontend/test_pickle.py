"""Pickling compiled functions, variables and shared variables.

Compiled functions pickle as their schedule and re-link on unpickling without running the
passes (checked with the pipeline patched to fail, and in fresh processes with an empty and
then a warm disk cache); variables pickle as graph documents that load as the same
hash-consed nodes; shared variables pickled together stay one object each.
"""
import copy
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import SerializationError, ir
from theon.frontend import compiler
from theon.frontend.variable import Variable
from theon.ir import graph_format, scalar as s
from theon.ir.ops import elementwise
from theon.ir.ops.elementwise import ElementwiseOp, float_kind, register_custom
from theon.passes import PIPELINE, pipeline

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(7)


def _twice_tanh_lower(dtype, x):
    return s.apply("mul", s.const(2, dtype), s.apply("tanh", x))


# a user-defined elementwise op, registered as theon.sympy_op and theon.elemwise_op do
TWICE_TANH = register_custom(ElementwiseOp("pickle_test_twice_tanh", 1, float_kind,
                                           lambda x: 2 * np.tanh(x), _twice_tanh_lower))


def _apply(op, *variables):
    return Variable(ir.Node.make(op, [v.node for v in variables]))


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


def _forbid_passes(monkeypatch):
    """Make any run of the pass pipeline fail."""
    def refuse(*args, **kwargs):
        raise AssertionError("the pass pipeline ran")
    monkeypatch.setattr(pipeline, "run_pipeline", refuse)
    monkeypatch.setattr(compiler, "run_pipeline", refuse)


# ---- compiled functions -----------------------------------------------------------------

def test_function_outputs_and_metadata_survive_pickling():
    x, y = T.fvector("x"), T.fmatrix("y")
    f = theon.function([x, y], [T.exp(-x * x) + y.sum(axis=0), T.tanh(y) * 3],
                       name="pair", allow_input_downcast=True)
    f.trust_input = False
    a = RNG.standard_normal(5).astype("float32")
    b = RNG.standard_normal((4, 5)).astype("float32")
    g = _roundtrip(f)
    for got, want in zip(g(a, b), f(a, b)):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert g.name == "pair" and repr(g) == repr(f)
    # allow_input_downcast=True is kept: float64 arguments still convert
    np.testing.assert_array_equal(g(a.astype("float64"), b)[1], f(a, b)[1])
    assert g.source("ir") == f.source("ir")
    assert g.report.cache == "stored"
    assert g.report.kernels == f.report.kernels
    # this process has every kernel already
    assert (g.report.kernels_compiled, g.report.kernels_cached) == (0, f.report.kernels)


def test_single_output_trust_input_and_argument_checks_survive():
    x = T.dvector("x")
    f = theon.function([x], x * 2, trust_input=True)
    g = _roundtrip(f)
    assert g.trust_input is True
    np.testing.assert_array_equal(g(np.arange(3.0)), [0.0, 2.0, 4.0])
    g.trust_input = False
    with pytest.raises(TypeError, match=re.escape("function takes 1 input (x); got 2")):
        g(np.zeros(3), np.zeros(3))


def test_unpickling_never_runs_the_passes(monkeypatch):
    x = T.dmatrix("x")
    f = theon.function([x], T.nnet.softmax(x) * 2)
    data = pickle.dumps(f)
    _forbid_passes(monkeypatch)
    g = pickle.loads(data)
    assert not set(g.report.stages) & {p.name for p in PIPELINE}
    value = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(g(value), f(value))


def test_pickle_holds_the_schedule_not_machine_code():
    x = T.dvector("x")
    f = theon.function([x], T.exp(x) + 1)
    data = pickle.dumps(f)
    assert b"THEONSCH" in data         # ir.serialize's schedule
    assert b"\x7fELF" not in data      # no object code


PROGRAM = textwrap.dedent("""
    import json, pickle, sys
    import numpy as np
    import theon
    from theon.frontend import compiler
    from theon.passes import pipeline

    def refuse(*args, **kwargs):
        raise AssertionError("the pass pipeline ran")

    pipeline.run_pipeline = compiler.run_pipeline = refuse
    with open(sys.argv[1], "rb") as stream:
        f, W = pickle.load(stream)
    value = np.linspace(-2, 2, 11)
    out = f(value)
    print(json.dumps({"cache": f.report.cache, "kernels": f.report.kernels,
                      "compiled": f.report.kernels_compiled,
                      "llvm_imported": "llvmlite.binding" in sys.modules,
                      "out": out.tolist(), "W": W.get_value().tolist()}))
""")


def _unpickle_in_fresh_process(path, cache_dir):
    environ = dict(os.environ, PYTHONPATH=str(ROOT), THEON_CACHE_DIR=str(cache_dir))
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(path)], capture_output=True,
                            text=True, env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fresh_process_compiles_from_the_stored_schedule_then_reuses_its_disk_cache(
        tmp_path):
    x = T.dvector("x")
    W = theon.shared(np.array([0.5, -1.0, 2.0]), name="W")
    f = theon.function([x], T.tanh(x) * W.sum() + T.exp(-x * x),
                       updates=[(W, W * 2)])
    path = tmp_path / "f.pickle"
    path.write_bytes(pickle.dumps((f, W)))
    value = np.linspace(-2, 2, 11)
    expected = np.tanh(value) * 1.5 + np.exp(-value * value)
    cold = _unpickle_in_fresh_process(path, tmp_path / "cache")
    assert cold["cache"] == "stored" and cold["compiled"] == cold["kernels"] >= 1
    np.testing.assert_allclose(cold["out"], expected, rtol=1e-13)
    assert cold["W"] == [1.0, -2.0, 4.0]   # the unpickled function updates the unpickled W
    warm = _unpickle_in_fresh_process(path, tmp_path / "cache")
    assert warm["compiled"] == 0 and not warm["llvm_imported"]
    assert warm["out"] == cold["out"]
    np.testing.assert_array_equal(W.get_value(), [0.5, -1.0, 2.0])  # the original: unchanged


def test_shared_variables_pickled_together_stay_one_object():
    W = theon.shared(np.zeros(3), name="W")
    x = T.dvector("x")
    step = theon.function([], [], updates=[(W, W + 1)])
    read = theon.function([x], x * W)
    step2, read2, W2 = _roundtrip((step, read, W))
    assert W2 is not W and W2.name == "W"
    step2()
    step2()
    np.testing.assert_array_equal(W2.get_value(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(read2(np.arange(3.0)), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(W.get_value(), np.zeros(3))
    # pickled apart, each pickle brings its own copy
    alone = _roundtrip(read)
    step2()
    np.testing.assert_array_equal(alone(np.ones(3)), np.zeros(3))


def test_in_place_updates_still_write_into_the_shared_array():
    W = theon.shared(np.ones(4), name="W")
    f = theon.function([], [], updates=[(W, W * 3)])
    g, W2 = _roundtrip((f, W))
    array = W2.get_value(borrow=True)
    g()
    assert W2.get_value(borrow=True) is array
    np.testing.assert_array_equal(array, np.full(4, 3.0))


def test_profile_and_checking_modes_are_kept():
    x = T.dvector("x")
    profiled = _roundtrip(theon.function([x], T.exp(x) * 2, profile=True))
    profiled(np.ones(5))
    assert profiled.profile is not None and profiled.profile.calls == 1
    guarded = _roundtrip(theon.function([x], T.log(x), mode="NanGuardMode"))
    np.testing.assert_allclose(guarded(np.array([1.0, np.e])), [0.0, 1.0])
    with pytest.raises(FloatingPointError, match="NanGuardMode"):
        guarded(np.array([-1.0]))
    plain = _roundtrip(theon.function([x], T.exp(x)))
    assert plain.profile is None
    checked = _roundtrip(theon.function([x], T.exp(x) * 2,
                                        mode=theon.compile.DebugMode(rtol=1e-4)))
    assert checked._executable.tolerance.rtol == 1e-4 and checked.graph is not None
    assert repr(checked.mode) == "DebugMode(rtol=0.0001, atol=None)"
    assert repr(guarded.mode) == ("NanGuardMode(nan_is_error=True, inf_is_error=True, "
                                  "big_is_error=False)")
    np.testing.assert_allclose(checked(np.arange(3.0)), np.exp(np.arange(3.0)) * 2)


def test_cuda_function_pickles_and_regenerates_its_ptx():
    x = T.fvector("x")
    f = theon.function([x], T.exp(x) * 2 + 1, target="cuda")
    g = _roundtrip(f)
    assert g.source("ptx") == f.source("ptx")
    assert g.report.kernels_compiled == g.report.kernels == 1
    with pytest.raises(RuntimeError, match=re.escape("compiled for target='cuda'")):
        g(np.ones(3, dtype="float32"))


def test_a_record_from_a_newer_theon_is_refused():
    x = T.dvector("x")
    function, (record,) = theon.function([x], x + 1).__reduce__()
    record = dict(record, version=99)
    with pytest.raises(SerializationError, match=re.escape(
            "this compiled function was pickled by a newer theon (record version 99; this "
            "theon reads 1 or older)")):
        function(record)


# ---- variables and graphs ---------------------------------------------------------------

def test_variables_pickled_together_share_their_inputs_and_load_as_equal_nodes():
    x, y = T.dvector("x"), T.dmatrix("y")
    z = T.exp(x) + T.dot(y, x).sum()
    x2, y2, z2 = _roundtrip([x, y, z])
    assert x2.node is not x.node and x2.name == "x" and x2.node.op.label == "x"
    assert x2.type == x.type and y2.type == y.type
    assert (T.exp(x2) + T.dot(y2, x2).sum()).node is z2.node   # hash-consed
    a, b = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    np.testing.assert_array_equal(theon.function([x2, y2], z2)(a, b),
                                  theon.function([x, y], z)(a, b))


def test_a_loaded_graph_hits_the_graph_cache_of_its_original():
    x = T.fmatrix("x")
    y = T.nnet.sigmoid(x * 1.5).mean(axis=1)
    theon.function([x], y)
    x2, y2 = _roundtrip((x, y))
    assert theon.function([x2], y2).report.cache == "memory"


def test_a_constant_graph_loads_as_the_same_nodes():
    c = T.constant(np.arange(6.0).reshape(2, 3)) * 2 + T.constant(np.float32(0.5))
    assert _roundtrip(c).node is c.node


def test_names_tags_and_subclasses_survive():
    x = T.dmatrix("x")
    y = (x * 2).sum()
    y.name = "total"
    y.tag.note = "from a test"
    shape = x.shape
    y2, shape2, x2 = _roundtrip((y, shape, x))
    assert y2.name == "total" and y2.tag.note == "from a test"
    assert type(shape2) is type(shape) and shape2.source is x2
    n_rows = theon.function([x2], shape2[0])
    assert n_rows(np.zeros((4, 2))) == 4


def test_scan_graph_pickles():
    x = T.dvector("x")
    h0 = T.dscalar("h0")
    out, _ = theon.scan(lambda v, h: T.tanh(h * 0.5 + v), sequences=x, outputs_info=h0)
    x2, h02, out2 = _roundtrip([x, h0, out])
    value = RNG.standard_normal(6)
    expected, h = [], 0.3
    for v in value:
        h = np.tanh(h * 0.5 + v)
        expected.append(h)
    got = theon.function([x2, h02], out2)(value, 0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    # the compiled loop: its body's schedule and kernels re-link too
    f = _roundtrip(theon.function([x, h0], out))
    assert f.report.kernels >= 1
    np.testing.assert_allclose(f(value, 0.3), expected, rtol=1e-14)


def test_shared_variable_value_flags_and_default_update_survive():
    W = theon.shared(np.arange(4, dtype="float32"), name="W", strict=True)
    W.default_update = W * 2     # refers back to W
    count = theon.shared(np.int64(0), name="count", allow_downcast=True)
    W2, count2 = _roundtrip((W, count))
    assert W2.dtype == "float32" and W2.name == "W"
    np.testing.assert_array_equal(W2.get_value(), np.arange(4, dtype="float32"))
    with pytest.raises(TypeError, match="the variable is strict"):
        W2.set_value(np.zeros(4))
    count2.set_value(2.7)   # allow_downcast=True converts
    assert count2.get_value() == 2
    f = theon.function([], W2.sum())
    assert f() == 6.0
    np.testing.assert_array_equal(W2.get_value(), np.arange(4) * 2)
    np.testing.assert_array_equal(W.get_value(), np.arange(4))


def test_graph_of_an_unpickled_function_is_over_its_shared_variables():
    W = theon.shared(np.ones(2), name="W")
    x = T.dvector("x")
    f = theon.function([x], x + W)
    g, W2 = _roundtrip((f, W))
    assert g.graph.inputs[1] is W2.node and len(g.graph.inputs) == 2
    assert (Variable(g.graph.inputs[0]) + W2).node is g.graph.outputs[0]
    assert ir.evaluate(g.graph, [np.arange(2.0), np.ones(2)])[0].tolist() == [1.0, 2.0]


def test_user_defined_elementwise_op_round_trips():
    x = T.dvector("x")
    y = _apply(TWICE_TANH, x) + 1
    x2, y2 = _roundtrip((x, y))
    assert y2.node.inputs[0].op is TWICE_TANH
    value = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(theon.function([x2], y2)(value), 2 * np.tanh(value) + 1,
                               rtol=1e-15)


def test_unregistered_elementwise_op_is_refused_by_name():
    op = ElementwiseOp("pickle_test_unregistered", 1, float_kind, np.sin,
                       lambda dtype, x: s.apply("sin", x))
    y = _apply(op, T.dvector("x"))
    with pytest.raises(SerializationError, match=re.escape(
            "elementwise op 'pickle_test_unregistered' cannot be stored: it is not "
            "registered (a user-defined op must be registered with "
            "ir.ops.elementwise.register_custom to be found again)")):
        pickle.dumps(y)


def test_loading_a_graph_whose_op_this_process_lacks_names_it(monkeypatch):
    y = _apply(TWICE_TANH, T.dvector("x"))
    data = pickle.dumps(y)
    monkeypatch.delitem(elementwise._CUSTOM, (TWICE_TANH.name, ()))
    with pytest.raises(SerializationError, match=re.escape(
            "elementwise op 'pickle_test_twice_tanh' is not defined in this process (a "
            "user-defined op must be defined before a graph using it is loaded)")):
        pickle.loads(data)


def test_a_function_loads_without_its_graph_where_its_op_is_undefined(monkeypatch):
    x = T.dvector("x")
    f = theon.function([x], _apply(TWICE_TANH, x) + 1, name="twice")
    data = pickle.dumps(f)
    monkeypatch.delitem(elementwise._CUSTOM, (TWICE_TANH.name, ()))
    with pytest.warns(UserWarning, match=re.escape(
            "the graph of compiled function 'twice' was not loaded (elementwise op "
            "'pickle_test_twice_tanh' is not defined in this process")):
        g = pickle.loads(data)
    assert g.graph is None and f.graph is not None
    value = np.linspace(-1, 1, 5)
    np.testing.assert_array_equal(g(value), f(value))   # the kernels carry the op's code


@dataclass(frozen=True)
class _Scaled(ir.Op):
    """An op holding a Python callable: not data."""

    scale: object

    name = "scaled"

    def infer_type(self, ttype):
        return ttype


@dataclass(frozen=True)
class _Unknown(ir.Op):
    factor: float

    name = "unknown"

    def infer_type(self, ttype):
        return ttype


def test_ops_that_are_not_data_are_refused_by_name(monkeypatch):
    x = T.dvector("x")
    monkeypatch.setitem(graph_format._OP_CLASSES, "_Scaled", _Scaled)
    with pytest.raises(SerializationError, match=re.escape(
            "op 'scaled' (_Scaled) cannot be stored: its field 'scale' holds the callable "
            "'abs', which is not data")):
        pickle.dumps(_apply(_Scaled(abs), x))
    with pytest.raises(SerializationError, match=re.escape(
            f"op 'unknown' ({_Unknown.__module__}._Unknown) cannot be stored: it is not an "
            "op theon rebuilds from data (see ir.graph_format.register_op)")):
        pickle.dumps(_apply(_Unknown(2.0), x))


def test_registered_op_with_data_fields_round_trips(monkeypatch):
    monkeypatch.setitem(graph_format._OP_CLASSES, "_Unknown", _Unknown)
    y = _apply(_Unknown(float("inf")), T.dvector("x"))
    assert _roundtrip(y).node.op == _Unknown(float("inf"))


def test_nodes_still_refuse_to_pickle_alone():
    with pytest.raises(TypeError, match="ir.Node does not pickle"):
        pickle.dumps(T.dvector("x").node)


def test_copy_keeps_the_node_and_deepcopy_copies_the_graph():
    x = T.dvector("x")
    y = T.exp(x)
    y.name = "y"
    shallow = copy.copy(y)
    assert shallow is not y and shallow.node is y.node and shallow.name == "y"
    deep = copy.deepcopy(y)
    assert deep.node is not y.node and deep.name == "y"
    assert deep.node.op is y.node.op and deep.node.inputs[0].type == x.node.type


def test_malformed_graph_bytes_raise_serialization_errors():
    data = graph_format.dumps_graph(ir.Graph((), (T.dvector("x").node,)))
    with pytest.raises(SerializationError, match=re.escape("not a theon graph (bad magic)")):
        graph_format.loads_graph(b"NOTGRAPH" + data[8:])
    with pytest.raises(SerializationError, match=re.escape("truncated graph")):
        graph_format.loads_graph(data[:20])
    future = data[:8] + (99).to_bytes(4, "little") + data[12:]
    with pytest.raises(SerializationError, match=re.escape("graph format 99; this theon "
                                                           "reads 1")):
        graph_format.loads_graph(future)


def test_loaded_nodes_run_their_type_rules_again():
    x = T.TensorType("float64", shape=(3,))("x")
    y = x + T.constant(np.arange(3.0))
    data = graph_format.dumps_graph(ir.Graph((x.node,), (y.node,)))
    loaded = graph_format.loads_graph(data)
    assert loaded.outputs[0].type == y.node.type and loaded.inputs[0] is not x.node
    # the input made shorter than the constant: the add's type rule refuses it on loading
    forged = data.replace(b'["float64",[3]]', b'["float64",[2]]')
    assert forged != data
    with pytest.raises(SerializationError, match=re.escape("malformed graph: node 2 (add):")):
        graph_format.loads_graph(forged)
