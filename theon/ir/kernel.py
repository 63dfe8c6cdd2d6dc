"""Target-neutral fused kernels and the schedule of a compiled function.

A :class:`Kernel` is one loop nest: an iteration domain (the shape of its outputs), input
buffers addressed through the domain's indices (an input of lower rank is aligned on the
trailing axes; a dimension of static length 1 is read with stride 0: broadcast without a
copy), and a scalar body (``ir.scalar``) computing each output element.
"""
import hashlib
from dataclasses import dataclass

import numpy as np

from . import scalar as s
from .node import Op
from .types import TupleType


@dataclass(frozen=True)
class Kernel(Op):
    """A fused elementwise loop nest.

    Attributes
    ----------
    in_types : tuple of TensorType
        Types of the buffers read; ``Scalar`` leaves ``input(i)`` read element of input i.
    out_types : tuple of TensorType
        Types of the outputs; all have the domain's shape.
    body : tuple of Scalar
        One scalar DAG per output.
    members : tuple of str
        Names of the ops fused into this kernel, in graph order (for reports and errors).
    strided : bool
        Whether inputs may be strided along the innermost axis (read by gathers).  The
        plain variant refuses them; the runtime compiles this one when it first meets one.
    reduce : tuple or None
        For a reduction kernel, ``(combiner, axes, keepdims)``: its one output is
        ``body[0]`` folded with ``combiner`` over those axes of the domain, shaped as the
        Reduce it computes.  The domain is then ``domain``.
    domain : tuple or None
        Static shape of the iteration domain of a reduction kernel (None: the outputs').
    """

    in_types: tuple
    out_types: tuple
    body: tuple
    members: tuple
    strided: bool = False
    reduce: tuple = None
    domain: tuple = None

    name = "kernel"

    @property
    def domain_shape(self):
        """Static shape of the iteration domain."""
        return self.domain if self.domain is not None else self.out_types[0].shape

    @property
    def ndim(self):
        """Rank of the iteration domain."""
        return len(self.domain_shape)

    def infer_type(self, *types):
        if tuple(types) != self.in_types:
            raise TypeError(f"kernel: inputs of types {types}; expected {self.in_types}")
        return TupleType(self.out_types)

    def impl(self, *arrays):
        ndim = self.ndim
        padded = [np.asarray(a).reshape((1,) * (ndim - np.ndim(a)) + np.shape(a))
                  for a in arrays]
        values = s.evaluate(self.body, padded)
        if self.reduce is None:
            return tuple(values)
        from .ops.reduce import COMBINERS
        combiner, axes, keepdims = self.reduce
        result = COMBINERS[combiner][0](values[0], axis=axes, keepdims=keepdims)
        return (np.asarray(result).astype(self.out_types[0].dtype),)

    def key(self):
        return ("Kernel", self.digest())

    def digest(self):
        """Deterministic content hash of the kernel (types and body), for caches."""
        hasher = hashlib.blake2b(digest_size=20)
        hasher.update(repr((self.in_types, self.out_types, self.strided, self.reduce,
                            self.domain)).encode())
        numbering = {}
        for node in s.topological(self.body):
            numbering[node] = len(numbering)
            hasher.update(repr((node.key(), [numbering[a] for a in node.args])).encode())
        hasher.update(repr([numbering[o] for o in self.body]).encode())
        return hasher.hexdigest()

    def describe(self):
        shown = ", ".join(self.members[:6]) + (", ..." if len(self.members) > 6 else "")
        return f"kernel[{shown}]"

    def __hash__(self):
        return hash((self.in_types, self.out_types, self.body, self.strided, self.reduce))


@dataclass(frozen=True)
class KernelStep:
    """Run kernel ``kernel`` reading ``inputs`` and writing ``outputs`` (buffer slots)."""

    kernel: Kernel
    inputs: tuple
    outputs: tuple
    symbol: str


@dataclass(frozen=True)
class HostStep:
    """Run ``op.impl`` (numpy) on the host: for ops that have no kernel lowering, such as
    reading a shape.  Reads slots ``inputs``, writes slot ``output``."""

    op: object
    inputs: tuple
    output: int


@dataclass(frozen=True)
class LoopStep:
    """Run a loop (``op``, an ``ir.ops.Scan``) whose step is the schedule ``body``.  Reads
    slots ``inputs``, writes slots ``outputs``."""

    op: object
    inputs: tuple
    outputs: tuple
    body: object


@dataclass(frozen=True)
class BranchStep:
    """Run one side of a conditional (``op``, an ``ir.ops.Branch``): ``then_body`` on the
    slots ``inputs[1:1 + op.n_then]`` if slot ``inputs[0]`` is true, else ``else_body`` on
    the rest.  Writes slots ``outputs``."""

    op: object
    inputs: tuple
    outputs: tuple
    then_body: object
    else_body: object


@dataclass(frozen=True)
class Schedule:
    """The ordered steps of a compiled function over numbered buffer slots.

    Slots ``0 .. n_inputs-1`` are the function's inputs.  ``constants`` maps further slots to
    constant arrays, ``outputs`` names the slots returned, and ``steps`` fill every other slot
    in order: every step's inputs are function inputs, constants or outputs of earlier steps.
    """

    n_inputs: int
    input_types: tuple
    constants: tuple      # (slot, numpy array) pairs
    steps: tuple          # KernelStep, HostStep, LoopStep or BranchStep
    outputs: tuple        # slots
    slot_types: tuple     # TensorType per slot
    slot_names: tuple     # user-facing name per slot, for messages

    def kernel_steps(self):
        """Every KernelStep of this schedule and of the loop bodies in it."""
        found = []
        for step in self.steps:
            if isinstance(step, KernelStep):
                found.append(step)
            elif isinstance(step, LoopStep):
                found += step.body.kernel_steps()
            elif isinstance(step, BranchStep):
                found += step.then_body.kernel_steps() + step.else_body.kernel_steps()
        return found
