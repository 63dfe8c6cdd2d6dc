"""DebugMode's runner: every native kernel checked against its numpy reference, and the
function's outputs against the unoptimised graph.

Each kernel step's reference, ``Kernel.impl`` (the kernel's scalar body evaluated by numpy),
is computed on the very arrays the kernel reads, before it runs (it may write an update
into one of them), and compared with what the kernel wrote.  Host steps run their op's
numpy ``impl``: they are their own reference.  Loop bodies and branch sides are checked
step by step in the same way.

Once every step agreed, the graph the user built is evaluated by ``ir.evaluate`` on copies
of the inputs taken before the call, and every output compared with the compiled one.
Where they differ, the optimised schedule evaluated by numpy alone (``run_reference``)
decides: if it differs from the unoptimised graph too, a rewrite changed the value
(``BadOptimization``); if it agrees, the difference is the rounding of native code that
each kernel check already bounded, spread over several steps (a float32 sum feeding
another kernel), and is not an error.
"""
import math

import numpy as np

from ..ir import evaluate
from ..ir import scalar as s
from .checking import CheckingRunner
from .compare import describe_mismatch, mismatch
from .executable import KernelCall
from .reference import run_reference


class DebugModeError(AssertionError):
    """A DebugMode check failed: compiled code computed something its reference did not."""


class BadThunkOutput(DebugModeError):
    """A native kernel's result differs from its numpy reference (Theano's name)."""


class BadOptimization(DebugModeError):
    """A compiled function's output differs from its unoptimised graph evaluated by numpy,
    and so does its optimised schedule evaluated by numpy: a graph rewrite changed the
    value (Theano's name)."""


class DebugRunner(CheckingRunner):
    """Runs a function as DebugMode does (see the module's docstring).

    Parameters
    ----------
    executable : Executable
    tolerance : theon.runtime.compare.Tolerance
    graph : ir.Graph or None
        The graph the function was compiled from (None: only the kernels are checked, as
        in a loop body).
    output_labels : sequence of str, optional
        How messages name each output.
    """

    def __init__(self, executable, tolerance, graph=None, output_labels=None):
        self.tolerance = tolerance
        super().__init__(executable, output_labels)
        self.graph = graph
        self.output_labels = tuple(output_labels or ())

    def nested(self, executable):
        return DebugRunner(executable, self.tolerance)

    def run(self, values):
        if self.graph is None:
            return super().run(values)
        # an update may be computed into its shared variable's array: keep the old values
        inputs = [np.array(value, copy=True) for value in values[:self.executable.n_inputs]]
        outputs = super().run(values)
        with np.errstate(all="ignore"):
            references = evaluate(self.graph, inputs)
        optimised = []  # the schedule's numpy outputs, computed at the first difference
        for position, (result, reference) in enumerate(zip(outputs, references)):
            self._check_output(position, np.asarray(result), np.asarray(reference),
                               inputs, optimised)
        return outputs

    def run_leaf(self, index, call, values):
        if not isinstance(call, KernelCall):
            call.run(values)
            return
        kernel = call.step.kernel
        arrays = call.gather(values)
        try:
            with np.errstate(all="ignore"):
                references = kernel.impl(*arrays)
                slack = _reduction_slack(kernel, arrays, references[0])
        except Exception as error:
            # arguments the kernel rejects too (shapes that do not broadcast): the call
            # raises the kernel's own error, as outside DebugMode
            call.run(values)
            raise BadThunkOutput(
                f"DebugMode: {self.where_step(index)}: the native kernel ran, but its numpy "
                f"reference (Kernel.impl) raised {type(error).__name__}: {error}") from error
        call.run(values)
        for position, (slot, reference) in enumerate(zip(call.outputs, references)):
            result = values[slot]
            if result.dtype != reference.dtype:
                problem = (f"has dtype {result.dtype}; the reference has dtype "
                           f"{reference.dtype}")
            elif result.shape != reference.shape:
                problem = (f"has shape {result.shape}; the reference has shape "
                           f"{reference.shape}")
            else:
                bad = mismatch(result, reference, self.tolerance, slack)
                if bad is None:
                    continue
                problem = describe_mismatch(result, reference, bad, self.tolerance, "native")
            raise BadThunkOutput(
                f"DebugMode: {self.where_step(index)}, "
                f"{self.describe_output(slot, position)}: the native kernel's result "
                f"differs from its numpy reference (Kernel.impl): {problem}")

    def _check_output(self, position, result, reference, inputs, optimised):
        """BadOptimization unless output ``position`` matches the unoptimised graph's, or
        differs only where the optimised schedule evaluated by numpy matches it."""
        declared = self.graph.outputs[position].type
        label = (self.output_labels[position] if position < len(self.output_labels)
                 else f"output {position}")
        where = f"DebugMode: {label} ({declared}) of the compiled function"
        if result.dtype != np.dtype(declared.dtype):
            raise BadOptimization(f"{where} has dtype {result.dtype}; its graph declares "
                                  f"{declared.dtype}")
        if result.shape != reference.shape:
            raise BadOptimization(f"{where} has shape {result.shape}; the unoptimised graph "
                                  f"evaluated by theon.ir.evaluate gives {reference.shape}")
        bad = mismatch(result, reference, self.tolerance, skip_nonfinite_reference=True)
        if bad is None:
            return
        if not optimised:
            optimised += run_reference(self.schedule, inputs)
        numpy_result = np.asarray(optimised[position])
        if numpy_result.shape == reference.shape:
            numpy_bad = mismatch(numpy_result.astype(result.dtype), reference, self.tolerance,
                                 skip_nonfinite_reference=True)
            if numpy_bad is None:
                return
            bad &= numpy_bad
            if not bad.any():
                return
        raise BadOptimization(
            f"{where} differs from the unoptimised graph evaluated by theon.ir.evaluate, and "
            "so does the optimised schedule evaluated by numpy, while every kernel matched "
            f"its own reference (a graph rewrite changed the value): "
            f"{describe_mismatch(result, reference, bad, self.tolerance, 'compiled')}")


def _reduction_slack(kernel, arrays, reference):
    """What rounding may add to a float sum's or product's difference from its reference:
    twice the worst-case error bound of evaluating it in any order, ``n eps sum|terms|`` for
    a sum and ``n eps |product|`` for a product of ``n`` terms (native code and numpy
    each add their terms in their own order).  None for other kernels."""
    if kernel.reduce is None or reference.dtype.kind != "f":
        return None
    combiner, axes, keepdims = kernel.reduce
    if combiner not in ("add", "mul"):
        return None
    eps = float(np.finfo(reference.dtype).eps)
    ndim = kernel.ndim
    padded = [np.asarray(a).reshape((1,) * (ndim - np.ndim(a)) + np.shape(a)) for a in arrays]
    domain = np.broadcast_shapes(*[a.shape for a in padded]) if padded else ()
    count = math.prod(domain[axis] for axis in axes)
    if combiner == "mul":
        return 2.0 * count * eps * np.abs(reference.astype(np.float64))
    (terms,) = s.evaluate(kernel.body[:1], padded)
    magnitude = np.add.reduce(np.abs(terms.astype(np.float64)), axis=axes, keepdims=keepdims)
    return 2.0 * count * eps * magnitude
