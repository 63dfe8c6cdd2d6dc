"""The CPU thread pool: splits a kernel's axis-0 range across worker threads.

Kernels are called through ctypes with the GIL released, so Python threads run them in
parallel.  The workers start on first use and live for the process.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

# Below this many elements a kernel runs on the calling thread: waking workers costs
# more than it saves.  Measured on 2 cores (tanh(x + 1), float32): 64000 elements take
# 46 us on one thread and 88 us on two, 131072 take 85 vs 118 us, 262144 take 180 vs
# 166 us; after a BLAS call its spinning threads make the second core slower still.
PARALLEL_MIN_ELEMENTS = 1 << 18

_pool = None
_pool_size = 0
_lock = threading.Lock()


def _executor(threads):
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=threads - 1,
                                       thread_name_prefix="theon-worker")
            _pool_size = threads
        return _pool


def chunks(extent, threads):
    """``threads`` contiguous [begin, end) ranges covering ``range(extent)``."""
    threads = max(1, min(threads, extent))
    step, extra = divmod(extent, threads)
    bounds, begin = [], 0
    for index in range(threads):
        end = begin + step + (1 if index < extra else 0)
        bounds.append((begin, end))
        begin = end
    return bounds


def parallel_for(function, arrays, extent, threads):
    """Run ``function(*arrays, begin, end)`` over ``range(extent)`` split across ``threads``;
    returns the largest status any call returned."""
    ranges = chunks(extent, threads)
    if len(ranges) == 1:
        return function(*arrays, 0, extent)
    pool = _executor(threads)
    futures = [pool.submit(function, *arrays, begin, end) for begin, end in ranges[1:]]
    status = function(*arrays, *ranges[0])
    for future in futures:
        status = max(status, future.result())
    return status
