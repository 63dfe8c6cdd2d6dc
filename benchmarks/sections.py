"""The benchmark sections: each measures theon and its peers and returns table rows.

A section function takes a :class:`Settings` and returns ``(rows, raw)``: ``rows`` are
:class:`Row` objects for the printed table (values already formatted), ``raw`` is a JSON-safe
dict with every measured number.  Targets are printed with PASS or MISS, never asserted.
"""
import gc
import math
import statistics
from dataclasses import dataclass, field

from benchmarks import timing
from benchmarks import workloads as w

W1_TARGETS = {"float32": 2.0, "float64": 1.5}   # numpy time / theon time, at least
W6_TARGET_US = 1.5
COLD_TARGET_MS = 50.0
CHAIN_TARGET = (1000, 1000.0)                     # N = 1000 within 1000 ms
IMPORT_TARGET_MS = 200.0
LINEAR_EXPONENT = 1.15                            # growth exponent still called linear


@dataclass
class Settings:
    """What a run measures: sizes, repetitions and limits (``--quick`` shrinks them)."""

    quick: bool = False
    w1_n: int = 10_000_000
    samples: int = 5
    min_sample_s: float = 0.2
    cold_processes: int = 5
    chain_steps: tuple = (10, 100, 1000, 3000, 10000)
    chain_timeout_s: float = 300.0
    import_processes: int = 7

    @classmethod
    def make(cls, quick):
        """Full settings, or the ``--quick`` ones."""
        if not quick:
            return cls()
        return cls(quick=True, samples=3, cold_processes=3, chain_steps=(10, 100, 1000))


@dataclass
class Row:
    """One line of the results table."""

    section: str
    case: str
    metric: str
    theon: str = ""
    peers: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""
    note: str = field(default="")


def fmt_ms(seconds):
    """Seconds as a millisecond string with 3 significant figures or more."""
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _verdict(ok):
    """'PASS' or 'MISS'."""
    return "PASS" if ok else "MISS"


def _check_note(name, result):
    """'' for a correct result, else 'NAME MISMATCH (rel err ...)'."""
    if result["ok"]:
        return ""
    return f"{name} MISMATCH (rel err {result['rel_err']:.2g}, dtype {result['out_dtype']})"


# ---------------------------------------------------------------------------------------------
# W1 runtime
# ---------------------------------------------------------------------------------------------

def w1_runtime(settings):
    """W1 at n = 1e7 in float32 and float64: theon against numpy and numexpr."""
    rows, raw = [], {}
    for dtype in ("float32", "float64"):
        case_rows, case_raw = _w1_case(settings, dtype)
        rows += case_rows
        raw[dtype] = case_raw
        gc.collect()
    return rows, raw


def _w1_callables(dtype):
    """The peers' W1 callables by name; numexpr is absent where it is not installed."""
    calls = {"theon": w.w1_theon(dtype), "numpy": w.w1_numpy}
    numexpr_f = w.w1_numexpr(dtype, threads=2)
    if numexpr_f is not None:
        calls["numexpr"] = numexpr_f
    return calls


def _w1_case(settings, dtype):
    """Rows and raw numbers for W1 in one dtype."""
    n = settings.w1_n
    inputs = w.w1_inputs(n, dtype)
    ref = w.w1_reference(inputs)
    nbytes = 4 * n * inputs[0].itemsize
    results = {}
    for name, f in _w1_callables(dtype).items():
        check = w.check(f(*inputs), ref, dtype)
        timed = timing.measure(lambda: f(*inputs), settings.samples, settings.min_sample_s)
        results[name] = {"check": check, "gbps": nbytes / timed["median_s"] / 1e9, **timed}
    del ref
    return _w1_rows(dtype, n, results), results


def _w1_rows(dtype, n, results):
    """The ms row and the GB/s row of one W1 dtype."""
    theon_s = results["theon"]["median_s"]
    peer_names = [p for p in ("numpy", "numexpr") if p in results]
    peers_ms = ", ".join(f"{p} {fmt_ms(results[p]['median_s'])}" for p in peer_names)
    peers_gb = ", ".join(f"{p} {results[p]['gbps']:.2f}" for p in peer_names)
    ratios = {p: results[p]["median_s"] / theon_s for p in peer_names}
    ratio = ", ".join(f"{p}/theon {r:.2f}x" for p, r in ratios.items())
    target = W1_TARGETS[dtype]
    notes = [_check_note(p, r["check"]) for p, r in results.items()]
    if "numexpr" not in results:
        notes.append("numexpr not installed: skipped")
    verdict = _verdict(ratios["numpy"] >= target)
    if not results["theon"]["check"]["ok"]:
        verdict = "MISMATCH"
    case = f"n=1e{round(math.log10(n))} {dtype}" if n == 10 ** round(math.log10(n)) else f"n={n}"
    note = "; ".join(n for n in notes if n)
    note = note or f"theon rel err {results['theon']['check']['rel_err']:.1g}"
    return [Row("W1 runtime", case, "ms/call (median)", fmt_ms(theon_s), peers_ms, ratio,
                f">= {target}x numpy", verdict, note),
            Row("W1 runtime", case, "GB/s (3 in + 1 out)", f"{results['theon']['gbps']:.2f}",
                peers_gb)]


# ---------------------------------------------------------------------------------------------
# W6 call overhead
# ---------------------------------------------------------------------------------------------

def w6_overhead(settings):
    """Call overhead of ``x + 1`` on 10 float64 values, in µs per call."""
    x = w.w6_input()
    calls = {"theon": w.w6_theon(False), "theon trust_input": w.w6_theon(True),
             "numpy": lambda v: v + 1}
    numexpr_f = w.w6_numexpr()
    if numexpr_f is not None:
        calls["numexpr"] = numexpr_f
    raw = {}
    for name, f in calls.items():
        raw[name] = timing.measure(lambda: f(x), settings.samples, settings.min_sample_s)
        raw[name]["check_ok"] = bool((f(x) == x + 1).all())
    peer_names = [p for p in ("numpy", "numexpr") if p in raw]
    peers = ", ".join(f"{p} {raw[p]['median_s'] * 1e6:.2f}" for p in peer_names)
    rows = []
    for name in ("theon", "theon trust_input"):
        us = raw[name]["median_s"] * 1e6
        ratio = f"theon/numpy {us / (raw['numpy']['median_s'] * 1e6):.2f}x"
        verdict = _verdict(us <= W6_TARGET_US) if raw[name]["check_ok"] else "MISMATCH"
        rows.append(Row("W6 overhead", f"x+1, 10 f64, {name}", "µs/call (median)", f"{us:.2f}",
                        peers, ratio, f"<= {W6_TARGET_US} µs", verdict))
    return rows, raw


# ---------------------------------------------------------------------------------------------
# cold compile of W1
# ---------------------------------------------------------------------------------------------

def cold_compile(settings):
    """W1 (n = 1e5, float32) compiled in fresh processes with an empty THEON_CACHE_DIR."""
    peers = ("theon", "numexpr", "numba")
    runs = {p: [] for p in peers}
    # interleave the peers so that a noisy stretch of the machine hits them alike
    for _ in range(settings.cold_processes):
        for peer in peers:
            params = {"peer": peer, "n": 100_000, "dtype": "float32"}
            runs[peer].append(timing.run_child("cold_w1", params, settings.chain_timeout_s))
    return _cold_rows(runs), runs


def _ok_runs(runs):
    """The runs that finished without an error."""
    return [r for r in runs if "error" not in r]


def _cold_rows(runs):
    """The time-to-first-result row, then theon's import and per-stage rows."""
    good = {p: _ok_runs(r) for p, r in runs.items()}
    if not good["theon"]:
        return [Row("Cold compile", "W1 n=1e5 f32", "time to first result", "ERROR",
                    note=runs["theon"][0]["error"])]
    med = timing.median_run(good["theon"], "first_result_s")
    theon_s = med["first_result_s"]
    peer_s = {p: statistics.median(r["first_result_s"] for r in good[p])
              for p in ("numexpr", "numba") if good[p]}
    peers = ", ".join(f"{p} {fmt_ms(s)}" for p, s in peer_s.items())
    notes = [f"{p}: {runs[p][0]['error']}" for p in runs if not good[p]]
    notes += [_check_note(f"{p} run", r["check"]) for p in good for r in good[p]]
    verdict = _verdict(theon_s * 1e3 <= COLD_TARGET_MS)
    if not all(r["check"]["ok"] for r in good["theon"]):
        verdict = "MISMATCH"
    n_proc = len(good["theon"])
    rows = [Row("Cold compile", "W1 n=1e5 f32", f"ms to 1st result (median of {n_proc} procs)",
                fmt_ms(theon_s), peers, f"theon/numba {theon_s / peer_s['numba']:.2f}x"
                if "numba" in peer_s else "", f"<= {COLD_TARGET_MS:.0f} ms", verdict,
                "; ".join(n for n in notes if n) or "imports excluded")]
    return rows + _cold_detail_rows(med, good)


def _cold_detail_rows(med, good):
    """Imports, the build/compile/call split and f.report's stages of the median theon run."""
    sub = "  (median run)"
    import_peers = ", ".join(f"{p} {fmt_ms(statistics.median(r['import_s'] for r in good[p]))}"
                             for p in ("numexpr", "numba") if good[p])
    rows = [Row("", "  import (separate)", "ms", fmt_ms(med["import_s"]), import_peers),
            Row("", sub, "ms graph build / function() / 1st call",
                " / ".join(fmt_ms(med[k]) for k in ("build_s", "compile_s", "first_call_s")),
                note=f"cache {med['cache']}, {med['kernels']} kernel(s), "
                     f"{med['kernels_compiled']} compiled")]
    rows += stage_rows(med)
    return rows


def stage_rows(run):
    """One row per f.report stage of ``run``, plus the part of total_s no stage accounts for."""
    stages = dict(run["stages_s"])
    stages["(unattributed)"] = run["report_total_s"] - sum(stages.values())
    rows = [Row("", f"    f.report {name}", "ms", fmt_ms(s)) for name, s in stages.items()]
    rows.append(Row("", "    f.report total_s", "ms", fmt_ms(run["report_total_s"])))
    return rows


def stages_note(run):
    """f.report's stages of ``run`` as one 'stage ms | ...' string."""
    return " | ".join(f"{k} {fmt_ms(s)}" for k, s in run["stages_s"].items())


# ---------------------------------------------------------------------------------------------
# chain compile
# ---------------------------------------------------------------------------------------------

def chain_compile(settings):
    """Cold compile of the N-step chain, one fresh process per N, against graph size."""
    rows, raw, done = [], {}, []
    for steps in settings.chain_steps:
        skip = _chain_skip_reason(done, steps, settings.chain_timeout_s)
        result = {"error": skip, "skipped": True} if skip else timing.run_child(
            "chain", {"steps": steps, "n": 1000}, settings.chain_timeout_s)
        raw[str(steps)] = result
        rows += _chain_rows(steps, result, done)
        if "error" not in result:
            done.append((steps, result["first_result_s"]))
    rows.append(_growth_row(done))
    return rows, raw


def _chain_skip_reason(done, steps, timeout_s):
    """Why N = ``steps`` is not started (linear extrapolation passes the timeout), or None."""
    if not done:
        return None
    prev_steps, prev_s = done[-1]
    predicted = prev_s * steps / prev_steps
    if predicted <= timeout_s:
        return None
    return (f"not started: N={prev_steps} took {prev_s:.1f} s, so even linear growth "
            f"predicts {predicted:.0f} s > timeout {timeout_s:.0f} s")


def _chain_rows(steps, result, done):
    """The row of one chain length, and its f.report stage row."""
    nodes = steps * w.NODES_PER_STEP
    case = f"N={steps} ({nodes} nodes)"
    target_n, target_ms = CHAIN_TARGET
    target = f"<= {target_ms:.0f} ms" if steps == target_n else ""
    if "error" in result:
        verdict = "MISS" if target or result.get("timeout") else ""
        label = "SKIPPED" if result.get("skipped") else "TIMEOUT" if result.get(
            "timeout") else "ERROR"
        return [Row("Chain compile", case, "ms to 1st result", label, target=target,
                    verdict=verdict, note=result["error"])]
    total = result["first_result_s"]
    ratio = f"{total * 1e3 / nodes * 1000:.0f} ms/1k nodes"
    if done:
        prev_steps, prev_s = done[-1]
        ratio += f", exponent {math.log(total / prev_s) / math.log(steps / prev_steps):.2f}"
    verdict = _verdict(total * 1e3 <= target_ms) if target else ""
    if not result["check"]["ok"]:
        verdict = "MISMATCH"
    split = " / ".join(fmt_ms(result[k]) for k in ("build_s", "compile_s", "first_call_s"))
    note = (f"build/function()/1st call {split} ms; {result['kernels']} kernel(s); "
            + (_check_note("theon", result["check"]) or "check ok"))
    return [Row("Chain compile", case, "ms to 1st result", fmt_ms(total),
                f"numpy loop {fmt_ms(result['numpy_loop_s'])}", ratio, target, verdict, note),
            Row("", "  f.report stages", "ms", note=stages_note(result))]


def _growth_row(done):
    """Growth exponent of time against nodes between the two largest finished chains."""
    target = f"linear (exponent <= {LINEAR_EXPONENT})"
    if len(done) < 2:
        return Row("Chain compile", "growth", "exponent", "n/a", target=target)
    (n1, t1), (n2, t2) = done[-2], done[-1]
    exponent = math.log(t2 / t1) / math.log(n2 / n1)
    per_node = f"ms/1k nodes {t1 * 1e3 / n1 * 200:.0f} -> {t2 * 1e3 / n2 * 200:.0f}"
    return Row("Chain compile", f"growth N={n1} -> {n2}", "exponent (1 = linear)",
               f"{exponent:.2f}", ratio=per_node, target=target,
               verdict=_verdict(exponent <= LINEAR_EXPONENT))


# ---------------------------------------------------------------------------------------------
# import time
# ---------------------------------------------------------------------------------------------

IMPORTS = {"theon": "import theon", "numpy": "import numpy", "numexpr": "import numexpr",
           "python": "pass"}


def import_time(settings):
    """Wall time of ``python3 -c "import X"`` in fresh processes (interpreter start included)."""
    raw = {}
    for _ in range(settings.import_processes):
        # interleaved, one process at a time, so that all see the same machine
        for name, code in IMPORTS.items():
            result = timing.process_wall_time(code, 1)
            raw.setdefault(name, []).append(result.get("median_s", float("nan")))
    med = {name: statistics.median(ts) for name, ts in raw.items()}
    peers = ", ".join(f"{'python -c pass' if p == 'python' else p} {fmt_ms(med[p])}"
                      for p in ("numpy", "numexpr", "python"))
    ratio = f"theon - numpy {fmt_ms(med['theon'] - med['numpy'])} ms"
    theon_ms = med["theon"] * 1e3
    row = Row("Import", 'python3 -c "import theon"',
              f"ms wall (median of {settings.import_processes} procs)", fmt_ms(med["theon"]),
              peers, ratio, f"<= {IMPORT_TARGET_MS:.0f} ms", _verdict(theon_ms <= IMPORT_TARGET_MS),
              "includes interpreter start and numpy")
    return [row], {"samples_s": raw, "median_s": med}
