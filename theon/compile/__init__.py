"""Theano's ``theano.compile``: compilation modes, their errors, and function profiles.

``theon.function(..., mode=theon.compile.DebugMode())`` checks every kernel against numpy;
``mode=theon.compile.NanGuardMode(nan_is_error=True, inf_is_error=True)`` stops at the first
step producing NaN or inf; ``profile=True`` fills ``f.profile``, a ``ProfileStats``.
Theano's submodules (``mode``, ``debugmode``, ``nanguardmode``, ``profiling``) hold the
same names.
"""
from .debugmode import BadOptimization, BadThunkOutput, DebugMode, DebugModeError
from .mode import PREDEFINED_MODES, Mode, NanGuardMode, get_mode
from .nanguardmode import NanGuardError
from .profiling import ProfileStats, StepProfile

__all__ = ["BadOptimization", "BadThunkOutput", "DebugMode", "DebugModeError", "Mode",
           "NanGuardError", "NanGuardMode", "PREDEFINED_MODES", "ProfileStats",
           "StepProfile", "get_mode"]
