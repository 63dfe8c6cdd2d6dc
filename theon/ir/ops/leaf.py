"""Leaf ops (graph inputs and constants) and the projection of one output of a tuple node."""
import hashlib
import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import ShapeError
from ..node import Op
from ..types import TensorType, TupleType

_input_ids = itertools.count()


@dataclass(frozen=True)
class Input(Op):
    """A graph input: a value supplied at call time.  ``uid`` keeps two inputs of the same
    type and name distinct; it never enters a structural hash (positions do)."""

    type: TensorType
    uid: int
    label: str = None  # the user's name, for messages

    name = "input"

    @classmethod
    def new(cls, ttype, label=None):
        """A fresh input of type ``ttype``."""
        return cls(ttype, next(_input_ids), label)

    def infer_type(self):
        return self.type

    def key(self):
        raise TypeError("an Input's key depends on its position; use ir.hashing.graph_digest")

    def describe(self):
        return f"input {self.label}" if self.label else "input"


class Constant(Op):
    """A constant array.  Identity is its dtype, shape and bytes, so equal constants are one
    node; the hash is computed once because constants can be large."""

    name = "constant"
    __slots__ = ("value", "digest", "_hash")

    def __init__(self, value):
        # a private, read-only, C-ordered copy (np.ascontiguousarray would make 0-d arrays 1-d)
        value = np.array(value, order="C")
        value.setflags(write=False)
        self.value = value
        hasher = hashlib.blake2b(digest_size=16)
        hasher.update(f"{value.dtype.name}{value.shape}".encode())
        hasher.update(value.tobytes())
        self.digest = hasher.hexdigest()
        self._hash = hash(self.digest)

    def __eq__(self, other):
        return isinstance(other, Constant) and self.digest == other.digest

    def __hash__(self):
        return self._hash

    def infer_type(self):
        # Theano's rule: a constant's length-1 dims are broadcastable.
        return TensorType(self.value.dtype.name, self.value.shape)

    def impl(self):
        return self.value

    def key(self):
        return ("Constant", self.digest)

    def describe(self):
        if self.value.size <= 4:
            return f"constant {self.value.tolist()!r}"
        return f"constant {self.value.dtype.name}{list(self.value.shape)}"

    @property
    def scalar(self):
        """The Python value if every element is the same, else None."""
        flat = self.value.reshape(-1)
        if flat.size == 0:
            return None
        first = flat[0]
        if flat.size == 1 or bool(np.all(flat == first)) and not np.isnan(first).any():
            return first.item()
        return None


@dataclass(frozen=True)
class Output(Op):
    """Projection of output ``index`` of a node with a TupleType (a fused kernel)."""

    index: int

    name = "output"

    def infer_type(self, tuple_type):
        if not isinstance(tuple_type, TupleType) or self.index >= len(tuple_type.types):
            raise ShapeError(f"output {self.index}: input has type {tuple_type}")
        return tuple_type.types[self.index]

    def impl(self, values):
        return values[self.index]

    def key(self):
        return ("Output", self.index)

    def describe(self):
        return f"output {self.index}"
