"""Timers and fresh-process helpers for theon's benchmarks.

Everything here is independent of theon: it times Python callables in this process, and runs
small scripts in fresh interpreters (for import and cold-compile figures) with their own
environment and a timeout.  The machine is small and shared, so every figure is a median.
"""
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# directories put before REPO_ROOT on the path of this and every child process
# (``run.py --theon-path`` benchmarks another checkout of theon)
EXTRA_PATH = []


def measure(call, samples=5, min_sample_s=0.2, warmup=1):
    """Median wall time of one ``call()``.

    Each sample repeats ``call`` back to back until the sample lasts at least ``min_sample_s``
    (the repeat count is fixed from one timed call) and records the mean per call; the result
    is the median over ``samples`` samples.  The garbage collector is off while timing, as in
    ``timeit``.

    Parameters
    ----------
    call : callable
        Called with no arguments.
    samples : int
        Number of samples; the median is taken over them.
    min_sample_s : float
        Minimum duration of one sample, in seconds.
    warmup : int
        Untimed calls before timing.

    Returns
    -------
    dict
        ``median_s``, ``min_s``, ``samples_s`` (list) and ``inner`` (calls per sample).
    """
    for _ in range(warmup):
        call()
    _settle()
    inner = _calls_per_sample(call, min_sample_s)
    timings = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(samples):
            start = time.perf_counter()
            for _ in range(inner):
                call()
            timings.append((time.perf_counter() - start) / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {"median_s": statistics.median(timings), "min_s": min(timings),
            "samples_s": timings, "inner": inner}


def measure_interleaved(calls, samples=5, min_sample_s=0.2, warmup=1):
    """``measure`` for several competitors at once, their samples taken in turn (a, b, a,
    b, ...): a change of load on a shared machine then hits every competitor alike, which
    back-to-back measurements (all of a, then all of b) do not guarantee.

    Parameters
    ----------
    calls : dict
        Name -> callable taking no arguments.

    Returns
    -------
    dict
        Name -> ``measure``'s dict for that callable.
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    _settle()
    inner = {name: _calls_per_sample(call, min_sample_s) for name, call in calls.items()}
    timings = {name: [] for name in calls}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(samples):
            for name, call in calls.items():
                start = time.perf_counter()
                for _ in range(inner[name]):
                    call()
                timings[name].append((time.perf_counter() - start) / inner[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "samples_s": t,
                   "inner": inner[name]} for name, t in timings.items()}


def _settle():
    """Wait for theon's background compiles (tiered compilation), when theon is loaded: run
    times are those of the optimised code, not of the first tier it briefly runs."""
    loader = sys.modules.get("theon.runtime.loader")
    if loader is not None:
        loader.wait_for_optimized()


def _calls_per_sample(call, min_sample_s):
    """Number of calls that make one sample last at least ``min_sample_s``."""
    start = time.perf_counter()
    call()
    one = time.perf_counter() - start
    if one >= min_sample_s:
        return 1
    # a 10-call estimate is steadier than one call for microsecond calls
    start = time.perf_counter()
    for _ in range(10):
        call()
    one = (time.perf_counter() - start) / 10
    return max(1, int(math.ceil(min_sample_s / max(one, 1e-9))))


def child_env(cache_dir=None, extra=None):
    """Environment for a fresh benchmark process: theon importable, optional cache dir."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(EXTRA_PATH + [REPO_ROOT] + ([path] if path else []))
    if cache_dir is not None:
        env["THEON_CACHE_DIR"] = cache_dir
    env.update(extra or {})
    return env


def run_child(task, params, timeout_s, cold_cache=True):
    """Run ``benchmarks/child.py task`` in a fresh interpreter and return its JSON result.

    Parameters
    ----------
    task : str
        A task name known to ``child.py``.
    params : dict
        JSON-safe parameters passed on the command line.
    timeout_s : float
        Wall-clock limit for the process.
    cold_cache : bool
        Give the process an empty, private THEON_CACHE_DIR (removed afterwards).

    Returns
    -------
    dict
        The child's result; on failure ``{"error": text}``, with ``"timeout": True`` when the
        process ran past ``timeout_s``.  ``wall_s`` is the whole process's wall time.
    """
    script = os.path.join(REPO_ROOT, "benchmarks", "child.py")
    argv = [sys.executable, script, task, json.dumps(params)]
    with tempfile.TemporaryDirectory(prefix="theon-bench-cache-") as cache_dir:
        env = child_env(cache_dir if cold_cache else None)
        start = time.perf_counter()
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"error": f"timeout after {timeout_s:.0f} s", "timeout": True,
                    "wall_s": time.perf_counter() - start}
        wall = time.perf_counter() - start
    return _parse_child(proc, wall)


def _parse_child(proc, wall):
    """The JSON result on a child's last stdout line, or an error dict."""
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail), "wall_s": wall}
    result = json.loads(lines[-1])
    result["wall_s"] = wall
    return result


def process_wall_time(code, samples):
    """Median wall time of ``python3 -c code`` over ``samples`` fresh processes.

    Parameters
    ----------
    code : str
        Python source for ``-c``.
    samples : int
        Number of processes.

    Returns
    -------
    dict
        ``median_s``, ``min_s`` and ``samples_s``; ``error`` if a process failed.
    """
    timings = []
    env = child_env()
    for _ in range(samples):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=120)
        timings.append(time.perf_counter() - start)
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1]}
    return {"median_s": statistics.median(timings), "min_s": min(timings),
            "samples_s": timings}


def median_run(runs, key):
    """The run whose ``key`` is the median (lower median for an even count) of ``runs``."""
    ordered = sorted(runs, key=lambda run: run[key])
    return ordered[(len(ordered) - 1) // 2]


class CpuBusy:
    """Share of the machine's CPU time that was busy between ``start()`` and ``stop()``.

    Read from /proc/stat, so it includes this process and every other one; on a 2-core machine
    0.5 means one core was busy on average.  ``None`` where /proc/stat does not exist.
    """

    def __init__(self):
        self._start = None

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except OSError:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def start(self):
        """Remember the counters now."""
        self._start = self._read()

    def stop(self):
        """Busy fraction since ``start()`` (0..1), or None."""
        end = self._read()
        if self._start is None or end is None:
            return None
        total = end[0] - self._start[0]
        idle = end[1] - self._start[1]
        return None if total <= 0 else 1.0 - idle / total
