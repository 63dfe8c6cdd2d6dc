"""``theon bench compile``: compile time of a fixed graph suite, cold, warm and rebuilt.

For each graph and each implementation (theon, and PyTensor and JAX where importable) it runs
``--repeat`` pairs of fresh processes.  The first of a pair gets a new empty cache directory
(**cold**); the second reuses the directory the first filled (**warm**: theon's disk cache),
and then builds the graph again from new variables and compiles it once more (**rebuilt**:
what re-running a notebook cell does, an in-memory hit).  Each figure is the time from graph
construction to the first result, checked against numpy; imports are timed on their own.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys

from . import graphs, report, runner

PEERS = ("pytensor", "jax")
REGIMES = ("cold", "warm", "rebuilt")
# a graph whose first cold run takes longer than this gets one cold and one warm process
SLOW_S = 60.0


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="theon bench compile",
        description="Compile-time benchmark: cold, warm disk cache and rebuilt graph, each "
                    "in fresh processes; median ms and theon's per-stage breakdown.")
    parser.add_argument("--quick", action="store_true",
                        help=f"chains up to {graphs.QUICK_MAX_STEPS} steps only")
    parser.add_argument("--graphs", help="comma-separated names (default: the whole suite): "
                        + ",".join(graphs.SUITE))
    parser.add_argument("--repeat", type=int, default=5,
                        help="cold and warm processes per graph and implementation (default 5)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before a child process is killed (default 300)")
    parser.add_argument("--json", metavar="PATH", help="also write every result as JSON")
    parser.add_argument("--peers", default="auto",
                        help="auto (those importable here), none, or a list: pytensor,jax")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.graph_names = _graph_names(parser, args)
    args.peer_names = _peer_names(parser, args.peers)
    return args


def _graph_names(parser, args):
    """The graphs to run, in suite order."""
    if not args.graphs:
        return graphs.default_graphs(args.quick)
    names = [n.strip() for n in args.graphs.split(",") if n.strip()]
    unknown = [n for n in names if n not in graphs.SUITE]
    if unknown:
        parser.error(f"--graphs: unknown graph(s) {', '.join(unknown)}; expected some of "
                     + ", ".join(graphs.SUITE))
    return names


def _peer_names(parser, text):
    """The peers to show beside theon (installed or not)."""
    if text == "none":
        return []
    if text == "auto":
        return list(PEERS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        parser.error(f"--peers: unknown peer(s) {', '.join(unknown)}; expected auto, none or "
                     f"some of {', '.join(PEERS)}")
    return names


def measure_peer(peer, graph, repeat, timeout_s, progress):
    """Every cold/warm process pair of one graph with one implementation, summarised.

    Returns
    -------
    dict
        ``status`` ('ok', 'n/a', 'timeout', 'error'), ``reason`` or ``error`` when not ok,
        ``regimes`` (regime -> summary, see :func:`summarise`) and ``runs`` (raw results).
    """
    runs = {regime: [] for regime in REGIMES}
    import_s = []
    entry = {"status": "ok", "runs": runs, "notes": []}
    pairs = repeat
    done = 0
    while done < pairs:
        progress(f"{graph} {peer} {done + 1}/{pairs}")
        cold, warm = runner.run_pair(peer, graph, timeout_s)
        failed = cold if warm is None else warm
        if failed.get("status") != "ok":
            entry.update(_failure(failed, "cold" if warm is None else "warm"))
            break
        runs["cold"].append(cold["cold"])
        runs["warm"].append(warm["warm"])
        runs["rebuilt"].append(warm["rebuilt"])
        import_s += [cold["import_s"], warm["import_s"]]
        if done == 0 and pairs > 1 and cold["cold"]["first_result_s"] > SLOW_S:
            pairs = 1
            entry["notes"].append(f"first cold run over {SLOW_S:g} s: one process pair only")
        done += 1
    entry["regimes"] = {r: summarise(runs[r]) for r in REGIMES if runs[r]}
    if import_s:
        entry["import_ms_in_child"] = statistics.median(import_s) * 1e3
    return entry


def _failure(result, regime):
    """The status fields of a peer whose ``regime`` process did not succeed."""
    status = result.get("status", "error")
    if status == "n/a":
        return {"status": "n/a", "reason": result.get("reason", "")}
    return {"status": status, "error": result.get("error", ""), "failed_regime": regime}


def summarise(runs):
    """Median of one regime's runs and the run behind it.

    Returns
    -------
    dict
        ``median_ms``, ``samples_ms``, ``checked_against_numpy`` (every run's first result
        was compared with numpy), ``matches_numpy`` (all within tolerance), ``max_rel_err``
        and ``median_run`` (the lower-median run, with theon's compile report).
    """
    ordered = sorted(runs, key=lambda run: run["first_result_s"])
    checks = [run["check"] for run in runs]
    errors = [c["max_rel_err"] for c in checks if "max_rel_err" in c]
    return {"median_ms": statistics.median(r["first_result_s"] for r in runs) * 1e3,
            "samples_ms": [r["first_result_s"] * 1e3 for r in runs],
            "checked_against_numpy": True,
            "matches_numpy": all(c["ok"] for c in checks),
            "max_rel_err": max(errors) if errors else None,
            "median_run": ordered[(len(ordered) - 1) // 2]}


def run(args, out=sys.stdout):
    """Run the benchmark described by parsed ``args``; the results as a JSON-safe dict."""
    peers = ["theon"] + args.peer_names
    available = {p: runner.installed(p) for p in peers}
    results = {"command": "theon bench compile", "date": datetime.date.today().isoformat(),
               "settings": {"quick": args.quick, "repeat": args.repeat,
                            "timeout_s": args.timeout, "graphs": args.graph_names,
                            "peers": args.peer_names},
               "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "platform": platform.platform()},
               "import": {}, "graphs": {}}
    progress = report.Progress(out)
    for peer in peers:
        progress(f"import {peer}")
        results["import"][peer] = (runner.import_time(peer, args.repeat, args.timeout)
                                   if available[peer] else {"status": "not installed"})
    for name in args.graph_names:
        entry = {"params": graphs.SUITE[name].make_case().params, "peers": {}}
        for peer in peers:
            entry["peers"][peer] = (
                measure_peer(peer, name, args.repeat, args.timeout, progress)
                if available[peer] else {"status": "not installed"})
        results["graphs"][name] = entry
    progress.clear()
    return results


def main(argv):
    """``theon bench compile [options]``; returns the exit status.

    Parameters
    ----------
    argv : list of str
        Arguments after ``theon bench``, e.g. ``["compile", "--quick"]``.

    Returns
    -------
    int
        0 when the suite ran (rows may still say n/a, timeout or error), 2 on bad usage.
    """
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: theon bench compile [--quick] [--graphs a,b] [--repeat R] "
              "[--timeout S] [--json PATH] [--peers auto|none|pytensor,jax]")
        return 0 if argv else 2
    if argv[0] != "compile":
        print(f"theon bench: unknown benchmark {argv[0]!r}; expected 'compile'",
              file=sys.stderr)
        return 2
    try:
        args = _parse(argv[1:])
    except SystemExit as exc:  # argparse exits on --help and on errors
        return int(exc.code or 0)
    results = run(args)
    print(report.render(results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
        print(f"\nresults written to {args.json}")
    return 0
