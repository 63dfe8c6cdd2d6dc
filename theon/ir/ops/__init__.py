"""The op catalogue: each op is defined once, in the module that owns its kind."""
from .leaf import Input, Constant, Output
from .shape import Shape
from .elementwise import (ELEMENTWISE, ElementwiseOp, cast_op, find_elementwise,
                          register_custom)
from . import elementwise
from .linalg import BatchedDot, Dot, Gemm, Matmul, Outer, Tensordot
from .reduce import ArgReduce, Reduce
from .shape_ops import ARange, Alloc, DimShuffle, Join, Rebroadcast, Reshape, SplitPart
from .array_functions import CumOp, Diag, Repeat, Roll, Sort, Tile
from .indexing import AdvancedSubtensor, IncSubtensor, Subtensor
from .random import RandomVariable
from .gradient_ops import DisconnectedGrad, GradClip, GradientOp, GradScale, ZeroGrad
from .conv import Conv, ConvGradInputs, ConvGradWeights
from .pool import AveragePoolGrad, MaxPoolGrad, MaxPoolGradGrad, Pool
from .scan import Scan
from .branch import Branch, IfElse
