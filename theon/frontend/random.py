"""Random streams (Theano's ``theano.tensor.shared_randomstreams.RandomStreams``).

Each random variable a stream makes owns a shared variable holding its generator state
(``[key0, key1, counter]``, see ``ir/ops/random.py``) whose ``default_update`` advances the
counter, so a compiled function draws new numbers at every call and two streams with the
same seed draw the same numbers.  The draw is the host op ``RandomVariable``: a pure
function of the state, the distribution's parameters and the size.
"""
import numpy as np

from .. import ir
from ..config import config
from ..ir import dtypes
from ..ir.errors import DTypeError
from ..ir.ops.random import RandomVariable
from .shape import _parameters, _shape_entries
from .shared import shared
from .variable import Variable, as_tensor_variable, constant, user_trace

_ADVANCE = np.array([0, 0, 1], dtype=np.int64)  # the next state: one more call


class RandomOutput(Variable):
    """A random variable made by a RandomStreams: a Variable with Theano's ``rng`` (the
    shared variable holding its generator state) and ``update`` (``(rng, next state)``)."""

    __slots__ = ("rng", "update")


class RandomStreams:
    """A factory of random variables whose generator states live in shared variables.

    Parameters
    ----------
    seed : int or None
        Seeds the generator that gives each new random variable its key (None: from the
        operating system's entropy).

    Examples
    --------
    >>> srng = RandomStreams(seed=234)
    >>> u = srng.uniform((2, 2))
    >>> f = theon.function([], u)   # new numbers at every call
    """

    def __init__(self, seed=None):
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)
        self.state_updates = []

    def seed(self, seed=None):
        """Re-seed every random variable made so far, in creation order (as Theano).

        Parameters
        ----------
        seed : int or None
            None: the seed given to the constructor.
        """
        if seed is None:
            seed = self.default_instance_seed
        seedgen = np.random.RandomState(seed)
        for state, _ in self.state_updates:
            state.set_value(_new_state(seedgen), borrow=True)

    def updates(self):
        """The ``(state, next state)`` pair of every random variable made so far."""
        return list(self.state_updates)

    def __getitem__(self, item):
        """The generator state of random variable ``item`` (its ``rng``), as an array."""
        return item.get_value(borrow=True)

    def __setitem__(self, item, value):
        """Set the generator state of ``item`` (its ``rng``) to ``value``."""
        item.set_value(value, borrow=True)

    def gen(self, distribution, size, parameters, ndim, dtype, what, **options):
        """A new random variable of ``distribution`` with its own state.

        Parameters
        ----------
        distribution : str
            See ``ir.ops.random.RandomVariable``.
        size : None, int, sequence of (int or integer scalar Variable), or integer vector
            None: the broadcast shape of the parameters.
        parameters : sequence of Variable
        ndim : int or None
            The rank, needed when ``size`` is a symbolic vector of unknown length.
        dtype : str
        what : str
            The method's name, for messages.
        **options
            Further attributes of the op (``replace``, ``with_p``).
        """
        static, size_nodes = _size(size, ndim, what)
        state = shared(_new_state(self.gen_seedgen))
        op = RandomVariable(distribution, dtypes.canonical(dtype), static, **options)
        node = ir.Node.make(op, (state.node, *[p.node for p in parameters], *size_nodes),
                            trace=user_trace())
        out = RandomOutput(node)
        next_state = state + constant(_ADVANCE)
        state.default_update = next_state
        out.rng = state
        out.update = (state, next_state)
        self.state_updates.append(out.update)
        return out

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Samples uniform on [low, high).

        Parameters
        ----------
        size : None, tuple of (int or integer scalar Variable), or integer vector Variable
            The sample's shape (e.g. ``x.shape``); None: the broadcast shape of ``low`` and
            ``high``.
        low, high : float or Variable
            Bounds, broadcast against ``size``.
        ndim : int, optional
            The rank when ``size`` is a symbolic vector of unknown length.
        dtype : str, optional
            Default: the upcast of floatX and the bounds' dtypes (Theano).
        """
        low, high = _float_parameter(low), _float_parameter(high)
        dtype = _float_dtype(dtype, low, high)
        return self.gen("uniform", size, (low, high), ndim, dtype, "uniform")

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Samples normal with mean ``avg`` and standard deviation ``std``.

        Parameters
        ----------
        size, ndim :
            As for ``uniform``.
        avg, std : float or Variable
        dtype : str, optional
            Default: the upcast of floatX and the parameters' dtypes (Theano).
        """
        avg, std = _float_parameter(avg), _float_parameter(std)
        dtype = _float_dtype(dtype, avg, std)
        return self.gen("normal", size, (avg, std), ndim, dtype, "normal")

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        """Samples binomial: successes among ``n`` trials of probability ``p``.

        Parameters
        ----------
        size, ndim :
            As for ``uniform``.
        n : int or integer Variable
        p : float or Variable
        dtype : str
            Default int64; e.g. floatX for a dropout mask.
        prob : float or Variable, optional
            Theano's deprecated name of ``p``.
        """
        if prob is not None:
            p = prob
        n = as_tensor_variable(n)
        if n.dtype not in dtypes.INTEGRAL:
            raise DTypeError(f"binomial: n has dtype {n.dtype}; expected an integer dtype")
        return self.gen("binomial", size, (n, _float_parameter(p)), ndim,
                        _dtype(dtype), "binomial")

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Samples integers uniform on [low, high] (both included).

        Parameters
        ----------
        size, ndim :
            As for ``uniform``.
        low, high : int or integer Variable
        dtype : str
        """
        low, high = as_tensor_variable(low), as_tensor_variable(high)
        for name, value in (("low", low), ("high", high)):
            if value.dtype not in dtypes.INTEGRAL:
                raise DTypeError(f"random_integers: {name} has dtype {value.dtype}; "
                                 "expected an integer dtype")
        return self.gen("integers", size, (low, high), ndim, _dtype(dtype),
                        "random_integers")

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Samples from ``a``: ``np.arange(a)`` for an integer, else the vector's entries.

        Parameters
        ----------
        size, ndim :
            As for ``uniform``; None gives one value.
        a : int, integer scalar Variable, or vector
        replace : bool
            Draw with replacement.
        p : vector, optional
            The probability of each entry (default: uniform).
        dtype : str
        """
        a = as_tensor_variable(a)
        if a.ndim > 1:
            raise TypeError(f"choice: a has rank {a.ndim}; expected an integer or a vector")
        if a.ndim == 0 and a.dtype not in dtypes.INTEGRAL:
            raise DTypeError(f"choice: a scalar a has dtype {a.dtype}; expected an integer "
                             "(or give a vector of values)")
        parameters = (a,) if p is None else (a, _float_parameter(p))
        return self.gen("choice", size, parameters, ndim, _dtype(dtype), "choice",
                        replace=bool(replace), with_p=p is not None)


def _new_state(seedgen):
    """A fresh generator state: two random key words from ``seedgen``, counter 0."""
    key = seedgen.randint(0, 2 ** 62, size=2, dtype=np.int64)
    return np.array([key[0], key[1], 0], dtype=np.int64)


def _size(size, ndim, what):
    """(static shape with None for symbolic entries, or None; the symbolic entries' nodes)."""
    if size is None:
        if ndim is not None:
            raise ValueError(f"{what}: ndim={ndim} needs a size")
        return None, ()
    entries = _shape_entries(size, what, ndim)
    if ndim is not None and len(entries) != ndim:
        raise ValueError(f"{what}: size has {len(entries)} entries but ndim={ndim}")
    static, nodes = _parameters(entries, what)
    if any(length is not None and length < 0 for length in static):
        raise ValueError(f"{what}: negative length in size {tuple(static)}")
    return tuple(static), tuple(nodes)


def _float_parameter(value):
    if isinstance(value, Variable):
        return value
    return constant(value, dtype=config.floatX) if isinstance(value, (int, float)) \
        else as_tensor_variable(value)


def _float_dtype(dtype, *parameters):
    if dtype is None:
        return dtypes.upcast(config.floatX, *[p.dtype for p in parameters])
    return _dtype(dtype)


def _dtype(dtype):
    return config.floatX if dtype == "floatX" else dtypes.canonical(dtype)


_default = RandomStreams()


def uniform(size=None, low=0.0, high=1.0, ndim=None, dtype=None):
    """``RandomStreams.uniform`` on theon's default stream."""
    return _default.uniform(size, low, high, ndim, dtype)


def normal(size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
    """``RandomStreams.normal`` on theon's default stream."""
    return _default.normal(size, avg, std, ndim, dtype)


def binomial(size=None, n=1, p=0.5, ndim=None, dtype="int64"):
    """``RandomStreams.binomial`` on theon's default stream."""
    return _default.binomial(size, n, p, ndim, dtype)


def random_integers(size=None, low=0, high=1, ndim=None, dtype="int64"):
    """``RandomStreams.random_integers`` on theon's default stream."""
    return _default.random_integers(size, low, high, ndim, dtype)


def choice(size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
    """``RandomStreams.choice`` on theon's default stream."""
    return _default.choice(size, a, replace, p, ndim, dtype)


def seed(seed=None):
    """Re-seed theon's default stream (``RandomStreams.seed``)."""
    _default.seed(seed)

