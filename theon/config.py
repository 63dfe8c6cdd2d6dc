"""theon's configuration: Theano-style flags from ``THEON_FLAGS`` and the environment.

``THEON_FLAGS="floatX=float32,target=cpu,compile_log=1"`` sets flags at start-up;
``theon.config.floatX = "float32"`` sets them in code.  Unknown flags are an error, so a typo
does not silently leave a default in place.
"""
import contextlib
import os
import re

_BOOLEAN = {"1": True, "true": True, "yes": True, "on": True,
            "0": False, "false": False, "no": False, "off": False, "": False}


def _parse_bool(name, text):
    if isinstance(text, bool):
        return text
    key = str(text).strip().lower()
    if key not in _BOOLEAN:
        raise ValueError(f"config.{name}: expected a boolean (0/1/true/false), got {text!r}")
    return _BOOLEAN[key]


def _parse_float_x(name, text):
    if text not in ("float32", "float64"):
        raise ValueError(f"config.{name}: expected 'float32' or 'float64', got {text!r}")
    return text


def _parse_target(name, text):
    if text not in ("cpu", "cuda"):
        raise ValueError(f"config.{name}: expected 'cpu' or 'cuda', got {text!r}")
    return text


def _parse_cuda_arch(name, text):
    if re.fullmatch(r"sm_\d{2,3}a?", text) is None:
        raise ValueError(f"config.{name}: expected a GPU architecture such as 'sm_80' or "
                         f"'sm_90', got {text!r}")
    return text


def _parse_threads(name, text):
    value = int(text)
    if value < 1:
        raise ValueError(f"config.{name}: expected a positive number of threads, got {text!r}")
    return value


def _choice(*values):
    """A parser accepting exactly ``values`` (strings)."""
    def parse(name, text):
        if text not in values:
            raise ValueError(f"config.{name}: expected one of "
                             f"{', '.join(repr(v) for v in values)}, got {text!r}")
        return text
    return parse


def _default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# name -> (parser, default, help)
FLAGS = {
    "floatX": (_parse_float_x, "float64",
               "dtype of T.matrix() and friends when none is given, and of Python floats "
               "mixed with integers"),
    "target": (_parse_target, "cpu", "backend theon.function compiles for"),
    "cuda_arch": (_parse_cuda_arch, "sm_80",
                  "GPU architecture the CUDA target generates PTX for ('sm_80': A100, "
                  "'sm_90': H100); part of the compile cache's key"),
    "compile_log": (_parse_bool, False, "print one line per compile"),
    "tiered_compile": (_parse_bool, True,
                       "CPU kernels: compile first with LLVM's fastest back end, then swap "
                       "in optimised code compiled in a background thread"),
    "keep_freed_memory": (_parse_bool, True,
                          "keep up to 128 MiB of freed memory in the process for reuse, so "
                          "that large temporaries do not page-fault on every call (glibc "
                          "only; read when theon is imported, so set it in THEON_FLAGS; see "
                          "theon/runtime/memory.py)"),
    "native_loops": (_parse_bool, True,
                     "run a scan's steps in one native loop (the body's kernels and BLAS "
                     "called from machine code, no Python between steps) wherever the body "
                     "allows; see theon/runtime/native_loop.py"),
    "native_calls": (_parse_bool, True,
                     "run a compiled function's steps natively (kernels and BLAS called from "
                     "machine code, no Python between steps) once a call's inputs have the "
                     "shapes and strides of the call before; intermediates then stay "
                     "allocated between calls; see theon/runtime/native_call.py"),
    "num_threads": (_parse_threads, None,
                    "threads a large kernel is split across (default: THEON_NUM_THREADS, "
                    "else every core this process may use)"),
    "profile": (_parse_bool, False,
                "compile functions with profile=True unless told otherwise: each step of "
                "a call is timed into f.profile (Theano's config.profile)"),
    "compute_test_value": (_choice("off", "ignore", "warn", "raise", "pdb"), "off",
                           "Theano's debugger: while not 'off', every variable built from "
                           "variables with test values (x.tag.test_value = ...) gets one, "
                           "computed by the ops' numpy references as the graph is built, so "
                           "a shape error raises at the line that builds it; what an input "
                           "without a test value does: 'ignore' (nothing), 'warn', 'raise' "
                           "or 'pdb' (a post-mortem debugger); see theon.frontend.test_value"),
    "execution": (_choice("graph", "eager"), "graph",
                  "'eager': every variable built from concrete values (theon.eager.array, "
                  "constants, shared variables) is computed at once by the same compiled "
                  "kernels (the issue's config.mode='eager'; theon.function's mode= is "
                  "how one compiled function runs, another thing); see theon.eager"),
}


class Config:
    """The flags in ``FLAGS``, as attributes, validated on assignment."""

    def __init__(self, environ=os.environ):
        object.__setattr__(self, "_listeners", {})
        for name, (parser, default, _) in FLAGS.items():
            object.__setattr__(self, name, default)
        if environ.get("THEON_NUM_THREADS"):
            self.num_threads = environ["THEON_NUM_THREADS"]
        if self.num_threads is None:
            object.__setattr__(self, "num_threads", _default_threads())
        for item in filter(None, environ.get("THEON_FLAGS", "").split(",")):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"THEON_FLAGS: {item!r} is not of the form key=value")
            setattr(self, name.strip(), value.strip())

    def __setattr__(self, name, value):
        if name not in FLAGS:
            raise AttributeError(f"theon.config has no flag {name!r}; flags: "
                                 f"{', '.join(FLAGS)}")
        object.__setattr__(self, name, FLAGS[name][0](name, value))
        for callback in self._listeners.get(name, ()):
            callback(getattr(self, name))

    def on_change(self, name, callback):
        """Call ``callback(value)`` with flag ``name``'s value now and after every
        assignment to it (how theon's build-time hooks follow their flags).

        Parameters
        ----------
        name : str
            A flag of ``FLAGS``.
        callback : callable
            Takes the flag's new (parsed) value.
        """
        if name not in FLAGS:
            raise AttributeError(f"theon.config has no flag {name!r}; flags: "
                                 f"{', '.join(FLAGS)}")
        self._listeners.setdefault(name, []).append(callback)
        callback(getattr(self, name))

    @contextlib.contextmanager
    def change_flags(self, **flags):
        """Set ``flags`` (name=value) inside a ``with`` block; their previous values come
        back on leaving, also after an exception (Theano's ``config.change_flags``).

        Examples
        --------
        >>> with theon.config.change_flags(floatX="float32"):
        ...     x = T.matrix()    # float32
        """
        previous = {name: getattr(self, name) for name in flags if name in FLAGS}
        try:
            for name, value in flags.items():
                setattr(self, name, value)
            yield self
        finally:
            for name, value in previous.items():
                setattr(self, name, value)

    def __repr__(self):
        return "theon.config(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in FLAGS) + ")"


config = Config()
