"""Theano's ``theano.compile.nanguardmode``: ``NanGuardMode`` and its error."""
from ..frontend.modes import NanGuardMode
from ..runtime.nanguard import NanGuardError

__all__ = ["NanGuardError", "NanGuardMode"]
