"""``theon.tensor.nnet.abstract_conv``: Theano's module of the convolution functions."""
from ...frontend.conv import (causal_conv1d, conv2d, conv2d_grad_wrt_inputs,
                              conv2d_grad_wrt_weights, conv3d, conv3d_grad_wrt_inputs,
                              conv3d_grad_wrt_weights, get_conv_output_shape)
