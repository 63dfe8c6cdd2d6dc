"""Run theon's benchmark suite and print one table.

Usage::

    python3 benchmarks/run.py [--quick] [--only W1,W6,cold,chain,import,W2,linalg,train,cnn,scan,custom] [--json PATH]

Every section measures theon and its peers (numpy, numexpr, numba) in the same run on this
machine and prints medians and ratios; targets are shown with PASS or MISS, never asserted.
See benchmarks/README.md.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import (cnn, custom_ops, rnn, sections, tensor_sections, timing,  # noqa: E402
                        training)

SECTIONS = {"W1": sections.w1_runtime, "W6": sections.w6_overhead,
            "cold": sections.cold_compile, "chain": sections.chain_compile,
            "import": sections.import_time, "W2": tensor_sections.w2_reductions,
            "linalg": tensor_sections.linalg, "train": training.training, "cnn": cnn.lenet,
            "scan": rnn.rnn, "custom": custom_ops.custom_ops}
COLUMNS = [("section", "Section"), ("case", "Case"), ("metric", "Metric"), ("theon", "theon"),
           ("peers", "Peers (same run)"), ("ratio", "Ratio"), ("target", "Target"),
           ("verdict", "Verdict"), ("note", "Notes")]


def parse_args(argv):
    """The command line: --quick, --only, --json, --theon-path, --chain-timeout."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer samples and processes; chain N <= 1000")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated sections among " + ", ".join(SECTIONS))
    parser.add_argument("--json", metavar="PATH", help="also write every number as JSON")
    parser.add_argument("--theon-path", metavar="DIR",
                        help="benchmark the theon package in DIR instead of this checkout's")
    parser.add_argument("--chain-timeout", type=float, default=300.0,
                        help="seconds allowed to one chain (or cold-compile) process")
    args = parser.parse_args(argv)
    lookup = {name.lower(): name for name in SECTIONS}
    wanted = [s.strip().lower() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in lookup]
    if unknown:
        parser.error(f"--only: unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    args.only = [lookup[s] for s in wanted]
    return args


def _version(module):
    """``module.__version__``, or 'not installed'."""
    try:
        return __import__(module).__version__
    except ImportError:
        return "not installed"


def environment():
    """Machine, versions and theon settings of this run (JSON-safe)."""
    import theon
    git = subprocess.run(["git", "-C", timing.REPO_ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return {"theon_path": os.path.dirname(os.path.dirname(theon.__file__)),
            "machine": f"{_cpu_model()}, {os.cpu_count()} CPUs, {platform.machine()}",
            "python": platform.python_version(),
            "versions": {m: _version(m) for m in ("numpy", "numexpr", "llvmlite", "numba")},
            "theon": f"{theon.__version__} ({git or 'no git'})",
            "theon_num_threads": theon.config.num_threads,
            "THEON_NUM_THREADS": os.environ.get("THEON_NUM_THREADS", ""),
            "loadavg_1min": os.getloadavg()[0]}


def _cpu_model():
    """The CPU's model name from /proc/cpuinfo, else platform's guess."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def render(rows):
    """The rows as one aligned text table (Notes left unpadded, as the last column)."""
    cells = [[label for _, label in COLUMNS]]
    cells += [[str(getattr(row, key)) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS) - 1)]
    lines = []
    for index, line in enumerate(cells):
        padded = [cell.ljust(width) for cell, width in zip(line, widths)]
        lines.append(" | ".join(padded + [line[-1]]).rstrip())
        if index == 0:
            lines.append("-+-".join("-" * width for width in widths) + "-+-" + "-" * 5)
    return "\n".join(lines)


def run_sections(names, settings):
    """Run each named section; rows, raw results and CPU-busy share per section."""
    rows, raw, busy = [], {}, {}
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        meter = timing.CpuBusy()
        meter.start()
        start = time.perf_counter()
        section_rows, raw[name] = SECTIONS[name](settings)
        busy[name] = {"cpu_busy": meter.stop(), "elapsed_s": time.perf_counter() - start}
        rows += section_rows
    return rows, raw, busy


def main(argv=None):
    """Run the suite; print the table and optionally write JSON."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.theon_path:
        timing.EXTRA_PATH.insert(0, os.path.abspath(args.theon_path))
        sys.path.insert(0, os.path.abspath(args.theon_path))
    settings = sections.Settings.make(args.quick)
    settings.chain_timeout_s = args.chain_timeout
    env = environment()
    rows, raw, busy = run_sections(args.only, settings)
    print(f"theon benchmarks ({'quick' if args.quick else 'full'}): {env['machine']}; "
          f"Python {env['python']}; theon {env['theon']} from {env['theon_path']}, num_threads "
          f"{env['theon_num_threads']}; " + ", ".join(f"{k} {v}" for k, v in
                                                      env["versions"].items()))
    print(render(rows))
    print("CPU busy during each section (all processes, 1.0 = every core): " + ", ".join(
        f"{k} {v['cpu_busy']:.2f} ({v['elapsed_s']:.0f} s)" for k, v in busy.items()
        if v["cpu_busy"] is not None))
    if args.json:
        payload = {"environment": env, "settings": vars(settings), "busy": busy,
                   "rows": [vars(row) for row in rows], "raw": raw}
        with open(args.json, "w") as out:
            json.dump(payload, out, indent=1, default=str)
        print(f"JSON written to {args.json}")


if __name__ == "__main__":
    main()
