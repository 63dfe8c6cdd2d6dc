"""Compilation modes: how a compiled function runs (``theon.function(..., mode=...)``).

Theano's names: the plain :class:`Mode` (``'FAST_RUN'``, ``'FAST_COMPILE'``) runs the
compiled code as it is; :class:`DebugMode` checks every native kernel against its numpy
reference and every output against the unoptimised graph; :class:`NanGuardMode` stops at
the first step that produces a NaN, an infinity or (optionally) a huge value.  The checks
live in ``theon.runtime.debugmode`` and ``theon.runtime.nanguard``; a mode only picks the
runner, once, at compile time.
"""
from numbers import Real

from ..runtime.compare import Tolerance
from ..runtime.debugmode import DebugRunner
from ..runtime.nanguard import NanGuardRunner


class Mode:
    """The plain compilation mode: optimise, compile, run the native code unchecked.

    Theano's ``'FAST_RUN'``; ``'FAST_COMPILE'`` is the same here (theon has one pipeline,
    and its compile cache makes a second compile of a graph near-instant).
    """

    name = "FAST_RUN"
    checks = False  # whether calls run through a checking runner (see ``runner``)

    def runner(self, executable, graph, output_labels):
        """The instrumented runner a function compiled in this mode runs through, or None
        for the plain call path.

        Parameters
        ----------
        executable : theon.runtime.executable.Executable
        graph : ir.Graph
            The function's graph before optimisation.
        output_labels : sequence of str
            How messages name each of the graph's outputs.
        """
        return None

    def parameters(self):
        """This mode's settings as keyword arguments of its class (JSON values): what a
        stored function keeps of its mode."""
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


class DebugMode(Mode):
    """Run every call natively and check it against numpy.

    At each call, every kernel step is compared with its numpy reference
    (``Kernel.impl``) on the same input arrays, step by step, loop bodies and branch sides
    included; host steps (BLAS products, indexing, ...) run numpy and are their own
    reference.  Then the graph as the user built it, before any rewrite, is evaluated by
    ``theon.ir.evaluate`` and each output compared with the compiled one.  Where they
    differ, the optimised schedule evaluated by numpy alone decides: if it differs too, a
    rewrite changed the value; if it agrees, the difference is rounding of native code
    spread over several steps (each of which matched its reference), and is accepted.  The
    first difference raises; when all agree, the call returns its usual results.  Calls
    are many times slower: use it to find a wrong result, not to train.

    Floats match when ``|result - reference| <= atol + rtol * |reference|`` elementwise;
    NaN matches NaN and an infinity the same infinity.  The defaults are, for float32,
    ``rtol=1e-5, atol=1e-5`` (Theano's) and for float64 ``rtol=1e-7, atol=1e-10``.  A float
    sum or product kernel is allowed the rounding of its reduction on top: ``2 n eps
    sum|terms|`` for a sum of ``n`` terms (native code and numpy add in different orders).
    Where the unoptimised graph gives NaN or an infinity and the compiled function a finite
    value, the element is not compared: the stabilising rewrites exist for that.  Integers
    and booleans must be equal.  The steps run as in the plain mode, updates computed in
    place into their shared variables included, so these checks see the code that runs.

    Parameters
    ----------
    rtol, atol : float, optional
        Override the relative and absolute tolerance for every float dtype.

    Raises
    ------
    BadThunkOutput
        (At a call.)  A kernel's native result differs from its numpy reference: the
        message names the step, its fused ops, the output, the largest absolute and
        relative differences and the first differing index.
    BadOptimization
        (At a call.)  Every kernel agreed, but an output differs from the unoptimised
        graph's.

    Examples
    --------
    >>> f = theon.function([x], T.exp(x) * 2, mode="DebugMode")  # doctest: +SKIP
    >>> f = theon.function([x], y, mode=theon.compile.DebugMode(rtol=1e-4))  # doctest: +SKIP
    """

    name = "DebugMode"
    checks = True

    def __init__(self, rtol=None, atol=None):
        for what, value in (("rtol", rtol), ("atol", atol)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, Real):
                raise TypeError(f"DebugMode: {what} must be a number or None; got "
                                f"{value!r} ({type(value).__name__})")
            if not value >= 0:
                raise ValueError(f"DebugMode: {what} must be at least 0; got {value!r}")
        self.rtol = rtol
        self.atol = atol

    def runner(self, executable, graph, output_labels):
        return DebugRunner(executable, Tolerance(self.rtol, self.atol), graph, output_labels)

    def parameters(self):
        return {"rtol": self.rtol, "atol": self.atol}

    def __repr__(self):
        return f"DebugMode(rtol={self.rtol!r}, atol={self.atol!r})"


class NanGuardMode(Mode):
    """Stop at the first step that produces a NaN, an infinity or a huge value.

    Each call checks the function's float inputs, then every step's float outputs as soon
    as the step has run (loop bodies and branch sides step by step), and raises
    ``NanGuardError`` naming the first step whose output is bad: its kernel and fused ops
    (or its op), the output and its type, how many elements are bad and the first one.
    Integer and boolean arrays are not checked.  Calls are slower by a pass over every
    float array the function computes.  The steps run as in the plain mode: an update that
    the plain mode computes straight into its shared variable's array is written there
    before its check, so after an error that variable may hold the bad values.

    Parameters
    ----------
    nan_is_error : bool
        NaN is an error.
    inf_is_error : bool
        +inf and -inf are errors.
    big_is_error : bool
        A finite value of magnitude above 1e10 is an error (Theano's threshold).

    Examples
    --------
    >>> mode = theon.compile.NanGuardMode(nan_is_error=True, inf_is_error=True)
    >>> f = theon.function([x], T.log(x), mode=mode)  # doctest: +SKIP
    >>> f([-1.0])  # doctest: +SKIP
    NanGuardError: NanGuardMode: step 0 (kernel[log]; fused ops: log) produced 1 NaN ...
    """

    name = "NanGuardMode"
    checks = True

    def __init__(self, nan_is_error=True, inf_is_error=True, big_is_error=False):
        for what, value in (("nan_is_error", nan_is_error), ("inf_is_error", inf_is_error),
                            ("big_is_error", big_is_error)):
            if not isinstance(value, bool):
                raise TypeError(f"NanGuardMode: {what} must be True or False; got {value!r}")
        self.nan_is_error = nan_is_error
        self.inf_is_error = inf_is_error
        self.big_is_error = big_is_error

    def runner(self, executable, graph, output_labels):
        return NanGuardRunner(executable, self.nan_is_error, self.inf_is_error,
                              self.big_is_error, output_labels)

    def parameters(self):
        return {"nan_is_error": self.nan_is_error, "inf_is_error": self.inf_is_error,
                "big_is_error": self.big_is_error}

    def __repr__(self):
        return (f"NanGuardMode(nan_is_error={self.nan_is_error}, "
                f"inf_is_error={self.inf_is_error}, big_is_error={self.big_is_error})")


# the names ``mode=`` accepts as strings (Theano's predefined modes)
PREDEFINED_MODES = {
    "FAST_RUN": Mode,
    "FAST_COMPILE": Mode,
    "DebugMode": DebugMode,
    "DEBUG_MODE": DebugMode,
    "NanGuardMode": NanGuardMode,
}


def get_mode(mode):
    """The Mode object for ``theon.function``'s ``mode`` argument.

    Parameters
    ----------
    mode : None, str or Mode
        None: the plain mode.  A string: one of ``PREDEFINED_MODES`` (``'FAST_RUN'``,
        ``'FAST_COMPILE'``, ``'DebugMode'``, ``'DEBUG_MODE'``, ``'NanGuardMode'``), with
        default settings.

    Returns
    -------
    Mode

    Raises
    ------
    ValueError
        An unknown mode name.
    TypeError
        Neither None, a string nor a Mode.
    """
    if mode is None:
        return Mode()
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        if mode not in PREDEFINED_MODES:
            raise ValueError(f"function: unknown mode {mode!r}; expected one of "
                             f"{', '.join(repr(name) for name in PREDEFINED_MODES)}, or a "
                             "theon.compile.Mode instance")
        return PREDEFINED_MODES[mode]()
    raise TypeError(f"function: mode must be None, a mode name or a theon.compile.Mode "
                    f"instance; got {mode!r} ({type(mode).__name__})")


def output_labels(graph, names, state):
    """How messages name each output of ``graph``: "output 0 ('y')" for the user's
    outputs, "update of shared variable 'W'" for the updates (``state``: the
    function's ``SharedState``, or None without shared variables)."""
    n_user = len(graph.outputs) if state is None else state.n_outputs
    labels = []
    for position, node in enumerate(graph.outputs):
        if position < n_user:
            name = names.get(node)
            labels.append(f"output {position} ('{name}')" if name else f"output {position}")
        else:
            variable = state.targets[position - n_user]
            labels.append(f"update of shared variable '{variable.name or 'unnamed'}'")
    return labels
