"""Pickling compiled functions, variables and shared variables.

A compiled ``Function`` pickles as its schedule (``ir.serialize``'s bytes: the passes' result,
no machine code) and what the frontend wraps around it.  Unpickling never runs the passes:
``runtime.loader.load_schedule`` links the schedule's kernels from this process, from the disk
cache, or compiles them from the stored schedule when neither has them.  The new function's
``report`` says which (``cache`` 'stored', ``kernels_compiled``).

A ``Variable`` pickles as a graph document (``ir.graph_format``) of its node.  Its input leaves
are separate objects in the pickle: a token per input, a ``SharedVariable`` per shared
variable.  Pickle stores an object once per stream, so variables and functions pickled
together keep sharing their inputs and shared variables (aliasing), and equal graphs load as
the same hash-consed nodes.

``FunctionParts`` is also what ``theon.save`` writes, in its own file format.
"""
import copy
import sys
import time
import weakref
from dataclasses import dataclass, field

import numpy as np

from .. import ir
from ..config import config
from ..ir.graph_format import UndefinedOpError, dumps_graph, loads_graph
from ..ir.serialize import SerializationError, dumps_schedule, loads_schedule
from ..stopwatch import Stopwatch
from .shared import SharedInput, SharedVariable
from .variable import Variable, warn_user

# what a pickled function's record holds; a newer record is refused with a clear message
RECORD_VERSION = 1


@dataclass
class FunctionParts:
    """Everything a compiled function is rebuilt from, except its kernels' machine code.

    Attributes
    ----------
    schedule : bytes
        ``ir.serialize.dumps_schedule`` of the function's schedule.
    target : str
        'cpu' or 'cuda'.
    name : str or None
    single : bool
        Whether the function returns its one output bare.
    input_names : tuple of str
        The executable's names of its inputs (explicit, then shared), for messages.
    allow_input_downcast : bool or None
    trust_input : bool
    explicit_names : tuple of str
        The names of the inputs a caller passes (for the argument-count message).
    shared : tuple of SharedVariable
        The implicit inputs, after the explicit ones.
    targets : tuple of SharedVariable
        The updated variables, one per graph output after the user's outputs.
    n_outputs : int
        The user's outputs.
    inplace_pairs : tuple of (int, int)
        (graph output, graph input) of each update the executable may compute in place.
    graph : ir.Graph or None
        The graph the function was compiled from, when known.
    options : dict
        How calls run, as JSON values: ``profile`` (bool), ``mode`` (None, or the name of
        a checking mode of ``theon.compile`` and its parameters) and ``output_labels``
        (how a checking mode's messages name the outputs).
    """

    schedule: bytes
    target: str
    name: object
    single: bool
    input_names: tuple
    allow_input_downcast: object
    trust_input: bool
    explicit_names: tuple
    shared: tuple = ()
    targets: tuple = ()
    n_outputs: int = 0
    inplace_pairs: tuple = ()
    graph: object = None
    options: dict = field(default_factory=dict)

    @property
    def has_state(self):
        """Whether the function reads or updates shared variables."""
        return bool(self.shared or self.targets)


def parts_of(function):
    """The ``FunctionParts`` of a compiled ``function``."""
    executable = function._executable
    executable = getattr(executable, "executable", executable)  # a profiling/checking runner
    state = function._state
    if state is None:
        explicit_names = tuple(getattr(executable, "input_names", ()))
        shared, targets, n_outputs, pairs = (), (), len(executable.schedule.outputs), ()
    else:
        explicit_names = state.explicit_names
        shared, targets = state.shared, state.targets
        n_outputs, pairs = state.n_outputs, state.inplace_pairs
    return FunctionParts(
        schedule=dumps_schedule(executable.schedule), target=function._target_name,
        name=function.name, single=function._single,
        input_names=tuple(getattr(executable, "input_names", explicit_names)),
        allow_input_downcast=getattr(executable, "allow_input_downcast", None),
        trust_input=bool(function.trust_input), explicit_names=tuple(explicit_names),
        shared=tuple(shared), targets=tuple(targets), n_outputs=n_outputs,
        inplace_pairs=tuple(tuple(pair) for pair in pairs),
        graph=getattr(function, "graph", None), options=_options_of(function, executable))


def function_from_parts(parts):
    """A ``Function`` from ``parts``: its kernels linked from this process or the disk
    cache, or compiled from the stored schedule; the passes never run.

    Raises
    ------
    SerializationError
        The schedule is not one this theon reads, or the target is unknown.
    """
    from ..runtime.executable import Executable
    from .function import CompileReport, Function, _in_pipeline_order, _NoCudaRuntime
    from .updates import SharedState
    start = time.perf_counter()
    watch = Stopwatch()
    with watch("load"):
        schedule = loads_schedule(parts.schedule)
    name = parts.name or "function"
    kernels = len(schedule.kernel_steps())
    if parts.target == "cpu":
        from ..runtime.loader import load_schedule
        loaded = load_schedule(schedule, "cpu", name, watch)
        executable = Executable(schedule, loaded.addresses, parts.input_names,
                                parts.allow_input_downcast, "cpu", parts.inplace_pairs)
        compiled = loaded.compiled
    elif parts.target == "cuda":
        from .compiler import ptx_of
        ptx = ptx_of(schedule, config.cuda_arch, name, watch)
        executable = _NoCudaRuntime(schedule, ptx)
        compiled = len(ptx.symbols)
    else:
        raise SerializationError(f"a stored function for target {parts.target!r}; this theon "
                                 "knows 'cpu' and 'cuda'")
    executable, stats, mode = _instrumented(executable, schedule, parts)
    state = None
    if parts.has_state:
        state = SharedState(parts.explicit_names, parts.shared, parts.targets,
                             parts.n_outputs, parts.inplace_pairs)
    total = time.perf_counter() - start
    report = CompileReport(_in_pipeline_order(watch.stages), total, "stored", kernels,
                           compiled, kernels - compiled)
    if config.compile_log:
        print(f"theon: re-linked {name} in {total * 1e3:.2f} ms (cache stored, {kernels} "
              f"kernel(s), {compiled} compiled)", file=sys.stderr)
    result = Function(executable, parts.single, report, parts.target, parts.name, state,
                      graph=parts.graph, profile=stats, mode=mode)
    result.trust_input = parts.trust_input
    return result


def _options_of(function, executable):
    """The ``FunctionParts.options`` of ``function``, whose plain Executable is
    ``executable``."""
    mode, runner = getattr(function, "mode", None), function._executable
    options = {"profile": getattr(function, "profile", None) is not None, "mode": None,
               "output_labels": None}
    if mode is not None and mode.checks:
        options["mode"] = [mode.name, mode.parameters()]
        options["output_labels"] = [runner.function_outputs.get(slot)
                                    for slot in executable.outputs]
    return options


def _instrumented(executable, schedule, parts):
    """(what the function runs, its ProfileStats or None, its checking Mode or None):
    ``executable`` wrapped in the checking or profiling runner ``parts.options`` asks for."""
    options = parts.options
    mode = options.get("mode")
    if mode is not None and parts.target == "cpu":
        from .modes import PREDEFINED_MODES
        name, parameters = mode
        if name not in ("DebugMode", "NanGuardMode"):
            raise SerializationError(f"a stored function in mode {name!r}; this theon "
                                     "stores 'DebugMode' and 'NanGuardMode'")
        labels = [label or f"output {index}"
                  for index, label in enumerate(options.get("output_labels") or ())]
        checking = PREDEFINED_MODES[name](**parameters)
        return checking.runner(executable, parts.graph, labels), None, checking
    if options.get("profile") and parts.target == "cpu":
        from ..runtime.profiling import ProfileStats, ProfilingRunner
        stats = ProfileStats(schedule, parts.name)
        return ProfilingRunner(executable, stats), stats, None
    return executable, None, None


# -- pickle -------------------------------------------------------------------------------

def reduce_function(function):
    """``Function.__reduce__``: a record of plain values, bytes and shared variables."""
    parts = parts_of(function)
    record = {name: getattr(parts, name) for name in parts.__dataclass_fields__}
    record["version"] = RECORD_VERSION
    record["graph"] = None if parts.graph is None else _pickled_graph(parts.graph)
    return (function_from_pickle, (record,))


def function_from_pickle(record):
    """The Function a pickled ``record`` describes (see ``reduce_function``)."""
    if record.get("version", 0) > RECORD_VERSION:
        raise SerializationError(f"this compiled function was pickled by a newer theon "
                                 f"(record version {record['version']}; this theon reads "
                                 f"{RECORD_VERSION} or older)")
    values = {name: record[name] for name in FunctionParts.__dataclass_fields__
              if name in record}
    if values.get("graph") is not None:
        name = values.get("name")
        values["graph"] = optional_graph(lambda: _graph_from_pickle(*values["graph"]),
                                         "a compiled function" if name is None else
                                         f"compiled function {name!r}")
    return function_from_parts(FunctionParts(**values))


def optional_graph(load, what):
    """``load()``, a function's graph, or None with a warning when the graph names an op
    this process does not define: the function runs from its schedule without it."""
    try:
        return load()
    except UndefinedOpError as error:
        warn_user(f"the graph of {what} was not loaded ({error}); its graph attribute is "
                  "None, and it runs as compiled")
        return None


class _InputToken:
    """Stands for one input leaf in pickles.  Pickle writes each token once per stream and
    reads it back as one object, whose ``node`` is a new input: so every variable of that
    pickle that used the input uses the new one."""

    __slots__ = ("op", "node", "__weakref__")

    def __init__(self, op, node=None):
        self.op = op
        self.node = node

    def __reduce__(self):
        op = self.op
        return (_input_from_pickle, (op.type.dtype, tuple(op.type.shape), op.label))


def _input_from_pickle(dtype, shape, label):
    """The token of a new input of ``dtype`` and static ``shape``."""
    op = ir.Input.new(ir.TensorType(dtype, tuple(shape)), label)
    return _InputToken(op, ir.Node.make(op))


# input node -> its token, while the node lives: the same token for every variable pickled
# in one stream (the token holds the op, not the node, so the node can die)
_tokens = weakref.WeakKeyDictionary()


def _holder(node):
    """What stands for the input ``node`` in a pickle: its shared variable or its token."""
    if isinstance(node.op, SharedInput):
        return node.op.variable
    token = _tokens.get(node)
    if token is None:
        token = _InputToken(node.op)
        _tokens[node] = token
    return token


def _pickled_graph(graph):
    """(graph document bytes, the holders of its input leaves) for pickling ``graph``."""
    holders, numbers = [], {}

    def leaf(node):
        holder = _holder(node)
        if id(holder) not in numbers:
            numbers[id(holder)] = len(holders)
            holders.append(holder)
        return numbers[id(holder)]

    return dumps_graph(graph, leaf), tuple(holders)


def _graph_from_pickle(data, holders):
    """The ir.Graph that ``_pickled_graph`` wrote, over the unpickled ``holders``."""
    def leaf(number):
        if type(number) is not int or not 0 <= number < len(holders):
            raise SerializationError(f"malformed graph: leaf number {number!r}")
        node = holders[number].node
        if node is None:
            raise SerializationError("malformed graph: an input token without its node")
        return node

    return loads_graph(data, leaf)


def _extra_slots(cls):
    """The slots a Variable subclass adds to Variable's (e.g. ShapeVariable's source)."""
    names = []
    for klass in cls.__mro__:
        if klass in (Variable, SharedVariable) or not issubclass(klass, Variable):
            continue
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return [name for name in names if name != "__weakref__"]


def _slot_state(variable, names):
    """{slot: value} of the slots of ``variable`` among ``names`` that are set."""
    state = {}
    for name in names:
        try:
            state[name] = getattr(variable, name)
        except AttributeError:
            pass
    return state


def reduce_variable(variable):
    """``Variable.__reduce__``: the graph document of its node and the holders of its
    leaves; its name, tag and a subclass's slots as state."""
    data, holders = _pickled_graph(ir.Graph((), (variable.node,)))
    state = _slot_state(variable, ["name", "tag"] + _extra_slots(type(variable)))
    return (variable_from_pickle, (type(variable), data, holders), (None, state))


def variable_from_pickle(cls, data, holders):
    """A ``cls`` over the node pickled as ``data`` (its name, tag and a subclass's slots
    come as state)."""
    if not (isinstance(cls, type) and issubclass(cls, Variable)) or \
            issubclass(cls, SharedVariable):
        raise SerializationError(f"malformed pickle: {cls!r} is not a Variable class")
    (node,) = _graph_from_pickle(data, holders).outputs
    variable = cls.__new__(cls)
    variable.node = node
    variable.name = None
    return variable


def reduce_shared(variable):
    """``SharedVariable.__reduce__``: its value, type and flags; its name, tag and
    ``default_update`` as state (which may refer back to the variable)."""
    ttype = variable.node.type
    arguments = (variable._value, ttype.dtype, tuple(ttype.shape), variable.name,
                 variable._strict, variable._allow_downcast)
    state = _slot_state(variable, ["name", "tag", "default_update"])
    return (shared_from_pickle, arguments, (None, state))


def shared_from_pickle(value, dtype, shape, name, strict, allow_downcast):
    """A new SharedVariable holding ``value`` (its tag and default update come as state)."""
    ttype = ir.TensorType(dtype, tuple(shape))
    array = np.asarray(value)
    if array.dtype.name != dtype or array.ndim != ttype.ndim:
        raise SerializationError(f"malformed pickle: a shared variable of type {ttype} "
                                 f"holding an array of dtype {array.dtype} and rank "
                                 f"{array.ndim}")
    return SharedVariable(array, ttype, name, strict, allow_downcast)


def copy_variable(variable):
    """``Variable.__copy__``: another Variable object over the same node, with the same
    attributes (pickling's ``__reduce__`` would copy the graph instead)."""
    cls = type(variable)
    result = cls.__new__(cls)
    names = ["node", "name"] + _extra_slots(cls)
    if isinstance(variable, SharedVariable):
        names += [name for name in SharedVariable.__slots__]
    for name, value in _slot_state(variable, names).items():
        setattr(result, name, value)
    result.tag = copy.copy(variable.tag)  # a tag belongs to one variable
    return result

