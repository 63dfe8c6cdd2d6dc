"""``theon.tensor.nnet.conv``: Theano 0.7's convolution module (re-exports only)."""
from ...frontend.conv import legacy_conv2d as conv2d
