"""(De)serialisation of schedules: JSON for structure, raw bytes for constant arrays.

Nothing here pickles or evaluates: decoding reads a JSON document and numpy buffers, and
rebuilds ops only from the classes registered with ``ir.node.host_op``.  Any malformed input raises
``SerializationError``.
"""
import dataclasses
import functools

from . import ops as _ops  # noqa: F401  (importing the catalogue registers the host ops)
from . import scalar as s
from .container import SerializationError, pack, unpack
from .kernel import BranchStep, HostStep, Kernel, KernelStep, LoopStep, Schedule
from .node import HOST_OPS
from .ops.elementwise import find_elementwise
from .ops.branch import Branch
from .ops.scan import Scan
from .types import TensorType

FORMAT = 5  # 3: reduction kernels; 4: loops and conditionals; 5: external functions
_MAGIC = b"THEONSCH"


def dumps_schedule(schedule):
    """``schedule`` as bytes (magic, format, JSON length, JSON, constant buffers)."""
    def build(array):
        document = _document(schedule, array)
        document["format"] = FORMAT
        return document

    return pack(_MAGIC, FORMAT, build)


def loads_schedule(data):
    """The Schedule ``dumps_schedule`` wrote into ``data``; SerializationError otherwise."""
    try:
        document, array = unpack(data, _MAGIC, FORMAT, "schedule")
        return _load_document(document, array)
    except SerializationError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise SerializationError(f"malformed schedule: {error!r}") from None


def _document(schedule, array):
    """The JSON structure of ``schedule``; ``array`` stores a constant and describes it."""
    return {
        "n_inputs": schedule.n_inputs,
        "input_types": [_type(t) for t in schedule.input_types],
        "constants": [[slot, array(value)] for slot, value in schedule.constants],
        "steps": [_step(step, array) for step in schedule.steps],
        "outputs": list(schedule.outputs),
        "slot_types": [_type(t) for t in schedule.slot_types],
        "slot_names": list(schedule.slot_names),
    }


def _load_document(document, array):
    return Schedule(
        n_inputs=document["n_inputs"],
        input_types=tuple(_load_type(t) for t in document["input_types"]),
        constants=tuple((slot, array(spec)) for slot, spec in document["constants"]),
        steps=tuple(_load_step(step, array) for step in document["steps"]),
        outputs=tuple(document["outputs"]),
        slot_types=tuple(_load_type(t) for t in document["slot_types"]),
        slot_names=tuple(document["slot_names"]))


def _type(ttype):
    return [ttype.dtype, list(ttype.shape)]


def _load_type(spec):
    dtype, shape = spec
    return _tensor_type(dtype, tuple(shape))


@functools.lru_cache(maxsize=4096)
def _tensor_type(dtype, shape):
    # types are immutable, and a schedule's slots share a few: one object each, made once
    return TensorType(dtype, shape)


def _step(step, array):
    if isinstance(step, KernelStep):
        return {"kernel": _kernel(step.kernel), "inputs": list(step.inputs),
                "outputs": list(step.outputs), "symbol": step.symbol}
    if isinstance(step, LoopStep):
        return {"loop": _structure(step.op, 1), "body": _document(step.body, array),
                "inputs": list(step.inputs), "outputs": list(step.outputs)}
    if isinstance(step, BranchStep):
        return {"branch": _structure(step.op, 2),
                "then": _document(step.then_body, array),
                "else": _document(step.else_body, array),
                "inputs": list(step.inputs), "outputs": list(step.outputs)}
    return {"host": list(step.op.key()), "inputs": list(step.inputs), "output": step.output}


def _load_step(spec, array):
    if "kernel" in spec:
        return KernelStep(_load_kernel(spec["kernel"]), tuple(spec["inputs"]),
                          tuple(spec["outputs"]), spec["symbol"])
    if "loop" in spec:
        op = Scan(None, *_tuples(spec["loop"]))
        return LoopStep(op, tuple(spec["inputs"]), tuple(spec["outputs"]),
                        _load_document(spec["body"], array))
    if "branch" in spec:
        return BranchStep(Branch(None, None, *_tuples(spec["branch"])),
                          tuple(spec["inputs"]), tuple(spec["outputs"]),
                          _load_document(spec["then"], array),
                          _load_document(spec["else"], array))
    key = spec["host"]
    if key[0] == "Elementwise":
        op = _elementwise(key)
    elif key[0] in HOST_OPS:
        op = HOST_OPS[key[0]](*[_tuples(value) for value in key[1:]])
    else:
        raise SerializationError(f"unknown host op {key[0]!r}")
    return HostStep(op, tuple(spec["inputs"]), spec["output"])


def _structure(op, n_graphs):
    """The field values of a loop's or conditional's op after its first ``n_graphs``
    fields (its graphs, which the step's schedules replace once compiled)."""
    return [getattr(op, field.name) for field in dataclasses.fields(op)[n_graphs:]]


def _tuples(value):
    """JSON's lists back to the tuples ops hold."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def _kernel(kernel):
    numbering, nodes = {}, []
    for node in s.topological(kernel.body):
        numbering[node] = len(nodes)
        attr = node.attr.hex() if isinstance(node.attr, bytes) else node.attr
        nodes.append([node.prim, node.dtype, attr, [numbering[a] for a in node.args]])
    # an external function's code travels with the kernel: a process that loads the
    # schedule can recompile it without having defined the op
    externals = [_external(s.EXTERNAL[symbol]) for symbol in
                 sorted({node.attr for node in numbering if node.prim == "call"})]
    return {"in_types": [_type(t) for t in kernel.in_types],
            "out_types": [_type(t) for t in kernel.out_types],
            "externals": externals,
            "nodes": nodes, "body": [numbering[o] for o in kernel.body],
            "members": list(kernel.members), "strided": kernel.strided,
            "reduce": kernel.reduce, "domain": kernel.domain}


def _external(function):
    return {"symbol": function.symbol, "arg_dtypes": list(function.arg_dtypes),
            "out_dtype": function.out_dtype, "llvm_ir": function.llvm_ir,
            "callees": list(function.callees), "name": function.name}


def _load_kernel(spec):
    for external in spec["externals"]:
        s.register_external(s.ExternalFunction(
            external["symbol"], tuple(external["arg_dtypes"]), external["out_dtype"],
            external["llvm_ir"], tuple(external["callees"]), name=external["name"]))
    nodes = []
    for prim, dtype, attr, args in spec["nodes"]:
        if prim not in s.ARITY:
            raise SerializationError(f"unknown scalar primitive {prim!r}")
        if prim == "const":
            attr = bytes.fromhex(attr)
        nodes.append(s.make(prim, [nodes[i] for i in args], dtype, attr))
    return Kernel(in_types=tuple(_load_type(t) for t in spec["in_types"]),
                  out_types=tuple(_load_type(t) for t in spec["out_types"]),
                  body=tuple(nodes[i] for i in spec["body"]),
                  members=tuple(spec["members"]), strided=bool(spec["strided"]),
                  reduce=_tuples(spec["reduce"]), domain=_tuples(spec["domain"]))


def _elementwise(key):
    _, name, attrs = key
    try:
        return find_elementwise(name, _tuples(attrs))
    except KeyError:
        raise SerializationError(f"elementwise op {name!r} is not defined in this process "
                                 "(a custom op must be defined before a schedule using it "
                                 "is loaded)") from None

