"""Theano's ``theano.scan_module``: ``scan`` and the ``until`` stop condition."""
from ..frontend.scan import foldl, foldr, map, reduce, scan, until  # noqa: A004

__all__ = ["foldl", "foldr", "map", "reduce", "scan", "until"]
