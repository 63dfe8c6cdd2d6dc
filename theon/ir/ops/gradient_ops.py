"""Gradient-steering ops: identities in the forward pass that change only what reverse-mode
autodiff sends back through them (Theano's ``zero_grad``, ``disconnected_grad``,
``grad_clip`` and ``grad_scale``).

They exist for ``passes.autodiff`` alone.  ``theon.grad`` differentiates the graph the user
built, where they are still present; the ``canonicalize`` pass, the first of the compile
pipeline, replaces each one by its input, so no kernel ever sees them (they have no
lowering).  ``impl`` is the identity, for the IR evaluator and constant folding.
"""
from dataclasses import dataclass

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Op


class GradientOp(Op):
    """Base of the gradient-steering ops: input 0 passes through unchanged.

    ``disconnects_gradient`` is True for an op through which the cost does not depend on its
    input at all (``disconnected_grad``): ``theon.grad`` treats such a node as a constant, so
    a variable reached only through it is disconnected (DisconnectedInputError), as in
    Theano.  ``forward_identity`` is True for the ops whose forward derivative is the
    identity (``grad_clip``, ``grad_scale``): ``Rop`` looks through them, as Theano's
    R_op of these view ops did.
    """

    disconnects_gradient = False
    forward_identity = False

    def infer_type(self, ttype):
        return ttype

    def impl(self, array, *parameters):
        return array


@dataclass(frozen=True)
class ZeroGrad(GradientOp):
    """``zero_grad(x)``: x, whose gradient is zero (the path stays connected)."""

    name = "zero_grad"

    def vjp(self, node, grad):
        return (None,)


@dataclass(frozen=True)
class DisconnectedGrad(GradientOp):
    """``disconnected_grad(x)``: x, with no gradient path through it at all."""

    name = "disconnected_grad"
    disconnects_gradient = True

    def vjp(self, node, grad):
        # theon.grad stops at these nodes before asking; None keeps any other caller correct
        return (None,)


@dataclass(frozen=True)
class GradClip(GradientOp):
    """``grad_clip(x, lower_bound, upper_bound)``: x, whose incoming gradient is clipped
    elementwise to ``[lower_bound, upper_bound]``.

    Attributes
    ----------
    lower_bound, upper_bound : float
    """

    lower_bound: float
    upper_bound: float

    name = "grad_clip"
    forward_identity = True

    def describe(self):
        return f"grad_clip[{self.lower_bound}, {self.upper_bound}]"

    def vjp(self, node, grad):
        from .. import build
        if node.type.dtype not in dtypes.FLOATS:
            return (None,)
        low = build.const(self.lower_bound, grad)
        high = build.const(self.upper_bound, grad)
        return (build.apply("clip", grad, low, high),)


@dataclass(frozen=True)
class GradScale(GradientOp):
    """``grad_scale(x, multiplier)``: x, whose incoming gradient is multiplied by the 0-d
    input 1 (a constant for a Python number, or any symbolic scalar)."""

    name = "grad_scale"
    forward_identity = True

    def infer_type(self, ttype, multiplier_type):
        if multiplier_type.ndim != 0:
            raise ShapeError(f"grad_scale: input 1 (the multiplier) has rank "
                             f"{multiplier_type.ndim}; expected a scalar")
        if multiplier_type.dtype not in dtypes.FLOATS + dtypes.INTEGRAL:
            raise DTypeError(f"grad_scale: input 1 (the multiplier) has dtype "
                             f"{multiplier_type.dtype}; expected a numeric dtype")
        return ttype

    def vjp(self, node, grad):
        from .. import build
        if node.type.dtype not in dtypes.FLOATS:
            return (None, None)
        multiplier = build.cast(node.inputs[1], grad.type.dtype)
        # the multiplier is a hyper-parameter, not something the cost is differentiated for
        return (build.apply("mul", grad, multiplier), None)
