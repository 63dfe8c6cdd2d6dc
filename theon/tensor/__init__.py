"""``theon.tensor``: Theano's ``theano.tensor`` namespace (re-exports only)."""
from ..frontend.constructors import CONSTRUCTORS as _CONSTRUCTORS
from ..frontend.constructors import tensor
from ..frontend.elementwise import FUNCTIONS as _FUNCTIONS
from ..frontend.elementwise import cast, fill, round, where
from ..frontend.derivatives import Lop, Rop, hessian, jacobian
from ..frontend.gradient import consider_constant, grad
from ..frontend.indexing import inc_subtensor, set_subtensor
from ..frontend.linalg import batched_dot, dot, matmul, outer, tensordot
from ..frontend.reduce import (all, any, argmax, argmin, logsumexp, max, max_and_argmax, mean,
                                min, prod, std, sum, var)
from ..frontend.shape import FUNCTIONS as _SHAPE_FUNCTIONS
from ..frontend.array_functions import FUNCTIONS as _ARRAY_FUNCTIONS
from ..frontend.variable import TensorType, Variable, as_tensor_variable, constant
from ..gradient import verify_grad
from . import nnet
from . import random, shared_randomstreams

globals().update(_CONSTRUCTORS)
globals().update(_FUNCTIONS)
globals().update(_SHAPE_FUNCTIONS)
globals().update(_ARRAY_FUNCTIONS)
abs_ = _FUNCTIONS["abs"]
true_divide = _FUNCTIONS["true_div"]
floor_div = _FUNCTIONS["int_div"]
TensorVariable = Variable
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert  # noqa: F821
