"""Random draws as pure functions of an explicit generator state.

A random variable is the host op :class:`RandomVariable` applied to a *state*: an int64
vector ``[key0, key1, counter]``.  The sample is a deterministic function of the state and
the parameters: numpy's counter-based Philox generator keyed by ``(key0, key1)`` and started
at a counter whose third 64-bit word is ``counter`` (the first two words count the blocks
one draw consumes, so draws at different counters never overlap).  Advancing the stream is
``counter + 1``, an ordinary elementwise addition built by the frontend.

Because nothing is hidden, constant folding and hash-consing cannot change results: two
equal nodes are the same draw from the same state, and distinct random variables have
distinct states (their own shared variables, with their own keys).
"""
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..node import Op, host_op
from ..types import TensorType
from .elementwise import broadcast_shapes

STATE_LENGTH = 3  # key0, key1, counter

# distribution -> the names of its parameters (tensors), in input order
PARAMETERS = {
    "uniform": ("low", "high"),
    "normal": ("avg", "std"),
    "binomial": ("n", "p"),
    "integers": ("low", "high"),
    "choice": ("a", "p"),
}


def generator(state):
    """The numpy Generator a state vector ``[key0, key1, counter]`` stands for.

    Parameters
    ----------
    state : array_like of int64, shape (3,)

    Raises
    ------
    ValueError
        When ``state`` is not three integers.
    """
    words = np.asarray(state)
    if words.shape != (STATE_LENGTH,) or words.dtype.kind not in "iu":
        raise ValueError(f"random: a generator state is {STATE_LENGTH} int64 words "
                         f"[key0, key1, counter]; got an array of dtype {words.dtype} and "
                         f"shape {words.shape}")
    words = words.astype(np.int64).view(np.uint64)
    counter = np.array([0, 0, words[2], 0], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=words[:2], counter=counter))


@host_op
@dataclass(frozen=True)
class RandomVariable(Op):
    """A sample of ``distribution`` drawn from a generator state.

    Inputs: the state (int64 vector of length 3), the distribution's parameters (tensors
    that broadcast with the sample's shape; for 'choice' without probabilities only ``a``),
    then one 0-d integer per None entry of ``shape``.

    Attributes
    ----------
    distribution : {'uniform', 'normal', 'binomial', 'integers', 'choice'}
        numpy's ``Generator`` method of that name ('integers' includes ``high``).
    dtype : str
        The sample's dtype (numpy draws in float64 or int64, then casts).
    shape : tuple or None
        The sample's shape: ints, or None for a length given by a parameter input.  None
        as a whole: the broadcast shape of the parameters (numpy's ``size=None``).
    replace : bool
        'choice' only: draw with replacement.
    with_p : bool
        'choice' only: a probability vector ``p`` follows ``a`` among the inputs.
    """

    distribution: str
    dtype: str
    shape: tuple
    replace: bool = True
    with_p: bool = False

    name = "random"

    def __post_init__(self):
        if self.distribution not in PARAMETERS:
            raise ValueError(f"random: unknown distribution {self.distribution!r}; expected "
                             f"one of {', '.join(PARAMETERS)}")

    @property
    def n_parameters(self):
        """How many parameter inputs follow the state."""
        if self.distribution == "choice":
            return 2 if self.with_p else 1
        return 2

    def infer_type(self, state_type, *types):
        where = self.describe()
        if state_type.ndim != 1 or state_type.dtype != "int64" or \
                state_type.shape[0] not in (None, STATE_LENGTH):
            raise DTypeError(f"{where}: the state has type {state_type}; expected "
                             f"int64[{STATE_LENGTH}]")
        count = self.n_parameters
        parameters, sizes = types[:count], types[count:]
        if len(parameters) != count:
            raise ShapeError(f"{where}: expected {count} parameter inputs, got "
                             f"{len(parameters)}")
        names = PARAMETERS[self.distribution]
        for name, ttype in zip(names, parameters):
            if ttype.dtype not in dtypes.NUMERIC + (dtypes.BOOL,):
                raise DTypeError(f"{where}: parameter {name} has dtype {ttype.dtype}; "
                                 "expected a numeric dtype")
        if self.distribution in ("binomial", "integers") and \
                parameters[0].dtype not in dtypes.INTEGRAL:
            raise DTypeError(f"{where}: parameter {names[0]} has dtype "
                             f"{parameters[0].dtype}; expected an integer dtype")
        if self.distribution == "choice":
            if parameters[0].ndim > 1:
                raise ShapeError(f"{where}: a has rank {parameters[0].ndim}; expected an "
                                 "integer scalar or a vector")
            if self.with_p and parameters[1].ndim != 1:
                raise ShapeError(f"{where}: p has rank {parameters[1].ndim}; expected a "
                                 "vector")
        wanted = 0 if self.shape is None else sum(1 for n in self.shape if n is None)
        if len(sizes) != wanted:
            raise ShapeError(f"{where}: expected {wanted} symbolic size inputs, got "
                             f"{len(sizes)}")
        for index, ttype in enumerate(sizes):
            if ttype.ndim != 0 or ttype.dtype not in dtypes.INTEGRAL:
                raise DTypeError(f"{where}: size input {index} has type {ttype}; expected "
                                 "an integer scalar")
        if self.shape is not None:
            return TensorType(self.dtype, self.shape)
        if self.distribution == "choice":
            return TensorType(self.dtype, ())
        return TensorType(self.dtype, broadcast_shapes(where, [t.shape for t in parameters]))

    def impl(self, state, *inputs):
        count = self.n_parameters
        parameters = [np.asarray(p) for p in inputs[:count]]
        size = None
        if self.shape is not None:
            lengths = iter(inputs[count:])
            size = tuple(int(np.asarray(next(lengths)).item()) if n is None else n
                         for n in self.shape)
            if any(n < 0 for n in size):
                raise ValueError(f"{self.describe()}: negative length in size {size}")
        rng = generator(state)
        try:
            if self.distribution == "uniform":
                sample = rng.uniform(parameters[0], parameters[1], size)
            elif self.distribution == "normal":
                sample = rng.normal(parameters[0], parameters[1], size)
            elif self.distribution == "binomial":
                sample = rng.binomial(parameters[0], parameters[1], size)
            elif self.distribution == "integers":
                sample = rng.integers(parameters[0], parameters[1], size, endpoint=True)
            else:
                a = parameters[0].item() if parameters[0].ndim == 0 else parameters[0]
                p = parameters[1] if self.with_p else None
                sample = rng.choice(a, size, replace=self.replace, p=p)
        except ValueError as error:
            raise ValueError(f"{self.describe()}: {error}") from None
        return np.asarray(sample).astype(self.dtype, copy=False)

    def describe(self):
        if self.shape is None:
            return f"random.{self.distribution}"
        dims = ", ".join("?" if n is None else str(n) for n in self.shape)
        return f"random.{self.distribution}({dims}{',' if len(self.shape) == 1 else ''})"
