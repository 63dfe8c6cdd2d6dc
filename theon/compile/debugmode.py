"""Theano's ``theano.compile.debugmode``: ``DebugMode`` and its errors."""
from ..frontend.modes import DebugMode
from ..runtime.debugmode import BadOptimization, BadThunkOutput, DebugModeError

__all__ = ["BadOptimization", "BadThunkOutput", "DebugMode", "DebugModeError"]
