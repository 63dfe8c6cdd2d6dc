"""One cold measurement in a fresh interpreter; run by ``timing.run_child``.

Usage: ``python3 benchmarks/child.py TASK 'JSON params'``.  The last line of stdout is the
result as JSON.  The tool under test is imported first and its import is timed on its own;
the figure that matters, ``first_result_s``, runs from graph construction through compile to
the first result, so it excludes the import.

Tasks
-----
cold_w1
    params ``{"peer": "theon" | "numexpr" | "numba", "n": int, "dtype": str}``.
chain
    params ``{"steps": int, "n": int}``; theon only, checked against a numpy loop.
cold_train
    params ``{"workload": "W3" | "W4"}``; theon only: graph, grad, compile, first step.
"""
import importlib
import json
import os
import sys
import time

IMPORTS = {"theon": "theon", "numexpr": "numexpr", "numba": "numba"}


def _timed_import(peer):
    """Import the peer's package; seconds taken (before numpy is imported by anything else)."""
    start = time.perf_counter()
    importlib.import_module(IMPORTS[peer])
    return time.perf_counter() - start


def _report_dict(f):
    """The JSON-safe parts of a theon function's compile report."""
    report = f.report
    return {"stages_s": dict(report.stages), "report_total_s": report.total_s,
            "cache": str(report.cache), "kernels": report.kernels,
            "kernels_compiled": report.kernels_compiled}


def cold_w1(peer, n, dtype):
    """Time to W1's first result in this fresh process, for one peer."""
    import_s = _timed_import(peer)
    from benchmarks import workloads as w
    inputs = w.w1_inputs(n, dtype)
    result = {"peer": peer, "import_s": import_s}
    start = time.perf_counter()
    if peer == "theon":
        symbols, output = w.w1_theon_graph(dtype)
        built = time.perf_counter()
        import theon
        f = theon.function(symbols, output)
        compiled = time.perf_counter()
    else:
        f = w.w1_numexpr(dtype) if peer == "numexpr" else w.w1_numba()
        built = compiled = time.perf_counter()
    out = f(*inputs)
    end = time.perf_counter()
    result.update(first_result_s=end - start, build_s=built - start,
                  compile_s=compiled - built, first_call_s=end - compiled,
                  check=w.check(out, w.w1_reference(inputs), dtype))
    if peer == "theon":
        result.update(_report_dict(f))
    return result


def chain(steps, n):
    """Time to the chain's first result with theon in this fresh process."""
    import_s = _timed_import("theon")
    import theon
    from benchmarks import workloads as w
    x = w.chain_input(n)
    start = time.perf_counter()
    x0, output = w.chain_theon_graph(steps)
    built = time.perf_counter()
    f = theon.function([x0], output)
    compiled = time.perf_counter()
    out = f(x)
    end = time.perf_counter()
    numpy_start = time.perf_counter()
    ref = w.chain_numpy(x, steps)
    numpy_s = time.perf_counter() - numpy_start
    result = {"import_s": import_s, "first_result_s": end - start, "build_s": built - start,
              "compile_s": compiled - built, "first_call_s": end - compiled,
              "numpy_loop_s": numpy_s, "check": w.check(out, ref, "float64")}
    result.update(_report_dict(f))
    return result


def cold_train(workload):
    """Time to the first SGD step of a training workload (benchmarks/training.py): graph
    build and ``theon.grad``, ``theon.function``, the first call."""
    import_s = _timed_import("theon")
    import theon
    from benchmarks import training
    x, y, params = training.CASES[workload]()
    start = time.perf_counter()
    inputs, cost, updates, _ = training.theon_graph(workload, params)
    built = time.perf_counter()
    step = theon.function(inputs, cost, updates=updates)
    compiled = time.perf_counter()
    step(x, y)
    end = time.perf_counter()
    result = {"import_s": import_s, "first_result_s": end - start, "build_s": built - start,
              "compile_s": compiled - built, "first_call_s": end - compiled}
    result.update(_report_dict(step))
    return result


TASKS = {"cold_w1": cold_w1, "chain": chain, "cold_train": cold_train}


def main(argv):
    """Run ``argv[1]`` with the JSON params in ``argv[2]`` and print the result as JSON."""
    # appended, not first: the theon under test comes from PYTHONPATH (run.py --theon-path
    # puts another checkout before this one); the repository is needed for benchmarks.*
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    task, params = argv[1], json.loads(argv[2])
    result = TASKS[task](**params)
    sys.stdout.flush()
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
