"""``theon.tensor.random``: random variables drawn from theon's default stream, and the
RandomStreams class (re-exports only).

    import theon.tensor as T
    u = T.random.uniform((2, 3))
"""
from ..frontend.random import (RandomStreams, binomial, choice, normal, random_integers, seed,
                               uniform)

__all__ = ["RandomStreams", "binomial", "choice", "normal", "random_integers", "seed",
           "uniform"]
