"""``theon.tensor.nnet``: the neural-network functions of ``theano.tensor.nnet``."""
from ...frontend.bn import batch_normalization
from ...frontend.conv import (conv1d, conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                              conv3d, conv3d_grad_wrt_inputs, conv3d_grad_wrt_weights)
from ...frontend.linalg import relu
from ...frontend.nnet import (binary_crossentropy, categorical_crossentropy,
                              crossentropy_categorical_1hot, crossentropy_softmax_1hot,
                              crossentropy_softmax_1hot_with_bias,
                              crossentropy_softmax_argmax_1hot_with_bias, elu, hard_sigmoid,
                              logsoftmax, selu, sigmoid, sigmoid_binary_crossentropy, softmax,
                              softmax_graph, softmax_with_bias, softplus, softsign,
                              ultra_fast_sigmoid)
from . import abstract_conv, bn, conv
