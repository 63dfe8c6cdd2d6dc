"""Theano's ``theano.compile.profiling``: ``ProfileStats``, what ``f.profile`` holds."""
from ..runtime.profiling import ProfileStats, StepProfile

__all__ = ["ProfileStats", "StepProfile"]
