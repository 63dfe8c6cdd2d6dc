"""``theon.tensor.shared_randomstreams``: Theano's module of that name (re-exports only)."""
from ..frontend.random import RandomOutput, RandomStreams

__all__ = ["RandomStreams", "RandomOutput"]
