"""Tensor types: a dtype and a static shape whose entries are ints or None.

Theano describes a tensor by its dtype and its *broadcastable* pattern; a dimension is
broadcastable only when declared so.  theon keeps a static shape instead, from which the
pattern follows: an entry of 1 is a broadcastable dimension, None is a dimension whose length
is known only at run time, any other int is a known length.
"""
from dataclasses import dataclass

from . import dtypes
from .errors import ShapeError


@dataclass(frozen=True)
class TensorType:
    """The type of a tensor value: ``dtype`` and ``shape`` (ints or None per dimension)."""

    dtype: str
    shape: tuple

    def __post_init__(self):
        object.__setattr__(self, "dtype", dtypes.canonical(self.dtype))
        shape = tuple(None if s is None else int(s) for s in self.shape)
        if any(s is not None and s < 0 for s in shape):
            raise ShapeError(f"TensorType: negative length in static shape {shape}")
        object.__setattr__(self, "shape", shape)

    @classmethod
    def from_broadcastable(cls, dtype, broadcastable):
        """The type Theano would write ``TensorType(dtype, broadcastable)``."""
        return cls(dtype, tuple(1 if b else None for b in broadcastable))

    @property
    def ndim(self):
        """Number of dimensions."""
        return len(self.shape)

    @property
    def broadcastable(self):
        """Theano's pattern: True where the dimension has length 1 by declaration."""
        return tuple(s == 1 for s in self.shape)

    def __str__(self):
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        return f"{self.dtype}[{dims}]"


def merged_shape(a, b):
    """The static shape covering shapes ``a`` and ``b`` (same rank): their lengths where
    they agree, None where they differ."""
    return tuple(x if x == y else None for x, y in zip(a, b))


@dataclass(frozen=True)
class TupleType:
    """The type of a node with several outputs (a fused kernel): one TensorType per output."""

    types: tuple

    def __str__(self):
        return "(" + ", ".join(str(t) for t in self.types) + ")"
