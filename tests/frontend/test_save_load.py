"""``theon.save`` and ``theon.load``: round trips of parameter values (bit-exact), graphs,
shared variables (aliasing kept) and compiled functions; damaged, foreign and newer files
rejected with messages naming the path and the problem; and no pickle ever loaded."""
import json
import os
import pickle
import re
import zipfile

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import SerializationError
from theon.frontend import compiler
from theon.passes import PIPELINE, pipeline

RNG = np.random.default_rng(11)


def _roundtrip(obj, tmp_path, name="obj.theon"):
    path = tmp_path / name
    theon.save(obj, path)
    return theon.load(path)


def _same_array(got, want):
    return (type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape
            and got.tobytes(order="A") == want.tobytes(order="A")
            and got.flags.f_contiguous == want.flags.f_contiguous)


# ---- parameter values -------------------------------------------------------------------

def test_arrays_of_every_kind_round_trip_bit_exactly(tmp_path):
    arrays = {
        "float32": RNG.standard_normal((3, 4)).astype("float32"),
        "float64 fortran": np.asfortranarray(RNG.standard_normal((5, 2))),
        "float16": np.array([1.5, -np.inf, np.nan], dtype="float16"),
        "int8": np.array([-128, 0, 127], dtype="int8"),
        "uint64": np.array([2 ** 64 - 1, 0], dtype="uint64"),
        "bool": np.array([[True, False]]),
        "complex128": np.array([1 + 2j, -0.0 - 1j]),
        "big-endian": np.arange(4, dtype=">i4"),
        "0-d": np.array(-0.0),
        "empty": np.zeros((0, 3), dtype="float32"),
        "strings": np.array(["theon", "é"]),
        "nan payload": np.array([0x7FF8000000000123], dtype="uint64").view("float64"),
    }
    loaded = _roundtrip(arrays, tmp_path)
    assert list(loaded) == list(arrays)
    for key, want in arrays.items():
        assert _same_array(loaded[key], want), key


def test_python_and_numpy_scalars_and_containers_round_trip(tmp_path):
    obj = [1, -2 ** 70, 0.1, -0.0, float("inf"), float("-inf"), True, None, "text", 1 - 2j,
           np.float32(0.1), np.float64(0.2), np.complex64(1j), np.int16(-3), np.bool_(True),
           np.str_("numpy text"),
           (1, (2.5, "a")), {"a": 1, 2: [3], (4, 5): {"nested": None}}, [], {}, ()]
    loaded = _roundtrip(obj, tmp_path)
    assert loaded == obj
    for got, want in zip(loaded, obj):
        assert type(got) is type(want)
    assert str(loaded[3]) == "-0.0"
    assert np.isnan(_roundtrip(float("nan"), tmp_path, "nan.theon"))
    assert type(loaded[16]) is tuple and type(loaded[16][1]) is tuple


def test_an_object_saved_twice_loads_as_one_object(tmp_path):
    a = np.arange(3.0)
    W = theon.shared(np.ones(2), name="W")
    loaded = _roundtrip({"first": a, "second": [a, W], "third": W}, tmp_path)
    assert loaded["first"] is loaded["second"][0]
    assert loaded["second"][1] is loaded["third"]


def test_manifest_describes_the_file(tmp_path):
    path = tmp_path / "values.theon"
    theon.save({"W": np.zeros((2, 3), dtype="float32")}, path)
    with zipfile.ZipFile(path) as opened:
        assert sorted(opened.namelist()) == ["arrays/0.npy", "manifest.json"]
        manifest = json.loads(opened.read("manifest.json"))
        assert all(info.compress_type == zipfile.ZIP_STORED for info in opened.infolist())
    assert {k: manifest[k] for k in ("format", "version", "theon_version", "kind")} == {
        "format": "theon", "version": 1, "theon_version": theon.__version__,
        "kind": "values"}
    assert manifest["arrays"] == [{"dtype": "<f4", "shape": [2, 3]}]
    assert manifest["root"] == {"dict": [["W", {"array": 0}]]}


def test_unsupported_objects_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "model.theon"
    theon.save([1], path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=re.escape(
            "theon.save: obj['layers'][1] is a builtins.set; a theon file holds compiled "
            "functions, variables, shared variables, ndarrays, numpy scalars, numbers, "
            "strings, None, and lists, tuples and dicts of these")):
        theon.save({"layers": [1, {2}]}, path)
    with pytest.raises(TypeError, match=re.escape(
            "theon.save: obj[0] is an array of dtype object, which holds Python objects; a "
            "theon file holds numeric, boolean and string arrays only")):
        theon.save([np.array([None, 1])], path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.theon"]


def test_a_saved_file_gets_the_permissions_of_new_files(tmp_path):
    umask = os.umask(0o027)
    try:
        theon.save([1], tmp_path / "a.theon")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.theon").stat().st_mode & 0o777 == 0o640


# ---- shared variables, graphs, functions --------------------------------------------------

def test_shared_variables_keep_value_type_flags_and_default_update(tmp_path):
    W = theon.shared(RNG.standard_normal((2, 3)).astype("float32"), name="W", strict=True)
    b = theon.shared(np.zeros((1, 3), dtype="int32"), name="b", broadcastable=(True, False),
                     allow_downcast=True)
    W.default_update = W * 2
    W2, b2 = _roundtrip([W, b], tmp_path)
    assert _same_array(W2.get_value(), W.get_value())
    assert (W2.name, W2.type, b2.name, b2.type) == ("W", W.type, "b", b.type)
    with pytest.raises(TypeError, match="the variable is strict"):
        W2.set_value(np.zeros((2, 3)))
    b2.set_value(np.full((1, 3), 2.7))   # allow_downcast=True: float64 into int32
    np.testing.assert_array_equal(b2.get_value(), np.full((1, 3), 2, dtype="int32"))
    assert W2.default_update is not None
    theon.function([], W2.sum())()
    np.testing.assert_array_equal(W2.get_value(), W.get_value() * 2)


def test_graph_variables_load_over_new_shared_inputs(tmp_path):
    x = T.dmatrix("x")
    W = theon.shared(RNG.standard_normal((3, 2)), name="W")
    y = T.tanh(T.dot(x, W)).sum(axis=1)
    y.name = "y"
    loaded = _roundtrip({"x": x, "y": y, "W": W}, tmp_path)
    x2, y2, W2 = loaded["x"], loaded["y"], loaded["W"]
    assert y2.name == "y" and x2.name == "x" and x2.node is not x.node
    assert T.tanh(T.dot(x2, W2)).sum(axis=1).node is y2.node   # the same hash-consed nodes
    value = RNG.standard_normal((4, 3))
    np.testing.assert_array_equal(theon.function([x2], y2)(value),
                                  theon.function([x], y)(value))


def test_scan_graph_round_trips(tmp_path):
    x = T.dmatrix("x")
    W = theon.shared(RNG.standard_normal((3, 3)) * 0.5, name="W")
    h0 = T.dvector("h0")
    out, _ = theon.scan(lambda v, h: T.tanh(T.dot(h, W) + v), sequences=x, outputs_info=h0)
    loaded = _roundtrip([x, h0, out], tmp_path)
    xs, h = RNG.standard_normal((5, 3)), RNG.standard_normal(3)
    expected = []
    state = h
    for row in xs:
        state = np.tanh(state @ W.get_value() + row)
        expected.append(state)
    got = theon.function(loaded[:2], loaded[2])(xs, h)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_compiled_functions_keep_outputs_and_shared_aliasing(tmp_path, monkeypatch):
    x = T.fmatrix("x")
    W = theon.shared(RNG.standard_normal((3, 2)).astype("float32"), name="W")
    b = theon.shared(np.zeros(2, dtype="float32"), name="b")
    predict = theon.function([x], T.nnet.softmax(T.dot(x, W) + b), name="predict")
    step = theon.function([x], [], updates=[(W, W - 0.1 * T.dot(x.T, x[:, :2])),
                                            (b, b + 1)], name="step")
    path = tmp_path / "model.theon"
    theon.save({"predict": predict, "step": step, "params": [W, b]}, path)
    value = RNG.standard_normal((4, 3)).astype("float32")
    expected = predict(value)

    def refuse(*args, **kwargs):
        raise AssertionError("the pass pipeline ran")
    monkeypatch.setattr(pipeline, "run_pipeline", refuse)
    monkeypatch.setattr(compiler, "run_pipeline", refuse)
    model = theon.load(path)
    predict2, step2 = model["predict"], model["step"]
    W2, b2 = model["params"]
    assert predict2.name == "predict" and predict2.report.cache == "stored"
    assert not set(predict2.report.stages) & {p.name for p in PIPELINE}
    assert _same_array(predict2(value), expected)
    step2(value)
    np.testing.assert_array_equal(b2.get_value(), np.ones(2, dtype="float32"))
    # the loaded predict reads the W and b the loaded step updated
    np.testing.assert_allclose(predict2(value),
                               predict_numpy(value, W2.get_value(), b2.get_value()),
                               rtol=1e-5)
    assert not np.array_equal(W2.get_value(), W.get_value())


def predict_numpy(x, W, b):
    z = x @ W + b
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


# ---- files that are not what they should be ----------------------------------------------

@pytest.fixture
def saved(tmp_path):
    """A valid file holding a compiled function, a shared variable and an array."""
    x = T.dvector("x")
    W = theon.shared(np.arange(3.0), name="W")
    path = tmp_path / "saved.theon"
    theon.save({"f": theon.function([x], x * W), "W": W, "a": np.ones(4)}, path)
    return path


def _rewrite_member(path, name, transform):
    """Rewrite member ``name`` of the zip at ``path`` through ``transform`` (valid zip)."""
    with zipfile.ZipFile(path) as opened:
        members = [(info.filename, opened.read(info.filename)) for info in opened.infolist()]
    with zipfile.ZipFile(path, "w") as rewritten:
        for member, data in members:
            rewritten.writestr(member, transform(data) if member == name else data)


def _manifest_edit(path, **changes):
    def edit(data):
        manifest = json.loads(data)
        manifest.update(changes)
        return json.dumps(manifest).encode()
    _rewrite_member(path, "manifest.json", edit)


def test_truncated_file(saved):
    saved.write_bytes(saved.read_bytes()[:-100])
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} is corrupt or truncated (its zip directory is "
            "unreadable: File is not a zip file)")):
        theon.load(saved)


def test_flipped_bytes_in_an_array(saved):
    with zipfile.ZipFile(saved) as opened:
        info = opened.getinfo("arrays/1.npy")
        data = opened.read("arrays/1.npy")
    raw = bytearray(saved.read_bytes())
    # the member's data starts after its local header: 30 bytes, its name, its extra field
    start = raw.index(b"arrays/1.npy", info.header_offset) + len("arrays/1.npy")
    start = raw.index(data[:16], start)
    raw[start + len(data) - 1] ^= 0xFF
    saved.write_bytes(bytes(raw))
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} is corrupt (Bad CRC-32 for file 'arrays/1.npy')")):
        theon.load(saved)


def test_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"W": np.ones(3)}))
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(path)!r} is not a theon file (not a zip archive)")):
        theon.load(path)


def test_a_zip_that_is_not_a_theon_file(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as opened:
        opened.writestr("readme.txt", "hello")
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(path)!r} is not a theon file (it has no manifest.json)")):
        theon.load(path)
    with zipfile.ZipFile(path, "w") as opened:
        opened.writestr("manifest.json", json.dumps({"format": "other", "version": 1}))
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(path)!r} is not a theon file (manifest.json does not say "
            "format 'theon')")):
        theon.load(path)


def test_a_file_from_a_newer_theon(saved):
    _manifest_edit(saved, version=2, theon_version="9.0")
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} was written by theon 9.0 in file format 2; this "
            f"theon ({theon.__version__}) reads formats up to 1: upgrade theon to load it")):
        theon.load(saved)


def test_malformed_manifests(saved):
    _rewrite_member(saved, "manifest.json", lambda data: data[:-10])
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} is malformed (manifest.json: ")):
        theon.load(saved)


def test_a_manifest_pointing_outside_its_tables(saved):
    _manifest_edit(saved, root={"list": [{"array": 7}]})
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} is malformed (ValueError: array number 7 out of "
            "range)")):
        theon.load(saved)


def test_a_member_swapped_for_another_array(saved):
    _rewrite_member(saved, "arrays/1.npy", lambda data: _npy(np.zeros(2, dtype="int8")))
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} is malformed (arrays/1.npy holds |i1 (2,); the "
            "manifest says <f8 (3,))")):
        theon.load(saved)


def test_a_schedule_from_another_theon_version(saved):
    def future(data):
        return data[:8] + (99).to_bytes(4, "little") + data[12:]
    _rewrite_member(saved, "schedules/0.bin", future)
    from theon.ir.serialize import FORMAT
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} cannot be loaded: compiled function 0: schedule "
            f"format 99; this theon reads {FORMAT}")):
        theon.load(saved)


def _npy(array, allow_pickle=False):
    import io
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=allow_pickle)
    return stream.getvalue()


class _Payload:
    """Unpickling this would create a file: proof that a loader unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_inside_a_file_is_never_loaded(saved, tmp_path):
    marker = tmp_path / "unpickled"
    payload = np.array([_Payload(str(marker)), 1], dtype=object)
    _rewrite_member(saved, "arrays/1.npy", lambda data: _npy(payload, allow_pickle=True))
    with zipfile.ZipFile(saved) as opened:
        arrays = json.loads(opened.read("manifest.json"))["arrays"]
    arrays[1] = {"dtype": "|O", "shape": [2]}   # as if the manifest agreed
    _manifest_edit(saved, arrays=arrays)
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(saved)!r} is malformed (arrays/1.npy holds Python objects, "
            "which theon.save never writes and theon.load never unpickles)")):
        theon.load(saved)
    assert not marker.exists()


def test_a_graph_naming_an_op_this_process_lacks(tmp_path, monkeypatch):
    from theon.frontend.variable import Variable
    from theon.ir import Node, scalar as s
    from theon.ir.ops import elementwise
    op = elementwise.register_custom(elementwise.ElementwiseOp(
        "save_test_cube", 1, elementwise.same_kind, lambda x: x ** 3,
        lambda dtype, x: s.apply("mul", x, s.apply("mul", x, x))))
    x = T.dvector("x")
    path = tmp_path / "g.theon"
    theon.save(Variable(Node.make(op, (x.node,))), path)
    monkeypatch.delitem(elementwise._CUSTOM, ("save_test_cube", ()))
    with pytest.raises(SerializationError, match=re.escape(
            f"theon.load: {str(path)!r} cannot be loaded: elementwise op 'save_test_cube' is "
            "not defined in this process (a user-defined op must be defined before a graph "
            "using it is loaded)")):
        theon.load(path)



def test_a_function_loads_without_its_graph_where_its_op_is_undefined(tmp_path, monkeypatch):
    from theon.frontend.variable import Variable
    from theon.ir import Node, scalar as s
    from theon.ir.ops import elementwise
    op = elementwise.register_custom(elementwise.ElementwiseOp(
        "save_test_square_plus_one", 1, elementwise.same_kind, lambda x: x * x + 1,
        lambda dtype, x: s.apply("add", s.apply("mul", x, x), s.const(1, dtype))))
    x = T.dvector("x")
    f = theon.function([x], Variable(Node.make(op, (x.node,))))
    path = tmp_path / "f.theon"
    theon.save({"f": f, "n": 3}, path)
    monkeypatch.delitem(elementwise._CUSTOM, ("save_test_square_plus_one", ()))
    with pytest.warns(UserWarning, match=re.escape(
            f"the graph of the compiled functions of {str(path)!r} was not loaded "
            "(elementwise op 'save_test_square_plus_one' is not defined in this process")):
        loaded = theon.load(path)
    assert loaded["n"] == 3 and loaded["f"].graph is None
    np.testing.assert_array_equal(loaded["f"](np.arange(3.0)), [1.0, 2.0, 5.0])
