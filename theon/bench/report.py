"""Text output of ``theon bench compile``: the table of medians and theon's stage breakdown."""

SHORT_STATUS = {"n/a": "n/a", "timeout": "timeout", "error": "error",
                "not installed": "not installed"}


class Progress:
    """One overwritten status line on a terminal; silent when output is not a terminal."""

    def __init__(self, out):
        self._out = out
        self._tty = hasattr(out, "isatty") and out.isatty()

    def __call__(self, text):
        if self._tty:
            self._out.write("\r\033[K  running: " + text)
            self._out.flush()

    def clear(self):
        """Erase the status line."""
        if self._tty:
            self._out.write("\r\033[K")
            self._out.flush()


def render(results):
    """The whole report as text: header, table, notes and stage breakdown."""
    settings = results["settings"]
    lines = [f"theon bench compile: time to first result (graph construction + compile + "
             f"first call), median ms over {settings['repeat']} cold and "
             f"{settings['repeat']} warm processes; 'rebuilt' = graph built again and "
             f"compiled in the warm process; every first result checked against numpy"]
    lines.append("import (fresh process, not included below): " + "; ".join(
        f"{peer} {_import_cell(entry)}" for peer, entry in results["import"].items()))
    lines.append("")
    lines += _table(results)
    lines.append("")
    lines += _stages(results)
    return "\n".join(lines)


def _import_cell(entry):
    if entry.get("status") == "ok":
        return f"{entry['median_ms']:.1f} ms"
    return entry.get("error") or entry["status"]


def _table(results):
    """Rows graph x regime: theon ms, then each peer's ms and peer/theon."""
    peers = [p for p in results["import"] if p != "theon"]
    header = [f"{'graph':<12}", f"{'regime':<8}", f"{'theon ms':>10}"]
    for peer in peers:
        header += [f"{peer + ' ms':>14}", f"{peer + '/theon':>14}"]
    lines = ["  ".join(header)]
    notes = []
    for name, graph in results["graphs"].items():
        entries = graph["peers"]
        if not any(e.get("status") == "ok" for e in entries.values()):
            lines.append(_failed_row(name, entries, peers))
            continue
        for regime in ("cold", "warm", "rebuilt"):
            lines.append(_regime_row(name, regime, entries, peers))
            notes += _mismatch_notes(name, regime, entries)
        notes += [f"{name}: {peer}: {_status_text(e)}" for peer, e in entries.items()
                  if e.get("status") not in ("ok", "not installed")]
        notes += [f"{name}: {peer}: {note}" for peer, e in entries.items()
                  for note in e.get("notes", [])]
    if notes:
        lines += [""] + notes
    return lines


def _failed_row(name, entries, peers):
    """One line for a graph nobody could run: the reason for each implementation."""
    parts = [f"theon {_status_text(entries['theon'])}"]
    parts += [f"{peer} {_status_text(entries[peer])}" for peer in peers]
    return f"{name:<12}  {'-':<8}  " + "; ".join(parts)


def _regime_row(name, regime, entries, peers):
    theon_ms = _ms(entries["theon"], regime)
    cells = [f"{name if regime == 'cold' else '':<12}", f"{regime:<8}",
             f"{_cell(entries['theon'], regime):>10}"]
    for peer in peers:
        peer_ms = _ms(entries[peer], regime)
        ratio = f"{peer_ms / theon_ms:.2f}x" if peer_ms and theon_ms else ""
        cells += [f"{_cell(entries[peer], regime):>14}", f"{ratio:>14}"]
    return "  ".join(cells).rstrip()


def _ms(entry, regime):
    """Median ms of ``regime``, or None when it did not run."""
    summary = entry.get("regimes", {}).get(regime)
    return summary["median_ms"] if summary else None


def _cell(entry, regime):
    summary = entry.get("regimes", {}).get(regime)
    if summary is None:
        return SHORT_STATUS.get(entry.get("status"), entry.get("status", "?"))
    flag = "" if summary["matches_numpy"] else " MISMATCH"
    return f"{summary['median_ms']:.1f}{flag}"


def _status_text(entry):
    """``n/a (needs T.dot)``, ``timeout``, ``error: <first line>`` or ``not installed``."""
    status = entry.get("status")
    if status == "n/a":
        return f"n/a ({entry.get('reason', '')})"
    if status == "timeout":
        return "timeout"
    if status == "error":
        return f"error: {entry.get('error', '')}"
    return status


def _mismatch_notes(name, regime, entries):
    notes = []
    for peer, entry in entries.items():
        summary = entry.get("regimes", {}).get(regime)
        if summary and not summary["matches_numpy"]:
            check = summary["median_run"]["check"]
            notes.append(f"{name}: {peer} {regime}: first result differs from numpy "
                         f"(max rel err {summary['max_rel_err']}, tol {check.get('tol')})")
    return notes


def _stages(results):
    """theon's compile report of each median run: cache outcome, kernels and stages."""
    lines = ["theon's median runs (ms): construct = graph construction, then "
             "theon.function's stages from f.report, then the first call"]
    for name, graph in results["graphs"].items():
        for regime, summary in graph["peers"]["theon"].get("regimes", {}).items():
            run = summary["median_run"]
            lines.append(f"  {name} {regime}: {_kernels(run)}; construct "
                         f"{run['construct_s'] * 1e3:.2f} + function "
                         f"{run['compile_s'] * 1e3:.2f} + call {run['call_s'] * 1e3:.2f}")
            stages = "  ".join(f"{stage} {seconds * 1e3:.2f}"
                               for stage, seconds in run.get("stages_s", {}).items())
            lines.append(f"      {stages}")
    return lines


def _kernels(run):
    compiled = run.get("kernels_compiled")
    cached = run.get("kernels_cached")
    text = f"cache {run.get('cache', '?')}, {run.get('kernels', '?')} kernel(s)"
    if compiled is not None:
        text += f": {compiled} compiled"
        text += f", {cached} cached" if cached is not None else ""
    return text
