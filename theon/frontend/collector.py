"""Python's cyclic garbage collector paused while theon compiles a function.

A compile makes many small container objects (nodes, their input tuples, dicts and lists
of the passes).  Each allocation counts towards the collector's thresholds, so compiling a
large graph sets off full collections, and each full collection walks every live object:
on the 10,000-step chain of ``theon bench compile`` (50,000 nodes) they took about a
quarter of a cold compile.  While ``paused`` is active the collector does not run; it runs
again (as usual, at its next threshold) once the outermost compile ends.  Reference
counting still frees everything that is not in a cycle at once.

The pause is process-wide, as the collector is: compiles on several threads keep it
paused until the last of them ends, and a collector the user disabled stays disabled.
"""
import functools
import gc
import threading

_lock = threading.Lock()
_depth = 0          # compiles running now
_reenable = False   # whether the first of them found the collector enabled


def paused(function):
    """Decorator: run ``function`` with the cyclic garbage collector paused."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        _enter()
        try:
            return function(*args, **kwargs)
        finally:
            _exit()
    return wrapper


def _enter():
    global _depth, _reenable
    with _lock:
        if _depth == 0:
            _reenable = gc.isenabled()
            gc.disable()
        _depth += 1


def _exit():
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and _reenable:
            gc.enable()
