"""``theon.tensor.signal``: Theano's ``theano.tensor.signal`` namespace (re-exports only)."""
from . import downsample, pool
