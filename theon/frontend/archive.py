"""``theon.save`` and ``theon.load``: graphs, parameter values and compiled functions in a
versioned file format that loading never executes.

A theon file is a zip archive of uncompressed members::

    manifest.json       {"format": "theon", "version": 1, "theon_version": "0.1.0",
                         "kind": "values" | "graph" | "function", "root": ..., "arrays": [...],
                         "shared": [...], "variables": [...], "functions": [...],
                         "graph": ..., "function_graph": ...}
    arrays/<k>.npy      every array: values, numpy scalars, shared variables' values, graph
                        constants (numpy's .npy format, written and read without pickle)
    schedules/<k>.bin   the schedule of compiled function k (``ir.serialize``)

``root`` is the saved object written as JSON: numbers, strings, None and booleans as
themselves, containers as ``{"list": [...]}``, ``{"tuple": [...]}``, ``{"dict": [[key,
value], ...]}``, and references ``{"array": k}``, ``{"scalar": k}``, ``{"shared": k}``,
``{"variable": k}``, ``{"function": k}`` into the tables.  Each object is written once
however often it is referenced, so aliasing survives: two functions updating one shared
variable load as two functions updating one shared variable.  All variables of a file are
one graph document (``ir.graph_format``), whose input leaves are either the file's shared
variables or new inputs shared by every variable that used them; the graphs of compiled
functions are a second document, so that a function whose graph names a user-defined op
this process lacks still loads (its ``graph`` is then None, with a warning).

Loading reads JSON and .npy arrays (``allow_pickle=False``) and rebuilds ops from theon's
registries: nothing is unpickled or evaluated.  A damaged, truncated, foreign or newer file
raises ``SerializationError`` naming the path and what is wrong.
"""
import io
import json
import math
import os
import secrets
import zipfile

import numpy as np

from .. import ir
from .._version import __version__
from ..ir.graph_format import graph_document, graph_from_document
from ..ir.serialize import SerializationError
from .function import Function
from .persist import FunctionParts, function_from_parts, optional_graph, parts_of
from .shared import SharedInput, SharedVariable
from .variable import Variable

FORMAT = "theon"
VERSION = 1  # the newest file format this theon writes and reads
MANIFEST = "manifest.json"
KINDS = ("values", "graph", "function")
_ZIP_MAGIC = b"PK\x03\x04"
_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError)


def save(obj, path):
    """Write ``obj`` to the theon file ``path``, replacing it atomically.

    Parameters
    ----------
    obj : object
        A compiled ``Function``, a ``Variable`` or ``SharedVariable`` (with the graph it
        depends on, shared variables with their values), an ndarray, a numpy scalar, a
        Python number, string, bool or None, or a list, tuple or dict of these (dict keys
        too).  An object referenced twice is written once and loads as one object.
    path : str or os.PathLike

    Raises
    ------
    TypeError
        ``obj`` holds something theon files cannot hold (named with where it sits), such
        as an array of Python objects.
    SerializationError
        A graph holds an op that cannot be described as data (named in the message).

    Notes
    -----
    A variable of a subclass (``x.shape``, a random stream's output) loads as a plain
    ``Variable`` over the same graph.  A function's kernels are not stored: ``load``
    links them from the disk cache or compiles them from the stored schedule, without
    running the passes.

    Examples
    --------
    >>> theon.save({"W": W, "b": b, "predict": predict}, "model.theon")  # doctest: +SKIP
    >>> model = theon.load("model.theon")  # doctest: +SKIP
    """
    writer = _Writer()
    root = writer.encode(obj, "obj")
    manifest = writer.manifest(root)
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    # mode 0o666: the file gets the permissions the user's umask gives new files
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream, \
                zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
            for number, array in enumerate(writer.arrays):
                with archive.open(f"arrays/{number}.npy", "w",
                                  force_zip64=array.nbytes > 1 << 30) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
            for number, schedule in enumerate(writer.schedules):
                archive.writestr(f"schedules/{number}.bin", schedule)
            archive.writestr(MANIFEST, json.dumps(manifest, allow_nan=False))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load(path):
    """The object ``theon.save`` wrote to ``path``.

    Compiled functions are re-linked: their kernels come from this process or the disk
    cache, or are compiled from the stored schedule (``f.report.cache`` is 'stored'); the
    passes do not run.  Graphs are rebuilt from their nodes, so a loaded graph equal to one
    built in this process is made of the same nodes; its inputs are new variables.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    object

    Raises
    ------
    SerializationError
        ``path`` is not a theon file, is truncated or corrupt, was written in a newer format,
        or names an op (a user-defined elementwise op) this process does not define.
    FileNotFoundError
    """
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        with open(path, "rb") as stream:
            head = stream.read(len(_ZIP_MAGIC))
        if head != _ZIP_MAGIC:
            raise _error(path, "is not a theon file (not a zip archive)") from None
        raise _error(path, f"is corrupt or truncated (its zip directory is unreadable: "
                           f"{error})") from None
    with archive:
        return _Reader(archive, path).load()


def _error(path, problem):
    return SerializationError(f"theon.load: {path!r} {problem}")


def _float(value):
    """A float as JSON: itself when finite, tagged otherwise (JSON has no nan)."""
    return value if math.isfinite(value) else {"float": repr(value)}


class _Writer:
    """Collects the tables of a file while encoding its root object."""

    def __init__(self):
        self.arrays, self.schedules = [], []
        self.shared, self.variables, self.functions = [], [], []
        self.numbers = {}  # (table, id(object)) -> number
        # the nodes of the variables (and default updates), and those of the functions'
        # graphs: two documents, so that a function loads even where its graph cannot
        self.roots, self.function_roots = _Roots(), _Roots()

    def number(self, table, item, entries):
        """(number of ``item`` in ``table``, whether it is new), appending it if new."""
        key = (table, id(item))
        if key in self.numbers:
            return self.numbers[key], False
        self.numbers[key] = len(entries)
        entries.append(item)
        return self.numbers[key], True

    def encode(self, value, where):
        """``value`` as JSON with references into the tables."""
        if isinstance(value, np.generic):  # first: np.float64 is a float, np.str_ a str
            return {"scalar": self.array(np.asarray(value), where)}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return _float(float(value))
        if isinstance(value, complex):
            return {"complex": [_float(value.real), _float(value.imag)]}
        if type(value) is np.ndarray:
            return {"array": self.array(value, where)}
        if isinstance(value, SharedVariable):
            return {"shared": self.shared_variable(value)}
        if isinstance(value, Variable):
            return {"variable": self.variable(value)}
        if isinstance(value, Function):
            return {"function": self.function(value)}
        if isinstance(value, (list, tuple)):
            items = [self.encode(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return {"list" if isinstance(value, list) else "tuple": items}
        if isinstance(value, dict):
            return {"dict": [[self.encode(key, f"a key of {where}"),
                              self.encode(item, f"{where}[{key!r}]")]
                             for key, item in value.items()]}
        raise TypeError(f"theon.save: {where} is a {type(value).__module__}."
                        f"{type(value).__qualname__}; a theon file holds compiled functions, "
                        "variables, shared variables, ndarrays, numpy scalars, numbers, "
                        "strings, None, and lists, tuples and dicts of these")

    def array(self, array, where):
        if array.dtype.hasobject:
            raise TypeError(f"theon.save: {where} is an array of dtype {array.dtype}, which "
                            "holds Python objects; a theon file holds numeric, boolean and "
                            "string arrays only")
        number, _ = self.number("array", array, self.arrays)
        return number

    def variable(self, variable):
        number, new = self.number("variable", variable, self.variables)
        if new:
            self.roots.add(variable.node)
        return number

    def shared_variable(self, variable):
        number, new = self.number("shared", variable, self.shared)
        if new:
            if variable.default_update is not None:
                self.encode(variable.default_update, f"the default_update of {variable!r}")
        return number

    def function(self, function):
        number, new = self.number("function", function, self.functions)
        if new:
            parts = parts_of(function)
            self.functions[number] = parts
            for variable in parts.shared + parts.targets:
                self.shared_variable(variable)
            if parts.graph is not None:
                for node in parts.graph.inputs + parts.graph.outputs:
                    self.function_roots.add(node)
        return number

    def manifest(self, root):
        """The manifest of the file whose root is ``root``."""
        self.close_over_shared()
        documents = [roots.document(self.leaf, self.array)
                     for roots in (self.roots, self.function_roots)]
        kind = "function" if self.functions else "graph" if self.variables else "values"
        # (the entries first: a shared variable's value joins the arrays)
        shared = [self.shared_entry(variable) for variable in self.shared]
        variables = [{"node": self.roots.numbers[variable.node], "name": variable.name}
                     for variable in self.variables]
        functions = [self.function_entry(parts) for parts in self.functions]
        return {
            "format": FORMAT, "version": VERSION, "theon_version": __version__, "kind": kind,
            "root": root,
            "arrays": [{"dtype": a.dtype.str, "shape": list(a.shape)} for a in self.arrays],
            "shared": shared, "variables": variables, "functions": functions,
            "graph": documents[0], "function_graph": documents[1],
        }

    def close_over_shared(self):
        """Number every shared variable the graphs reach (with its default update, which
        may reach more), so that the graph documents can refer to them."""
        for roots in (self.function_roots, self.roots):
            done = 0
            while done < len(roots.nodes):
                pending, done = roots.nodes[done:], len(roots.nodes)
                for node in ir.toposort(pending):
                    if isinstance(node.op, SharedInput):
                        self.shared_variable(node.op.variable)

    def leaf(self, node):
        if isinstance(node.op, SharedInput):
            return {"shared": self.numbers[("shared", id(node.op.variable))]}
        return None  # a plain input: one new input for the whole file

    def shared_entry(self, variable):
        ttype = variable.node.type
        default = variable.default_update
        return {"name": variable.name, "type": [ttype.dtype, list(ttype.shape)],
                "value": self.array(variable._value, f"the value of {variable!r}"),
                "strict": variable._strict, "allow_downcast": variable._allow_downcast,
                "default_update": None if default is None else self.variable(default)}

    def function_entry(self, parts):
        self.schedules.append(parts.schedule)
        shared = (lambda variables: [self.numbers[("shared", id(v))] for v in variables])
        graph = None
        if parts.graph is not None:
            numbers = self.function_roots.numbers
            graph = {"inputs": [numbers[n] for n in parts.graph.inputs],
                     "outputs": [numbers[n] for n in parts.graph.outputs]}
        return {"schedule": len(self.schedules) - 1, "target": parts.target,
                "name": parts.name, "single": parts.single,
                "input_names": list(parts.input_names),
                "allow_input_downcast": parts.allow_input_downcast,
                "trust_input": parts.trust_input,
                "explicit_names": list(parts.explicit_names),
                "shared": shared(parts.shared), "targets": shared(parts.targets),
                "n_outputs": parts.n_outputs,
                "inplace_pairs": [list(pair) for pair in parts.inplace_pairs],
                "graph": graph, "options": parts.options}


class _Roots:
    """The nodes one graph document of a file holds, numbered in order."""

    def __init__(self):
        self.nodes, self.numbers = [], {}

    def add(self, node):
        if node not in self.numbers:
            self.numbers[node] = len(self.nodes)
            self.nodes.append(node)

    def document(self, leaf, array):
        """The graph document of the nodes, or None when there are none."""
        if not self.nodes:
            return None
        return graph_document(ir.Graph((), tuple(self.nodes)), leaf,
                              lambda value: array(value, "a graph constant"))


class _Reader:
    """Rebuilds the object of one open theon file."""

    def __init__(self, archive, path):
        self.archive = archive
        self.path = path
        self.arrays = {}         # number -> ndarray, once read
        self.manifest_arrays = []  # the manifest's description of each array
        self.shared, self.variables, self.functions = [], [], []
        self.roots, self.function_roots = (), None

    def load(self):
        manifest = self.manifest()
        try:
            return self.rebuild(manifest)
        except SerializationError as error:
            message = str(error)
            if message.startswith("theon.load: "):
                raise
            raise _error(self.path, f"cannot be loaded: {message}") from None
        except _MALFORMED as error:
            raise _error(self.path, f"is malformed ({type(error).__name__}: {error})") \
                from None

    def member(self, name):
        """The bytes of member ``name`` (its checksum verified)."""
        try:
            return self.archive.read(name)
        except KeyError:
            raise _error(self.path, f"is malformed (it has no member {name})") from None
        except (zipfile.BadZipFile, EOFError, ValueError) as error:
            raise _error(self.path, f"is corrupt ({error})") from None

    def manifest(self):
        try:
            self.archive.getinfo(MANIFEST)
        except KeyError:
            raise _error(self.path, f"is not a theon file (it has no {MANIFEST})") from None
        try:
            manifest = json.loads(self.member(MANIFEST))
        except (ValueError, RecursionError) as error:
            raise _error(self.path, f"is malformed ({MANIFEST}: {error})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _error(self.path, f"is not a theon file ({MANIFEST} does not say format "
                                    f"{FORMAT!r})")
        version = manifest.get("version")
        if type(version) is not int or version < 1:
            raise _error(self.path, f"is malformed (file format version {version!r})")
        if version > VERSION:
            raise _error(self.path, f"was written by theon {manifest.get('theon_version')} "
                                    f"in file format {version}; this theon ({__version__}) "
                                    f"reads formats up to {VERSION}: upgrade theon to load it")
        if manifest.get("kind") not in KINDS:
            raise _error(self.path, f"is malformed (unknown kind {manifest.get('kind')!r})")
        return manifest

    def array(self, number):
        """Array ``number`` of the file, read once (without pickle)."""
        if number in self.arrays:
            return self.arrays[number]
        spec = self.manifest_arrays[_number(number, len(self.manifest_arrays), "array")]
        name = f"arrays/{number}.npy"
        stream = io.BytesIO(self.member(name))
        version = np.lib.format.read_magic(stream)
        header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = header(stream)
        if dtype.hasobject:
            raise _error(self.path, f"is malformed ({name} holds Python objects, which "
                                    "theon.save never writes and theon.load never unpickles)")
        if dtype.str != spec["dtype"] or list(shape) != spec["shape"]:
            raise _error(self.path, f"is malformed ({name} holds {dtype.str} {shape}; the "
                                    f"manifest says {spec['dtype']} {tuple(spec['shape'])})")
        stream.seek(0)
        array = np.lib.format.read_array(stream, allow_pickle=False)
        self.arrays[number] = array
        return array

    def rebuild(self, manifest):
        self.manifest_arrays = manifest["arrays"]
        for entry in manifest["shared"]:
            self.shared.append(self.shared_variable(entry))
        if manifest["graph"] is not None:
            self.roots = graph_from_document(manifest["graph"], self.leaf, self.array).outputs
        if manifest["function_graph"] is not None:
            self.function_roots = optional_graph(
                lambda: graph_from_document(manifest["function_graph"], self.leaf,
                                            self.array).outputs,
                f"the compiled functions of {self.path!r}")
        for entry in manifest["variables"]:
            name = entry["name"]
            if name is not None and not isinstance(name, str):
                raise ValueError(f"variable name {name!r}")
            self.variables.append(Variable(self.root(entry["node"]), name))
        for variable, entry in zip(self.shared, manifest["shared"]):
            if entry["default_update"] is not None:
                variable.default_update = self.variables[
                    _number(entry["default_update"], len(self.variables), "variable")]
        for number, entry in enumerate(manifest["functions"]):
            self.functions.append(self.function(number, entry))
        return self.decode(manifest["root"])

    def root(self, number, roots=None):
        roots = self.roots if roots is None else roots
        return roots[_number(number, len(roots), "node")]

    def leaf(self, value):
        (kind, number), = value.items()
        if kind != "shared":
            raise ValueError(f"graph leaf {value!r}")
        return self.shared[_number(number, len(self.shared), "shared variable")].node

    def shared_variable(self, entry):
        dtype, shape = entry["type"]
        if dtype not in ir.dtypes.ALL:
            raise ValueError(f"shared variable of dtype {dtype!r}")
        ttype = ir.TensorType(dtype, tuple(shape))
        value = self.array(entry["value"])
        if value.dtype.name != dtype or value.ndim != ttype.ndim or any(
                length is not None and length != actual
                for length, actual in zip(ttype.shape, value.shape)):
            raise ValueError(f"shared variable {entry['name']!r} of type {ttype} holds an "
                             f"array of dtype {value.dtype} and shape {value.shape}")
        name = entry["name"]
        if name is not None and not isinstance(name, str):
            raise ValueError(f"shared variable name {name!r}")
        return SharedVariable(value, ttype, name, bool(entry["strict"]),
                              entry["allow_downcast"])

    def function(self, number, entry):
        schedule = self.member(f"schedules/{_number(entry['schedule'], 1 << 31, 'schedule')}"
                               ".bin")
        shared = (lambda numbers: tuple(
            self.shared[_number(n, len(self.shared), "shared variable")] for n in numbers))
        graph, roots = None, self.function_roots
        if entry["graph"] is not None and roots is not None:
            graph = ir.Graph(tuple(self.root(n, roots) for n in entry["graph"]["inputs"]),
                             tuple(self.root(n, roots) for n in entry["graph"]["outputs"]))
        parts = FunctionParts(
            schedule=schedule, target=entry["target"], name=entry["name"],
            single=bool(entry["single"]), input_names=tuple(entry["input_names"]),
            allow_input_downcast=entry["allow_input_downcast"],
            trust_input=bool(entry["trust_input"]),
            explicit_names=tuple(entry["explicit_names"]), shared=shared(entry["shared"]),
            targets=shared(entry["targets"]), n_outputs=int(entry["n_outputs"]),
            inplace_pairs=tuple(tuple(pair) for pair in entry["inplace_pairs"]),
            graph=graph, options=dict(entry["options"]))
        try:
            return function_from_parts(parts)
        except SerializationError as error:
            raise _error(self.path, f"cannot be loaded: compiled function {number}: "
                                    f"{error}") from None

    def decode(self, value):
        """The object the JSON ``value`` of a root describes."""
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        (kind, content), = value.items()
        if kind == "float":
            if content not in ("nan", "inf", "-inf"):
                raise ValueError(f"float {content!r}")
            return float(content)
        if kind == "complex":
            return complex(*[self.decode(part) for part in content])
        if kind == "list":
            return [self.decode(item) for item in content]
        if kind == "tuple":
            return tuple(self.decode(item) for item in content)
        if kind == "dict":
            return {self.decode(key): self.decode(item) for key, item in content}
        if kind == "array":
            return self.array(content)
        if kind == "scalar":
            return self.array(content)[()]
        tables = {"shared": self.shared, "variable": self.variables,
                  "function": self.functions}
        if kind not in tables:
            raise ValueError(f"root entry {value!r}")
        return tables[kind][_number(content, len(tables[kind]), kind)]


def _number(value, bound, what):
    """``value`` if it is an int in ``[0, bound)``, else ValueError naming ``what``."""
    if type(value) is not int or not 0 <= value < bound:
        raise ValueError(f"{what} number {value!r} out of range")
    return value
