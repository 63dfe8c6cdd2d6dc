"""Reading the run-time shape of a tensor: ``x.shape`` and ``x.shape[i]``."""
from dataclasses import dataclass

import numpy as np

from ..errors import ShapeError
from ..node import Op, host_op
from ..types import TensorType


@host_op
@dataclass(frozen=True)
class Shape(Op):
    """The shape of the input as an int64 vector, or with ``axis`` one length (a scalar)."""

    axis: int = None

    name = "shape"

    def infer_type(self, ttype):
        if self.axis is None:
            return TensorType("int64", (ttype.ndim,))
        if not -ttype.ndim <= self.axis < ttype.ndim:
            raise ShapeError(f"shape: axis {self.axis} is out of range for a tensor of rank "
                             f"{ttype.ndim}")
        return TensorType("int64", ())

    def impl(self, array):
        shape = np.shape(array)
        # one array made (not a vector then indexed): a host step pays this on every call
        return np.array(shape if self.axis is None else shape[self.axis], dtype=np.int64)

    def describe(self):
        return "shape" if self.axis is None else f"shape[{self.axis}]"
