"""``theon.function``: compile symbolic inputs and outputs into a callable.

Compiling runs the pass pipeline, generates one LLVM module for the kernels not already
compiled in this process, and binds the result to a small runtime object.  Compiled code
depends only on dtypes, ranks and broadcast patterns: new input sizes never recompile.
"""
import sys
import time
from dataclasses import dataclass, field

from .. import ir
from ..config import config
from ..ir.printing import format_schedule
from ..runtime.executable import Executable
from ..stopwatch import Stopwatch
from .compiler import compile_graph, compile_graph_to_ptx
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
        Stage name -> seconds: ``build`` (the graph and its hash), each pass by name (on a
        miss), ``codegen`` (emitting LLVM IR), ``llvm`` (optimising, machine code),
        ``load`` (reading the disk cache, mapping code), ``store`` (writing the disk cache).
    total_s : float
    cache : str
        'miss' (the passes ran), 'memory' (this process had compiled the same graph) or
        'disk' (the disk cache had it).
    kernels : int
        Kernels the function runs.
    kernels_compiled : int
        Kernels that went through LLVM for this compile.
    kernels_cached : int
        Kernels whose code was reused from this process or the disk cache.
    nodes : dict
        Pass name -> (nodes before, nodes after), for the passes that ran.
    """

    stages: dict
    total_s: float
    cache: str
    kernels: int
    kernels_compiled: int
    kernels_cached: int = 0
    nodes: dict = field(default_factory=dict)

    def __str__(self):
        lines = [f"compile: {self.total_s * 1e3:.2f} ms total, cache {self.cache}, "
                 f"{self.kernels} kernel(s): {self.kernels_compiled} compiled, "
                 f"{self.kernels_cached} from cache"]
        for stage, seconds in self.stages.items():
            counts = self.nodes.get(stage)
            extra = f"  nodes {counts[0]} -> {counts[1]}" if counts else ""
            lines.append(f"  {stage:<16}{seconds * 1e3:9.3f} ms{extra}")
        return "\n".join(lines)


class Function:
    """A compiled function.  Call it with one value per input.

    Attributes
    ----------
    report : CompileReport
    trust_input : bool
        Skip argument checks and conversions (the caller passes ndarrays of the right dtype
        and rank), as PyTensor's flag of that name.
    """

    def __init__(self, executable, single, report, target_name, name):
        self._executable = executable
        self._call = executable.caller(single)
        self._trusted_call = executable.caller(single, trusted=True)
        self._single = single
        self._target_name = target_name
        self.report = report
        self.trust_input = False
        self.name = name

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
        """The code behind this function (also after a cache hit).

        Parameters
        ----------
        kind : {'ir', 'llvm', 'opt', 'asm', 'ptx'}
            'ir': theon's schedule with each kernel's scalar body; 'llvm': the LLVM IR
            theon emits; 'opt': the same after LLVM's optimiser; 'asm': machine code (PTX
            for target='cuda'); 'ptx': the PTX of a function compiled for target='cuda'.
        """
        if kind == "ir":
            return format_schedule(self.schedule)
        if kind == "ptx":
            if self._target_name != "cuda":
                raise ValueError("source: kind 'ptx' needs a function compiled with "
                                 "target='cuda'")
            return self._executable.ptx.code.decode()
        if kind not in ("llvm", "opt", "asm"):
            raise ValueError(f"source: kind {kind!r}; expected 'ir', 'llvm', 'opt', 'asm' "
                             "or 'ptx'")
        from ..codegen import compile_steps, get_target
        target = get_target(self._target_name)
        steps = {s.symbol: s for s in self.schedule.steps if isinstance(s, ir.KernelStep)}
        compiled = compile_steps(list(steps.values()), target, self.name or "function",
                                 Stopwatch())
        if kind == "llvm":
            return compiled.llvm_ir
        if kind == "opt":
            return compiled.optimized_ir
        return target.assembly(compiled)

    def __repr__(self):
        return f"<theon.Function {self.name or ''} {self.report.kernels} kernel(s)>"


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
    target : {'cpu', 'cuda'}, optional
        Defaults to ``theon.config.target``.  'cuda' generates PTX (``f.source('ptx')``) on
        any machine; launching it is not implemented yet (#7), so calling such a function
        raises RuntimeError.
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
    target_name = target or config.target
    if target_name == "cuda":
        compiled, ptx = compile_graph_to_ptx(graph, name, watch)
        executable = _NoCudaRuntime(compiled.schedule, ptx)
    elif target_name == "cpu":
        compiled = compile_graph(graph, target_name, name, watch)
        executable = Executable(compiled.schedule, compiled.addresses,
                                [names.get(i, f"input {k}") for k, i in enumerate(graph.inputs)],
                                allow_input_downcast, target_name)
    else:
        raise ValueError(f"function: unknown target {target_name!r}; expected 'cpu' or 'cuda'")
    total = time.perf_counter() - start
    report = CompileReport(_in_pipeline_order(watch.stages), total, compiled.cache,
                           compiled.kernels_compiled + compiled.kernels_cached,
                           compiled.kernels_compiled, compiled.kernels_cached, compiled.nodes)
    if config.compile_log:
        print(f"theon: compiled {name or 'function'} in {total * 1e3:.2f} ms "
              f"(cache {compiled.cache}, {report.kernels} kernel(s), "
              f"{compiled.kernels_compiled} compiled)", file=sys.stderr)
    result = Function(executable, single, report, target_name, name)
    result.trust_input = trust_input
    return result


class _NoCudaRuntime:
    """What a function compiled for target='cuda' runs: its PTX exists (``f.source('ptx')``),
    but no CUDA runtime exists in theon yet to load and launch it (issue #7)."""

    def __init__(self, schedule, ptx):
        self.schedule = schedule
        self.ptx = ptx

    def caller(self, single, trusted=False):
        """A callable that explains why it cannot run."""
        def call(*args):
            raise RuntimeError("theon: this function was compiled for target='cuda'; its PTX "
                               "is available through f.source('ptx'), but theon cannot "
                               "launch CUDA kernels yet (issue #7); compile with "
                               "target='cpu' to run it")
        return call


def _in_pipeline_order(stages):
    """``stages`` ordered as the compiler runs them (the disk lookup counts as loading)."""
    from ..passes import PIPELINE
    order = ["build"] + [p.name for p in PIPELINE] + ["codegen", "llvm", "load", "store"]
    rank = {name: index for index, name in enumerate(order)}
    return dict(sorted(stages.items(), key=lambda item: rank.get(item[0], len(order))))


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
