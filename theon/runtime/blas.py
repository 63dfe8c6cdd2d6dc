"""Small matrix products on one BLAS thread while other processes load the machine.

OpenBLAS splits even small matrix products across all its threads, and its threads spin
while they wait for each other.  On a machine shared with other work, a thread waiting for
a descheduled partner spins away its time slice: the 256x784 by 784x10 product of a
logistic-regression step took 15.9 ms instead of 0.1 ms on 2 loaded cores (numpy's own
calls suffer the same).  On an idle machine the same product takes 46 us on two threads and
85 us on one.  So theon watches the machine (``MachineLoad``: every core's busy time from
``/proc/stat`` minus this process's own CPU time) and, while other processes keep more than
``LOADED_CORES`` cores busy, runs products below ``SERIAL_BELOW`` multiply-adds on one
thread.  It gives the library its previous thread count back right after: larger
products, and the user's own numpy code, keep whatever numpy (or threadpoolctl) set.
Where the load cannot be read (no ``/proc/stat``) small products always run on one thread.

The BLAS libraries are found once, at the first small product: OpenBLAS (numpy's wheels) by
its own functions, any other through threadpoolctl; where none can be controlled, products
run as numpy runs them.
"""
import ctypes
import functools
import os
import time

SERIAL_BELOW = 1 << 24
LOADED_CORES = 0.5   # other processes' CPU use, in cores, from which the machine is loaded
SAMPLE_S = 0.2       # the load is measured over windows at least this long
FIRST_SAMPLE_S = 0.02  # the first window, from theon's import (two clock ticks a core)

_UNKNOWN = object()
_controllers = _UNKNOWN  # objects with get_num_threads/set_num_threads, one per BLAS

# OpenBLAS's thread-count functions, as its builds name them (numpy's wheels ship
# scipy-openblas with the 64-bit-integer suffix)
_OPENBLAS_SYMBOLS = tuple((f"{prefix}_get_num_threads{suffix}",
                           f"{prefix}_set_num_threads{suffix}")
                          for prefix in ("scipy_openblas", "openblas")
                          for suffix in ("64_", ""))


class _OpenBLAS:
    """An OpenBLAS library's thread count, through its own two functions."""

    def __init__(self, get, set_):
        get.restype, get.argtypes = ctypes.c_int, []
        set_.restype, set_.argtypes = None, [ctypes.c_int]
        self.get_num_threads, self.set_num_threads = get, set_


@functools.lru_cache(maxsize=None)
def numpy_library():
    """numpy's own extension module as a ctypes library, whose symbols the dynamic linker
    looks up in the libraries it was linked with (its BLAS); None where it cannot be
    opened."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as umath
    try:
        return ctypes.CDLL(umath.__file__)
    except OSError:
        return None


def _numpy_openblas():
    """The OpenBLAS numpy's products run on, or None."""
    library = numpy_library()
    if library is None:
        return None
    for get, set_ in _OPENBLAS_SYMBOLS:
        if hasattr(library, get) and hasattr(library, set_):
            return _OpenBLAS(getattr(library, get), getattr(library, set_))
    return None


def _loaded_openblas():
    """The OpenBLAS libraries this process has loaded, from ``/proc/self/maps`` (Linux):
    half a millisecond (the kernel's writing of the file), where threadpoolctl's scan of
    every library and its import take ~7 ms of a warm process's first call."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line and
                 "openblas" in line.rsplit("/", 1)[-1].lower()}
    found = []
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for get, set_ in _OPENBLAS_SYMBOLS:
            if hasattr(library, get) and hasattr(library, set_):
                found.append(_OpenBLAS(getattr(library, get), getattr(library, set_)))
                break
    return found


def _blas_controllers():
    global _controllers
    if _controllers is _UNKNOWN:
        try:
            # theon's products are numpy's: its OpenBLAS is the one to limit (a tenth of
            # the time of reading the process's memory map for every OpenBLAS loaded)
            numpys = _numpy_openblas()
            _controllers = (numpys,) if numpys is not None else tuple(_loaded_openblas())
        except OSError:  # no /proc (macOS, Windows) or an unloadable path
            _controllers = ()
        if not _controllers:  # another BLAS (MKL, BLIS, Accelerate...) or another OS
            try:
                from threadpoolctl import ThreadpoolController
                _controllers = tuple(
                    ThreadpoolController().select(user_api="blas").lib_controllers)
            except Exception:  # noqa: BLE001 - nothing controllable: numpy's choice stands
                _controllers = ()
    return _controllers


class MachineLoad:
    """Whether processes other than this one keep the machine's cores busy: every core's
    busy time (``/proc/stat``) minus this process's CPU time (all its threads, spinning
    BLAS threads included), over the last window of at least ``SAMPLE_S`` seconds.  The
    first window starts when the object is made (at theon's import) and ends after
    ``FIRST_SAMPLE_S``: a short training run's first steps are not all taken as loaded
    (a 73-step run took 200 us a logistic-regression step on one BLAS thread, 120 on
    two).  Counts as loaded until a first window has been measured, and always where
    ``/proc/stat`` cannot be read."""

    def __init__(self, path="/proc/stat"):
        self.path = path
        self.loaded = True
        self.measured = False  # whether a window has ended yet
        self.previous = None  # (wall, machine busy seconds, own CPU seconds)
        try:
            self.tick = os.sysconf("SC_CLK_TCK")
        except (AttributeError, ValueError, OSError):
            self.tick = None
        self._measure(time.monotonic())

    def is_loaded(self):
        """The latest verdict, measured again when its window is over (a read of one line
        of ``/proc/stat`` every ``SAMPLE_S`` seconds at most)."""
        now = time.monotonic()
        window = SAMPLE_S if self.measured else FIRST_SAMPLE_S
        if self.previous is None or now - self.previous[0] >= window:
            self._measure(now)
        return self.loaded

    def _measure(self, now):
        busy = self._machine_busy()
        if busy is None:
            return
        own = time.process_time()
        if self.previous is not None:
            wall, busy_before, own_before = self.previous
            others = (busy - busy_before) - (own - own_before)
            self.loaded = others / (now - wall) > LOADED_CORES
            self.measured = True
        self.previous = (now, busy, own)

    def _machine_busy(self):
        """Seconds every core has spent busy since boot, or None where unknown."""
        if self.tick is None:
            return None
        try:
            with open(self.path) as stat:
                fields = stat.readline().split()
        except OSError:
            return None
        if len(fields) < 8 or fields[0] != "cpu":
            return None
        user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
        steal = int(fields[8]) if len(fields) > 8 else 0
        return (user + nice + system + irq + softirq + steal) / self.tick


_machine = MachineLoad()


def begin(multiply_adds):
    """Before a product of ``multiply_adds`` multiply-adds: limit BLAS to one thread if the
    product is small and the machine loaded.  Returns what ``end`` needs to undo it (None:
    nothing was changed)."""
    if multiply_adds >= SERIAL_BELOW or not _machine.is_loaded():
        return None
    # every BLAS loaded (numpy's and scipy's may be two copies): numpy's is among them
    previous = []
    for controller in _blas_controllers():
        count = controller.get_num_threads()
        if count != 1:
            controller.set_num_threads(1)
            previous.append((controller, count))
    return previous or None


def end(previous):
    """After the product: the thread counts ``begin`` changed, restored."""
    if previous:
        for controller, count in previous:
            controller.set_num_threads(count)
