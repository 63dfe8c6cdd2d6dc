"""One compile measurement in a fresh process; started by ``theon bench compile``.

Usage: ``python3 -m theon.bench.child '{"peer": P, "graph": G, "regime": R}'``, with the
regime's cache directory already in the environment.  The last line of stdout is the result
as JSON.  ``peer`` is ``theon``, ``pytensor`` or ``jax``; ``regime`` is ``cold`` (one
measurement) or ``warm`` (one measurement, then the graph built again from scratch and
compiled again in the same process: ``rebuilt``).

A measurement is the time to the first result: graph construction, compile (``function``,
or ``jit(...).lower(...).compile()``) and the first call, split into ``construct_s``,
``compile_s`` and ``call_s``.  The peer's import is timed on its own (``import_s``) and is not
part of it.  The first result is checked against a float64 numpy reference after timing.
"""
import json
import os
import sys
import time
import traceback
import types

from . import graphs

PEERS = ("theon", "pytensor", "jax")


def _load_theon():
    """theon behind the Theano names; attributes theon lacks are left out of the namespace."""
    import theon
    import theon.tensor as T
    names = {k: getattr(theon, k) for k in ("function", "grad", "shared") if hasattr(theon, k)}
    return types.SimpleNamespace(T=T, **names)


def _load_pytensor():
    """PyTensor behind the Theano names, with Theano 1.0's row-wise ``T.nnet.softmax``."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.tensor.special import softmax as _softmax

    def softmax(x):
        """Theano 1.0's T.nnet.softmax: row-wise over a matrix."""
        return _softmax(pt.as_tensor_variable(x), axis=-1)

    T = types.SimpleNamespace(**{k: v for k, v in vars(pt).items() if not k.startswith("_")})
    T.nnet = types.SimpleNamespace(sigmoid=pt.sigmoid, softplus=pt.softplus, softmax=softmax)
    return types.SimpleNamespace(function=pytensor.function, grad=pytensor.grad,
                                 shared=pytensor.shared, T=T)


def _load_jax():
    """jax, with x64 and the persistent compilation cache on for every entry."""
    import jax
    jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("THEON_BENCH_JAX_CACHE")
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return jax


LOADERS = {"theon": _load_theon, "pytensor": _load_pytensor, "jax": _load_jax}


class NotAvailable(Exception):
    """The peer cannot build this graph yet; the message says what it needs."""


def _report(f):
    """The JSON-safe parts of a theon function's compile report."""
    report = getattr(f, "report", None)
    if report is None:
        return {}
    return {"stages_s": dict(report.stages), "report_total_s": report.total_s,
            "cache": str(report.cache), "kernels": report.kernels,
            "kernels_compiled": getattr(report, "kernels_compiled", None),
            "kernels_cached": getattr(report, "kernels_cached", None)}


def _theano_api_once(peer, th, spec, case):
    """Build, compile and call ``spec`` once with a Theano-API peer; timings and check."""
    start = time.perf_counter()
    try:
        graph = spec.build(th, case)
        built = time.perf_counter()
        kwargs = {"updates": graph.updates} if graph.updates else {}
        f = th.function(graph.inputs, graph.outputs, **kwargs)
    except NotImplementedError as exc:
        # theon says so for features still to come (e.g. updates): not a failure of the bench
        raise NotAvailable("needs " + (str(exc).strip().splitlines() or ["?"])[0]) from exc
    compiled = time.perf_counter()
    out = f(*case.args)
    end = time.perf_counter()
    state = [s.get_value() for s in graph.shared]
    result = _timings(start, built, compiled, end)
    result["check"] = graphs.check(case, out, state)
    if peer == "theon":
        result.update(_report(f))
    return result


def _jax_once(jax, spec, case, args):
    """Trace, compile and call the JAX version of ``spec`` once; timings and check."""
    from . import jax_graphs
    start = time.perf_counter()
    fn, split = jax_graphs.program(spec, case)
    built = time.perf_counter()
    compiled_fn = jax.jit(fn).lower(*args).compile()
    compiled = time.perf_counter()
    out = jax.block_until_ready(compiled_fn(*args))
    end = time.perf_counter()
    output, state = split(out)
    result = _timings(start, built, compiled, end)
    result["check"] = graphs.check(case, output, state)
    return result


def _timings(start, built, compiled, end):
    return {"first_result_s": end - start, "construct_s": built - start,
            "compile_s": compiled - built, "call_s": end - compiled}


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def measure(peer, graph, regime):
    """Run one regime of one graph with one peer in this process.

    Parameters
    ----------
    peer : {'theon', 'pytensor', 'jax'}
    graph : str
        A name in ``graphs.SUITE``.
    regime : {'cold', 'warm'}
        'warm' also measures ``rebuilt``: the graph built and compiled again.

    Returns
    -------
    dict
        ``status`` ('ok', 'n/a' with ``reason``, or 'error' with ``error``), ``import_s``,
        and per measured regime a dict of timings, ``check`` and (theon) the compile report.
    """
    start = time.perf_counter()
    module = LOADERS[peer]()
    result = {"status": "ok", "peer": peer, "graph": graph,
              "import_s": time.perf_counter() - start}
    spec = graphs.SUITE[graph]
    case = spec.make_case()
    names = ["first"] + (["rebuilt"] if regime == "warm" else [])
    try:
        if peer == "jax":
            from . import jax_graphs
            args = jax_graphs.device_args(spec, case)
            once = [_jax_once(module, spec, case, args) for _ in names]
        else:
            missing = graphs.missing_names(spec, module)
            if missing:
                raise NotAvailable("needs " + ", ".join(_display(peer, m) for m in missing))
            once = [_theano_api_once(peer, module, spec, case) for _ in names]
    except NotAvailable as exc:
        return dict(result, status="n/a", reason=str(exc))
    except Exception as exc:  # noqa: BLE001 -- any failure becomes the row's error text
        traceback.print_exc()
        return dict(result, status="error", error=_first_line(exc))
    result[regime] = once[0]
    if regime == "warm":
        result["rebuilt"] = once[1]
    return result


def _display(peer, name):
    """``grad`` -> ``theon.grad``; ``T.dot`` stays as it is."""
    return name if name.startswith("T.") else f"{peer}.{name}"


def main(argv):
    """Parse the JSON request in ``argv[0]``, measure, print the result as the last line."""
    request = json.loads(argv[0])
    result = measure(request["peer"], request["graph"], request["regime"])
    sys.stdout.flush()
    print("\n" + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
