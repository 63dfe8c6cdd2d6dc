"""``theon.tensor.signal.downsample``: Theano 0.7's pooling module (re-exports only)."""
from ...frontend.pool import max_pool_2d, max_pool_2d_same_size
