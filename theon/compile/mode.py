"""Theano's ``theano.compile.mode``: the compilation modes and ``get_mode``."""
from ..frontend.modes import PREDEFINED_MODES, DebugMode, Mode, NanGuardMode, get_mode

__all__ = ["DebugMode", "Mode", "NanGuardMode", "PREDEFINED_MODES", "get_mode"]
