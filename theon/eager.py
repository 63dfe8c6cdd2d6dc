"""Eager execution (``theon.eager``): operations on concrete arrays computed as they are
written, through the same ops and compiled kernels as ``theon.function``.

    import theon, theon.tensor as T
    with theon.eager.mode():
        x = theon.eager.array([1.0, 2.0], name='x')
        y = T.exp(x).sum()        # computed at once: float(y) == 10.1073...
    f = theon.function([x], y)    # the graph built eagerly, compiled as a whole

See ``theon.frontend.eager`` for the details and ``theon.config.execution`` for the flag.
"""
from .frontend.eager import CacheInfo, array, cache_clear, cache_info, mode

__all__ = ["CacheInfo", "array", "cache_clear", "cache_info", "mode"]
