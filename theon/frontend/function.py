"""``theon.function``: compile symbolic inputs and outputs into a callable.

Compiling runs the pass pipeline, generates one LLVM module for the kernels not already
compiled in this process, and binds the result to a small runtime object.  Compiled code
depends only on dtypes, ranks and broadcast patterns: new input sizes never recompile.
"""
import sys
import threading
import time
from dataclasses import dataclass, field

from .. import ir
from ..config import config
from ..passes import run_pipeline
from ..runtime.executable import Executable
from ..stopwatch import Stopwatch
from .variable import Variable, as_tensor_variable


class UnusedInputError(ValueError):
    """An input given to ``function`` does not influence any output."""


class MissingInputError(ValueError):
    """An output depends on an input variable not given to ``function``."""


@dataclass
class CompileReport:
    """How a function was compiled.

    Attributes
    ----------
    stages : dict
        Stage name -> seconds: ``build``, each pass by name, ``codegen``, ``llvm``, ``load``.
    total_s : float
    cache : str
        'miss' (compiled now) or 'memory' (this process had compiled the same graph).
    kernels : int
        Kernels the function runs.
    kernels_compiled : int
        Kernels that went through LLVM for this compile (the others were reused).
    nodes : dict
        Pass name -> (nodes before, nodes after).
    """

    stages: dict
    total_s: float
    cache: str
    kernels: int
    kernels_compiled: int
    nodes: dict = field(default_factory=dict)

    def __str__(self):
        lines = [f"compile: {self.total_s * 1e3:.2f} ms total, cache {self.cache}, "
                 f"{self.kernels} kernel(s), {self.kernels_compiled} compiled now"]
        for stage, seconds in self.stages.items():
            counts = self.nodes.get(stage)
            extra = f"  nodes {counts[0]} -> {counts[1]}" if counts else ""
            lines.append(f"  {stage:<16}{seconds * 1e3:9.3f} ms{extra}")
        return "\n".join(lines)


@dataclass
class _Compiled:
    """What the in-process graph cache keeps for one graph."""

    schedule: object
    addresses: dict
    optimized: ir.Graph


_graph_cache = {}
_graph_cache_lock = threading.Lock()


class Function:
    """A compiled function.  Call it with one value per input.

    Attributes
    ----------
    report : CompileReport
    trust_input : bool
        Skip argument checks and conversions (the caller passes ndarrays of the right dtype
        and rank), as PyTensor's flag of that name.
    """

    def __init__(self, executable, single, report, graph, optimized, names, target, name):
        self._executable = executable
        self._call = executable.caller(single)
        self._trusted_call = executable.caller(single, trusted=True)
        self._single = single
        self.report = report
        self.trust_input = False
        self.name = name
        self._graph = graph
        self._optimized = optimized
        self._names = names
        self._target = target

    def __call__(self, *args):
        """Run the function; a single output is returned bare, a list of outputs as a list."""
        if self.trust_input:
            return self._trusted_call(*args)
        return self._call(*args)

    @property
    def schedule(self):
        """The compiled Schedule: kernels and the order they run in."""
        return self._executable.schedule

    def source(self, kind="llvm"):
        """The code behind this function.

        Parameters
        ----------
        kind : {'ir', 'llvm', 'opt', 'asm'}
            'ir': theon's optimised graph with each kernel's scalar body; 'llvm': the LLVM IR
            theon emits; 'opt': the same after LLVM's optimiser; 'asm': machine code.
        """
        if kind == "ir":
            return _kernel_listing(self._optimized, self.schedule, self._names)
        if kind not in ("llvm", "opt", "asm"):
            raise ValueError(f"source: kind {kind!r}; expected 'ir', 'llvm', 'opt' or 'asm'")
        from ..codegen import compile_steps
        steps = [s for s in self.schedule.steps if isinstance(s, ir.KernelStep)]
        compiled = compile_steps(steps, self._target, self.name or "function", Stopwatch())
        if kind == "llvm":
            return compiled.llvm_ir
        if kind == "opt":
            return compiled.optimized_ir
        return self._target.assembly(compiled)

    def __repr__(self):
        return f"<theon.Function {self.name or ''} {self.report.kernels} kernel(s)>"


def _kernel_listing(optimized, schedule, names):
    from ..ir.printing import debugprint_nodes
    lines = [debugprint_nodes(optimized.outputs, names)]
    for index, step in enumerate(schedule.steps):
        if isinstance(step, ir.KernelStep):
            body = "; ".join(repr(b) for b in step.kernel.body)
            lines.append(f"kernel {index} {step.symbol} {step.kernel.describe()}: {body}")
    return "\n".join(lines)


def function(inputs, outputs=None, updates=None, givens=None, allow_input_downcast=None,
             target=None, name=None, mode=None, on_unused_input="raise", trust_input=False):
    """Compile a function from symbolic ``inputs`` to ``outputs``.

    Parameters
    ----------
    inputs : list of Variable
        Input variables, in call order.
    outputs : Variable or list of Variable, optional
        A single output is returned bare by the compiled function; a list gives a list.
    updates, givens :
        Theano's shared-variable updates and substitutions (not supported yet: #5).
    allow_input_downcast : bool or None
        True: convert inputs of any dtype.  None (default): also accept Python floats for
        float32 inputs.  False: accept only conversions that lose nothing.
    target : {'cpu'}, optional
        Defaults to ``theon.config.target``.
    name : str, optional
    mode : ignored
        Accepted for Theano compatibility.
    on_unused_input : {'raise', 'warn', 'ignore'}
    trust_input : bool
        Skip argument checks on calls (see ``Function.trust_input``).

    Returns
    -------
    Function

    Raises
    ------
    TypeError
        An input is not a symbolic input variable.
    MissingInputError, UnusedInputError
    """
    start = time.perf_counter()
    if updates or givens:
        raise NotImplementedError("theon.function: updates and givens are not supported yet "
                                  "(issue #5)")
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function: inputs must be a list of variables, got "
                        f"{type(inputs).__name__}")
    single = outputs is not None and not isinstance(outputs, (list, tuple))
    out_vars = [] if outputs is None else [outputs] if single else list(outputs)
    out_vars = [as_tensor_variable(o) for o in out_vars]
    graph, names = _build_graph(inputs, out_vars, on_unused_input)
    watch = Stopwatch()
    watch.stages["build"] = time.perf_counter() - start
    with watch("codegen"):
        from ..codegen import get_target  # llvmlite is imported on the first compile only
        target = get_target(target or config.target)
    key = ir.graph_digest(graph, extra=target.cache_key())
    with _graph_cache_lock:
        compiled = _graph_cache.get(key)
    cache = "memory"
    kernels_compiled = 0
    nodes = {}
    if compiled is None:
        cache = "miss"
        compiled, kernels_compiled, nodes = _compile(graph, target, name, watch)
        with _graph_cache_lock:
            _graph_cache[key] = compiled
    executable = Executable(compiled.schedule, compiled.addresses, None,
                            [names.get(i, f"input {k}") for k, i in enumerate(graph.inputs)],
                            allow_input_downcast)
    total = time.perf_counter() - start
    kernels = sum(isinstance(s, ir.KernelStep) for s in compiled.schedule.steps)
    report = CompileReport(dict(watch.stages), total, cache, kernels, kernels_compiled, nodes)
    if config.compile_log:
        print(f"theon: compiled {name or 'function'} in {total * 1e3:.2f} ms "
              f"(cache {cache}, {kernels} kernel(s), {kernels_compiled} compiled)",
              file=sys.stderr)
    result = Function(executable, single, report, graph, compiled.optimized, names, target,
                      name)
    result.trust_input = trust_input
    return result


def _compile(graph, target, name, watch):
    """Run the pipeline and codegen for ``graph``: (_Compiled, kernels compiled, nodes)."""
    schedule, records = run_pipeline(graph)
    nodes = {}
    for record in records:
        watch.stages[record.name] = record.seconds
        nodes[record.name] = (record.nodes_before, record.nodes_after)
    from ..runtime.loader import load_schedule
    addresses, compiled = load_schedule(schedule, target, name or "function", watch)
    return _Compiled(schedule, addresses, schedule.graph), compiled, nodes


def _build_graph(inputs, outputs, on_unused_input):
    """The ir.Graph of a function, and a map from nodes to the user's names."""
    names = {}
    leaves = []
    for position, variable in enumerate(inputs):
        if not isinstance(variable, Variable):
            raise TypeError(f"function: input {position} is a {type(variable).__name__}, not "
                            "a symbolic variable")
        if not isinstance(variable.node.op, ir.Input):
            raise TypeError(f"function: input {position} ({variable!r}) is computed from other "
                            "variables or constant; inputs must be variables made by "
                            "T.vector(), T.matrix(), ...")
        if variable.node in leaves:
            raise ValueError(f"function: input {position} ({variable!r}) is given twice")
        leaves.append(variable.node)
        names[variable.node] = variable.name or variable.node.op.label or f"input {position}"
    for variable in outputs:
        if variable.name:
            names.setdefault(variable.node, variable.name)
    graph = ir.Graph(tuple(leaves), tuple(v.node for v in outputs))
    used = set()
    for node in graph.nodes():
        if isinstance(node.op, ir.Input):
            if node not in names:
                raise MissingInputError(
                    f"function: an output depends on input {node.op.describe()!r} "
                    f"({node.type}), which is not among the function's inputs")
            used.add(node)
    for position, leaf in enumerate(leaves):
        if leaf not in used and on_unused_input != "ignore":
            message = (f"function: input {position} ('{names[leaf]}') is not used to compute "
                       "any output; pass on_unused_input='ignore' to allow it")
            if on_unused_input == "raise":
                raise UnusedInputError(message)
            import warnings
            warnings.warn(message, stacklevel=3)
    return graph, names
