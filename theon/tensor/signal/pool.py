"""``theon.tensor.signal.pool``: Theano's ``theano.tensor.signal.pool`` (re-exports only)."""
from ...frontend.pool import max_pool_2d_same_size, pool_2d, pool_3d
