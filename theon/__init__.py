"""theon: a symbolic tensor compiler with Theano's API, LLVM CPU kernels and a fast cache.

    import theon as theano
    import theon.tensor as T

    x = T.vector('x')
    f = theano.function([x], T.exp(-x * x))

Importing theon initialises neither LLVM nor CUDA: the first compile does, and a process
that finds its code in the disk cache never does.
"""
from ._version import __version__

from .config import config
from .runtime.memory import keep_freed_memory as _keep_freed_memory
from .ir.errors import CompileError, DTypeError, ShapeError
from .frontend import (Function, MissingInputError, UnusedInputError, function, printing)
from .frontend.variable import Variable
from .frontend.shared import SharedVariable, shared
from .ir.serialize import SerializationError
from .gradient import Lop, Rop, grad  # also binds the module theon.gradient
from .frontend.scan import foldl, foldr, map, reduce, scan  # noqa: A004 (Theano's names)
from .frontend.custom_op import elemwise_op
from .frontend.sympy_bridge import from_sympy, sympy_op, to_sympy
from . import compile, ifelse, scan_module, tensor  # noqa: A004 (Theano's theano.compile)
from . import eager
from .frontend import test_value as _test_value  # follows config.compute_test_value

_keep_freed_memory()  # malloc's thresholds, before the user's set-up allocates (memory.py)


def __getattr__(name):
    """``theon.save`` and ``theon.load``: the archive format's modules (zipfile, ...) load
    on first use, not at ``import theon``."""
    if name in ("save", "load"):
        from .frontend import archive
        return getattr(archive, name)
    raise AttributeError(f"module 'theon' has no attribute {name!r}")
