"""``theon bench``: benchmarks that ship with theon.

``theon bench compile`` (or ``python3 -m theon.bench compile``) measures compile time: a fixed
graph suite, each graph cold (empty cache directory), warm (the directory a cold run filled)
and rebuilt (built and compiled again in the warm process), in fresh processes, beside PyTensor
and JAX when they are installed.  See :mod:`theon.bench.compile`.
"""
from .compile import main

__all__ = ["main"]
