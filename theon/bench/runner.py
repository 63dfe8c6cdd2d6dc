"""Fresh processes for ``theon bench compile``: environments, cache directories, timeouts.

Every figure comes from a new interpreter (``python -m theon.bench.child``), so that imports,
the disk cache and in-memory caches are under control.  A child that times out or crashes
becomes a result dict with ``status`` 'timeout' or 'error', never an exception here.
"""
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# the directory holding the ``theon`` package that runs this benchmark
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER_MODULES = {"pytensor": "pytensor", "jax": "jax"}
IMPORT_CODE = ("import time\nstart = time.perf_counter()\nimport {module}\n"
               "print(time.perf_counter() - start)\n")


def installed(peer):
    """Whether ``peer`` could be imported here (checked without importing it)."""
    return importlib.util.find_spec(PEER_MODULES.get(peer, peer)) is not None


def peer_env(peer, cache_dir):
    """Environment variables that put every on-disk cache of ``peer`` under ``cache_dir``."""
    if peer == "theon":
        return {"THEON_CACHE_DIR": os.path.join(cache_dir, "theon")}
    if peer == "pytensor":
        flags = f"base_compiledir={os.path.join(cache_dir, 'pytensor')},mode=FAST_RUN"
        user = os.environ.get("PYTENSOR_FLAGS")
        # the user's other flags stay; ours come last so that they win
        return {"PYTENSOR_FLAGS": f"{user},{flags}" if user else flags,
                "NUMBA_CACHE_DIR": os.path.join(cache_dir, "numba")}
    if peer == "jax":
        return {"THEON_BENCH_JAX_CACHE": os.path.join(cache_dir, "jax"),
                "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"}
    raise KeyError(peer)


def child_env(extra):
    """This process's environment, with this theon importable first, plus ``extra``."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + path if path else "")
    env.update(extra)
    return env


def run_process(argv, env, timeout_s):
    """Run ``argv``; the JSON on its last stdout line, or a 'timeout' / 'error' result."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"timeout after {timeout_s:g} s",
                "wall_s": time.perf_counter() - start}
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        result = None
    if proc.returncode != 0 or not isinstance(result, dict):
        return {"status": "error", "error": _crash_line(proc), "wall_s": wall}
    result["wall_s"] = wall
    return result


def _crash_line(proc):
    """First line worth showing of a crashed child: its exception, else its exit status."""
    for line in reversed((proc.stderr or "").strip().splitlines()):
        line = line.strip()
        if line and not line.startswith(("File ", "^", "~")) and ":" in line:
            return line
    if proc.returncode < 0:
        return f"killed by signal {-proc.returncode}"
    return f"exit status {proc.returncode}"


def run_pair(peer, graph, timeout_s):
    """A cold child on a new empty cache directory, then a warm child on what it left.

    Returns
    -------
    tuple of dict
        ``(cold, warm)``; ``warm`` is None when the cold run did not succeed.
    """
    with tempfile.TemporaryDirectory(prefix="theon-bench-") as cache_dir:
        env = child_env(peer_env(peer, cache_dir))
        cold = _child(peer, graph, "cold", env, timeout_s)
        if cold.get("status") != "ok":
            return cold, None
        return cold, _child(peer, graph, "warm", env, timeout_s)


def _child(peer, graph, regime, env, timeout_s):
    request = json.dumps({"peer": peer, "graph": graph, "regime": regime})
    argv = [sys.executable, "-m", "theon.bench.child", request]
    return run_process(argv, env, timeout_s)


def import_time(peer, repeat, timeout_s):
    """Median seconds of ``import peer`` over ``repeat`` fresh processes (empty caches).

    ``python -c`` rather than ``-m theon.bench.child``: running a module of theon would
    import theon before any timer starts.
    """
    samples = []
    module = PEER_MODULES.get(peer, peer)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="theon-bench-") as cache_dir:
            env = child_env(peer_env(peer, cache_dir))
            argv = [sys.executable, "-c", IMPORT_CODE.format(module=module)]
            try:
                proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                                      timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return {"status": "timeout", "error": f"timeout after {timeout_s:g} s"}
        if proc.returncode != 0:
            return {"status": "error", "error": _crash_line(proc)}
        samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return {"status": "ok", "median_ms": statistics.median(samples) * 1e3,
            "samples_ms": [s * 1e3 for s in samples]}
