"""Constructors of symbolic inputs: ``T.matrix('x')``, ``T.fvector()``, ``T.tensor3``..."""
from ..config import config
from ..ir import dtypes
from .variable import TensorType

_RANKS = {"scalar": (), "vector": (False,), "matrix": (False, False),
          "row": (True, False), "col": (False, True),
          "tensor3": (False,) * 3, "tensor4": (False,) * 4, "tensor5": (False,) * 5}


def tensor(dtype=None, broadcastable=None, name=None, shape=None):
    """A new input variable of ``dtype`` and ``broadcastable`` pattern (or static ``shape``).

    Examples
    --------
    >>> x = tensor('float32', (False, True), name='x')   # a column
    """
    if broadcastable is None and shape is None:
        raise TypeError("tensor: give broadcastable (e.g. (False, False)) or shape")
    return TensorType(dtype or config.floatX, broadcastable, shape=shape)(name)


def _constructor(kind, pattern, fixed_dtype=None):
    def make(name=None, dtype=None):
        dtype = fixed_dtype or dtype or config.floatX
        return TensorType(dtype, pattern)(name)
    what = "a 0-d" if not pattern else f"a {kind}"
    make.__name__ = make.__qualname__ = kind if fixed_dtype is None else \
        f"{_prefix(fixed_dtype)}{kind}"
    make.__doc__ = (f"A new symbolic input: {what} tensor of dtype "
                    f"{fixed_dtype or 'dtype (default theon.config.floatX)'}.\n\n"
                    "Parameters\n----------\nname : str, optional\n"
                    + ("" if fixed_dtype else "dtype : str, optional\n"))
    return make


def _prefix(dtype):
    return next(p for p, d in dtypes.PREFIXES.items() if d == dtype)


def _plural(single):
    """Theano's plural constructor for ``single`` (``T.fvectors('x', 'y')``): one variable
    per name; one per character of a single multi-letter name (``T.dmatrices('xyz')``, as
    Theano); ``n`` unnamed ones for an int ``n``."""
    def make(*names):
        if names and isinstance(names[0], int):
            return [single() for _ in range(names[0])]
        if len(names) == 1:
            names = names[0]
            if len(names) == 1:
                return single(names)
        return [single(name) for name in names]
    make.__name__ = make.__qualname__ = _plural_name(single.__name__)
    make.__doc__ = (f"Several new symbolic inputs made by ``{single.__name__}``: one per "
                    "name given, one per character of a single multi-letter name, or ``n`` "
                    "unnamed ones for an int ``n``.")
    return make


def _plural_name(name):
    return name[:-1] + "ces" if name.endswith("matrix") else name + "s"


CONSTRUCTORS = {}
for _kind, _pattern in _RANKS.items():
    CONSTRUCTORS[_kind] = _constructor(_kind, _pattern)
    for _letter, _dtype in dtypes.PREFIXES.items():
        CONSTRUCTORS[_letter + _kind] = _constructor(_kind, _pattern, _dtype)
for _name, _single in list(CONSTRUCTORS.items()):
    CONSTRUCTORS[_plural_name(_name)] = _plural(_single)
globals().update(CONSTRUCTORS)
