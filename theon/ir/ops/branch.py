"""Lazy conditionals: Theano's ``ifelse``.

The frontend builds :class:`IfElse`, whose inputs are the condition and both branches'
values; as a graph node it is an ordinary op (its numpy reference picks one side).  The
``lazy_branches`` pass then moves what only one side needs into that side's graph, giving a
:class:`Branch`, whose inputs are the condition and the values computed outside either
side.  The runtime runs only the side the condition picks.
"""
from dataclasses import dataclass

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..hashing import graph_digest
from ..node import Node, Op
from ..types import TensorType, TupleType, merged_shape
from .leaf import Output


def _check_condition(where, condition):
    if condition.ndim != 0:
        raise ShapeError(f"{where}: the condition must be a scalar; got {condition}")


def join_types(where, then_types, else_types):
    """The output types of a conditional: per output, both sides' dtype and rank (which
    must agree) and the static lengths they agree on."""
    types = []
    for index, (a, b) in enumerate(zip(then_types, else_types)):
        if a.dtype != b.dtype or a.ndim != b.ndim:
            raise DTypeError(f"{where}: output {index} is {a} when the condition holds and "
                             f"{b} when it does not; both sides must have the same dtype "
                             "and rank")
        types.append(TensorType(a.dtype, merged_shape(a.shape, b.shape)))
    return TupleType(tuple(types))


@dataclass(frozen=True)
class IfElse(Op):
    """``then`` values if the 0-d condition is true, else ``else`` values.  Inputs:
    condition, the ``n_outputs`` then-values, the ``n_outputs`` else-values."""

    n_outputs: int
    label: str = None

    name = "ifelse"

    def infer_type(self, condition, *types):
        where = self.describe()
        _check_condition(where, condition)
        if len(types) != 2 * self.n_outputs:
            raise TypeError(f"{where}: {2 * self.n_outputs} values after the condition; got "
                            f"{len(types)}")
        return join_types(where, types[:self.n_outputs], types[self.n_outputs:])

    def impl(self, condition, *values):
        chosen = values[:self.n_outputs] if condition else values[self.n_outputs:]
        return tuple(chosen)

    def describe(self):
        return f"ifelse '{self.label}'" if self.label else "ifelse"

    def vjp(self, node, grads):
        """The gradient flows into the side that was taken; the other side gets zeros."""
        from .. import build
        condition, values = node.inputs[0], node.inputs[1:]
        result = [None]
        for side in (0, 1):
            for index in range(self.n_outputs):
                value = values[side * self.n_outputs + index]
                g = grads[index]
                if g is None or value.type.dtype not in dtypes.FLOATS:
                    result.append(None)
                    continue
                zeros = build.zeros_like(value)
                pair = (g, zeros) if side == 0 else (zeros, g)
                chosen = Node.make(IfElse(1, self.label), (condition, *pair))
                result.append(Node.make(Output(0), (chosen,)))
        return tuple(result)


@dataclass(frozen=True)
class Branch(Op):
    """A conditional whose sides are graphs: runs ``then_body`` on the first
    ``n_then`` inputs after the condition if it is true, else ``else_body`` on the rest.

    ``then_body``/``else_body`` are ``ir.Graph``s (None when read back from a serialised
    schedule, which holds the sides' schedules)."""

    then_body: object
    else_body: object
    n_then: int
    n_outputs: int
    label: str = None

    name = "branch"

    def key(self):
        digest = (lambda body: None if body is None else graph_digest(body))
        return ("Branch", digest(self.then_body), digest(self.else_body), self.n_then,
                self.n_outputs)

    def infer_type(self, condition, *types):
        where = self.describe()
        _check_condition(where, condition)
        if self.then_body is None:
            raise TypeError(f"{where}: a deserialised branch has no type rule")
        sides = []
        for body, given in ((self.then_body, types[:self.n_then]),
                            (self.else_body, types[self.n_then:])):
            expected = tuple(leaf.type for leaf in body.inputs)
            if tuple(given) != expected:
                raise TypeError(f"{where}: inputs {given}; the side expects {expected}")
            sides.append([out.type for out in body.outputs])
        return join_types(where, *sides)

    def impl(self, condition, *values):
        from ..evaluate import evaluate
        if condition:
            return tuple(evaluate(self.then_body, values[:self.n_then]))
        return tuple(evaluate(self.else_body, values[self.n_then:]))

    def describe(self):
        return f"branch '{self.label}'" if self.label else "branch"
