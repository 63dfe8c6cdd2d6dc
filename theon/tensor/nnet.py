"""``theon.tensor.nnet``: the neural-network functions of ``theano.tensor.nnet``."""
from ..frontend.elementwise import FUNCTIONS as _FUNCTIONS
from ..frontend.linalg import relu
from ..frontend.reduce import logsoftmax, softmax

sigmoid = _FUNCTIONS["sigmoid"]
softplus = _FUNCTIONS["softplus"]
