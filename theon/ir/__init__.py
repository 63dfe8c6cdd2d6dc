"""theon's intermediate representation: types, hash-consed nodes, the op catalogue,
kernels and schedules, traversal, hashing, the verifier and the numpy evaluator.

Imports numpy only.
"""
from . import dtypes, printing, scalar
from .check import check
from .errors import CompileError, DTypeError, ShapeError
from .evaluate import evaluate
from .graph import Graph
from .hashing import graph_digest
from .kernel import BranchStep, HostStep, Kernel, KernelStep, LoopStep, Schedule
from .node import HOST_OPS, Node, Op, consumers, host_op, substitute, toposort
from .ops import ELEMENTWISE, Constant, ElementwiseOp, Input, Output, Shape, cast_op
from .types import TensorType, TupleType
