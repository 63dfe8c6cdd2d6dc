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
from ..runtime.profiling import ProfileStats, ProfilingRunner
from ..stopwatch import Stopwatch
from .collector import paused
from .compiler import compile_graph, compile_graph_to_ptx
from .modes import get_mode, output_labels
from .shared import SharedVariable
from .updates import (SharedState, add_default_updates, givens_replacements,
                      no_default_updates_option, update_pairs)
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
        With tiered compilation (CPU, ``config.tiered_compile``) ``llvm`` is the quick
        first tier; the optimised code is compiled by a background thread, outside this
        report, and stored on disk then (``theon.runtime.loader.wait_for_optimized``).
    total_s : float
    cache : str
        'miss' (the passes ran), 'memory' (this process had compiled the same graph),
        'disk' (the disk cache had it) or 'stored' (the schedule came with a pickled or
        ``theon.save``d function; ``kernels_compiled`` says how many kernels neither this
        process nor the disk cache had).
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
    graph : ir.Graph or None
        The graph the function was compiled from, before any pass ran (for printing and
        checking); None when not known.
    profile : theon.runtime.profiling.ProfileStats or None
        Per-step call counts, times and bytes of a function compiled with
        ``profile=True`` (``print(f.profile)`` shows the table); None otherwise.
    mode : theon.compile.Mode or None
        How calls run (``function``'s ``mode``); None for a function made otherwise.
    """

    def __init__(self, executable, single, report, target_name, name, state=None, graph=None,
                 profile=None, mode=None):
        self._executable = executable
        if state is None or isinstance(executable, _NoCudaRuntime):
            self._call = executable.caller(single)
            self._trusted_call = executable.caller(single, trusted=True)
        else:
            self._call = state.caller(executable, single)
            self._trusted_call = state.caller(executable, single, trusted=True)
        if profile is not None:
            # the whole call, shared-variable handling included, is the function's time
            self._call = profile.timed(self._call)
            self._trusted_call = profile.timed(self._trusted_call)
        self.profile = profile
        self._single = single
        self._target_name = target_name
        self._state = state
        self.report = report
        self.trust_input = False
        self.name = name
        self.graph = graph
        self.mode = mode

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
        if self._target_name == "cuda" and kind in ("opt", "asm"):
            ptx = self._executable.ptx  # kept with the PTX in the caches
            if kind == "asm":
                return ptx.code.decode()
            if ptx.optimized_ir:
                return ptx.optimized_ir
        from ..codegen import compile_steps, get_target
        target = get_target(self._target_name)
        steps = {s.symbol: s for s in self.schedule.kernel_steps()}
        compiled = compile_steps(list(steps.values()), target, self.name or "function",
                                 Stopwatch())
        if kind == "llvm":
            return compiled.llvm_ir
        if kind == "opt":
            return compiled.optimized_ir
        return target.assembly(compiled)

    def __repr__(self):
        return f"<theon.Function {self.name or ''} {self.report.kernels} kernel(s)>"

    def __reduce__(self):
        """Pickle as the schedule and the shared variables, never machine code: unpickling
        links the kernels from the caches, or compiles them from the schedule, and does not
        run the passes (``theon.frontend.persist``)."""
        from .persist import reduce_function
        return reduce_function(self)


@paused
def function(inputs, outputs=None, updates=None, givens=None, allow_input_downcast=None,
             target=None, name=None, mode=None, on_unused_input="raise", trust_input=False,
             no_default_updates=False, profile=None):
    """Compile a function from symbolic ``inputs`` to ``outputs``.

    Shared variables (``theon.shared``) that the outputs or updates use are implicit
    inputs: every call reads their current values.

    Parameters
    ----------
    inputs : list of Variable
        Input variables, in call order (not shared variables).
    outputs : Variable or list of Variable, optional
        A single output is returned bare by the compiled function; a list gives a list.
    updates : list, tuple or dict of (SharedVariable, expression) pairs, optional
        New values written into the shared variables after each call.  Every expression
        (and every output) sees the values from before the call; each update is applied
        once per call, also by a function without inputs or outputs.  An expression must
        have the shared variable's dtype and broadcast pattern (Theano's rule; a numeric
        value is converted when that loses nothing).  Where safe, the new value is
        computed straight into the variable's array, else copied into it: a variable
        keeps its array (and its address) while its shape stays the same.
    givens : dict or list of (Variable, expression) pairs, optional
        Substitutions made before compiling: each key (any variable of the graph, often
        an input standing for a slice of a shared data set) is replaced by its
        expression, which must have the key's dtype and rank.  A numeric value becomes a
        shared variable.  Keys may not be among ``inputs``.
    allow_input_downcast : bool or None
        True: convert inputs of any dtype.  None (default): also accept Python floats for
        float32 inputs.  False: accept only conversions that lose nothing.
    target : {'cpu', 'cuda'}, optional
        Defaults to ``theon.config.target``.  'cuda' generates PTX (``f.source('ptx')``) on
        any machine; launching it is not implemented yet (#7), so calling such a function
        raises RuntimeError.
    name : str, optional
    mode : None, str or theon.compile.Mode, optional
        How calls run.  None, 'FAST_RUN' or 'FAST_COMPILE' (Theano's names; one pipeline
        here): the compiled code as it is.  'DebugMode' or ``theon.compile.DebugMode()``:
        each call checks every kernel against its numpy reference and every output
        against the unoptimised graph.  'NanGuardMode' or
        ``theon.compile.NanGuardMode(nan_is_error, inf_is_error, big_is_error)``: each
        call stops at the first step producing NaN, inf or huge values.  See
        ``theon.compile``.  Modes other than the plain one need target='cpu'.
    on_unused_input : {'raise', 'warn', 'ignore'}
    trust_input : bool
        Skip argument checks on calls (see ``Function.trust_input``).
    no_default_updates : bool or list of SharedVariable
        True: apply no ``default_update``; a list: none of those variables' default
        updates.  By default a shared variable the function uses, with a
        ``default_update`` and no update in ``updates``, gets its default update.
    profile : bool, optional
        True: time every step of every call into ``f.profile`` (a ProfileStats: per step
        its calls, seconds and bytes moved; ``print(f.profile)`` for the table).  None
        (default): ``theon.config.profile``, which a checking mode overrides.  Calls of an
        unprofiled function run the plain call path, with no cost for this option.

    Returns
    -------
    Function

    Raises
    ------
    TypeError
        An input is not a symbolic input variable, or is a shared variable; an update's
        target is not a shared variable, or its expression has another type; a given's
        expression has another type than its key.
    ValueError
        A shared variable has two updates; a given is listed twice; an unknown mode name;
        profile=True with DebugMode or NanGuardMode, or a mode other than the plain one
        or profile=True with target='cuda'.
    RuntimeError
        A given replaces one of ``inputs`` (as Theano).
    MissingInputError, UnusedInputError
    """
    start = time.perf_counter()
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"function: inputs must be a list of variables, got "
                        f"{type(inputs).__name__}")
    mode, profile = _instrumentation(mode, profile, target or config.target)
    single = outputs is not None and not isinstance(outputs, (list, tuple))
    out_vars = [] if outputs is None else [outputs] if single else list(outputs)
    out_vars = [as_tensor_variable(o) for o in out_vars]
    graph, names, state = _build_graph(inputs, out_vars, on_unused_input, updates, givens,
                                       no_default_updates)
    watch = Stopwatch()
    watch.stages["build"] = time.perf_counter() - start
    target_name = target or config.target
    if target_name == "cuda":
        compiled, ptx = compile_graph_to_ptx(graph, name, watch, config.cuda_arch)
        executable = _NoCudaRuntime(compiled.schedule, ptx)
    elif target_name == "cpu":
        compiled = compile_graph(graph, target_name, name, watch)
        executable = Executable(compiled.schedule, compiled.addresses,
                                [names.get(i, f"input {k}") for k, i in enumerate(graph.inputs)],
                                allow_input_downcast, target_name,
                                state.inplace_pairs if state is not None else ())
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
    stats = None
    if target_name == "cpu":
        # chosen once here: the plain call path is left as it is
        checking = mode.runner(executable, graph, output_labels(graph, names, state))
        if checking is not None:
            executable = checking
        elif profile:
            stats = ProfileStats(executable.schedule, name)
            executable = ProfilingRunner(executable, stats)
    result = Function(executable, single, report, target_name, name, state, graph=graph,
                      profile=stats, mode=mode)
    result.trust_input = trust_input
    return result


def _instrumentation(mode, profile, target_name):
    """(Mode, whether to profile) for ``function``'s arguments, checked."""
    mode = get_mode(mode)
    if profile is not None and not isinstance(profile, bool):
        raise TypeError(f"function: profile must be True, False or None; got {profile!r} "
                        f"({type(profile).__name__})")
    checking = mode.checks
    if profile and checking:
        raise ValueError(f"function: profile=True cannot be combined with mode={mode!r}: "
                         "its checks would be timed with the steps; profile the function "
                         "in the plain mode")
    if target_name == "cuda" and (checking or profile):
        what = "profile=True" if profile else f"mode={mode!r}"
        raise ValueError(f"function: {what} needs target='cpu'; theon cannot run "
                         "functions compiled for target='cuda' yet (issue #7)")
    if profile is None:
        profile = config.profile and not checking and target_name == "cpu"
    return mode, profile


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


def _build_graph(inputs, outputs, on_unused_input, updates=None, givens=None,
                 no_default_updates=False):
    """The ir.Graph of a function, a map from nodes to the user's names, and the
    ``SharedState`` of a function using shared variables (None for one that does not).

    The graph's inputs are the explicit inputs, then the shared variables reached from the
    outputs and updates (in the order a topological walk meets them); its outputs are the
    user's outputs, then one per update.
    """
    names = {}
    leaves = []
    for position, variable in enumerate(inputs):
        if not isinstance(variable, Variable):
            raise TypeError(f"function: input {position} is a {type(variable).__name__}, not "
                            "a symbolic variable")
        if isinstance(variable, SharedVariable):
            raise TypeError(f"function: input {position} ({variable!r}): cannot use a shared "
                            "variable as explicit input; its value is passed implicitly. "
                            "Consider substituting a non-shared variable via the `givens` "
                            "parameter")
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
    replace = givens_replacements(givens, leaves, names)
    out_nodes = ir.substitute([v.node for v in outputs], replace)
    targets, values = [], []
    for variable, value in update_pairs(updates):
        targets.append(variable)
        values.append(value.node)
    update_nodes = ir.substitute(values, replace)
    shared_vars = add_default_updates(out_nodes, targets, update_nodes, replace,
                                       no_default_updates_option(no_default_updates))
    shared_leaves = [variable.node for variable in shared_vars]
    for index, variable in enumerate(shared_vars):
        names[variable.node] = variable.name or f"shared {index}"
    graph = ir.Graph(tuple(leaves + shared_leaves), tuple(out_nodes + update_nodes))
    known = set(graph.inputs)
    used = set()
    for node in graph.nodes():
        if isinstance(node.op, ir.Input):
            if node not in known:
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
    if not shared_vars and not targets:
        return graph, names, None
    positions = {node: index for index, node in enumerate(graph.inputs)}
    n_outputs = len(out_nodes)
    inplace_pairs = tuple((n_outputs + index, positions[variable.node])
                          for index, variable in enumerate(targets)
                          if variable.node in positions)
    explicit_names = tuple(names[leaf] for leaf in leaves)
    return graph, names, SharedState(explicit_names, tuple(shared_vars), tuple(targets),
                                      n_outputs, inplace_pairs)
