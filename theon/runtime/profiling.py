"""Where a compiled function spends its time: ``theon.function(..., profile=True)``.

A profiled function runs through :class:`ProfilingRunner`, which times every top-level
step of the schedule with ``time.perf_counter_ns`` and counts the bytes it reads and
writes; :class:`ProfileStats` (``f.profile``) holds the counts and prints Theano's kind of
table.  Functions compiled without profiling keep the plain call path and pay nothing.
"""
import time

from .stepwise import StepwiseRunner, output_slots, step_kind, step_label


class StepProfile:
    """What one schedule step cost, summed over the calls since the last reset.

    Attributes
    ----------
    index : int
        The step's position in ``f.schedule.steps``.
    label : str
        The kernel's or the op's ``describe()``: ``'kernel[exp, mul]'``, ``'dot'``,
        ``"scan 'rnn'"``.
    kind : {'kernel', 'host', 'loop', 'branch'}
    calls : int
        Times the step ran.
    nanoseconds : int
        Total time in the step.
    bytes : int
        Total bytes of the arrays the step read and wrote (each array counted at its
        ``nbytes``: a broadcast input at its logical size, an in-place update once read and
        once written).
    """

    __slots__ = ("index", "label", "kind", "calls", "nanoseconds", "bytes")

    def __init__(self, index, label, kind):
        self.index = index
        self.label = label
        self.kind = kind
        self.calls = 0
        self.nanoseconds = 0
        self.bytes = 0

    @property
    def seconds(self):
        """Total time in the step, in seconds (float)."""
        return self.nanoseconds * 1e-9

    @property
    def gigabytes_per_second(self):
        """Bytes moved per second of the step's time, in GB/s (1e9 bytes); None before it
        has run."""
        if self.nanoseconds == 0:
            return None
        return self.bytes / self.nanoseconds

    def __repr__(self):
        return (f"StepProfile(index={self.index}, label={self.label!r}, kind={self.kind!r}, "
                f"calls={self.calls}, seconds={self.seconds:.3e}, bytes={self.bytes})")


class ProfileStats:
    """The profile of one compiled function: ``f.profile``.

    Loops (``scan``) and conditionals (``ifelse``) count as one step each: the time of a
    loop step is that of all its iterations, body included.

    Parameters
    ----------
    schedule : Schedule
        The function's compiled schedule (one record per step).
    name : str, optional
        The function's name, shown by ``summary()``.

    Attributes
    ----------
    steps : list of StepProfile
        One record per top-level schedule step, in schedule order.
    calls : int
        Calls of the function (those that raised included).
    nanoseconds : int
        Time inside the function's calls, argument checks and shared-variable updates
        included.
    """

    def __init__(self, schedule, name=None):
        self.name = name
        self.steps = [StepProfile(index, step_label(step), step_kind(step))
                      for index, step in enumerate(schedule.steps)]
        self.calls = 0
        self.nanoseconds = 0

    @property
    def total_seconds(self):
        """Wall time inside the function's calls, in seconds."""
        return self.nanoseconds * 1e-9

    @property
    def step_seconds(self):
        """Time in the steps, summed, in seconds."""
        return sum(record.nanoseconds for record in self.steps) * 1e-9

    @property
    def overhead_seconds(self):
        """Time in the function outside its steps: argument checks and conversion, output
        copies, shared-variable updates, and this profiler's own counting."""
        return max(0, self.nanoseconds - sum(r.nanoseconds for r in self.steps)) * 1e-9

    def reset(self):
        """Set every count and time back to zero."""
        self.calls = 0
        self.nanoseconds = 0
        for record in self.steps:
            record.calls = 0
            record.nanoseconds = 0
            record.bytes = 0

    def timed(self, call):
        """``call`` counted and timed as one call of the function."""
        clock = time.perf_counter_ns

        def timed_call(*args):
            start = clock()
            try:
                return call(*args)
            finally:
                self.calls += 1
                self.nanoseconds += clock() - start

        return timed_call

    def summary(self):
        """A table of the steps, the slowest first: share of the function's time,
        cumulative share, seconds, calls, seconds per call, bytes per call, GB/s and the
        step; then a line for the time outside the steps (the call overhead).

        Returns
        -------
        str
        """
        title = f"Function profile: {self.name!r}" if self.name else "Function profile"
        lines = [title, "=" * len(title)]
        if self.calls == 0:
            lines.append("  no calls yet")
            return "\n".join(lines)
        total = self.nanoseconds
        lines.append(f"  {self.calls} call{'s' if self.calls != 1 else ''}, "
                     f"{total * 1e-9:.6f} s in the function, "
                     f"{total * 1e-9 / self.calls:.3e} s per call, "
                     f"{self.step_seconds:.6f} s in {len(self.steps)} "
                     f"step{'s' if len(self.steps) != 1 else ''}")
        lines.append(f"  {'% time':>7} {'cum %':>7} {'seconds':>10} {'calls':>7} "
                     f"{'s/call':>10} {'bytes/call':>11} {'GB/s':>8}  step  label")
        cumulative = 0
        for record in sorted(self.steps, key=lambda r: (-r.nanoseconds, r.index)):
            cumulative += record.nanoseconds
            lines.append(_row(record.nanoseconds, cumulative, total, record.calls,
                              record.bytes, f"#{record.index:<4} {record.label} "
                                            f"({record.kind})"))
        overhead = max(0, total - cumulative)
        cumulative += overhead
        lines.append(_row(overhead, cumulative, total, self.calls, None,
                          "      call overhead (argument checks, output copies, shared "
                          "variable updates, profiling)"))
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self):
        return (f"<ProfileStats {self.name or 'function'}: {self.calls} calls, "
                f"{self.total_seconds:.3e} s, {len(self.steps)} steps>")


def _row(nanoseconds, cumulative, total, calls, moved, text):
    """One line of the summary table (``moved`` None: no traffic column)."""
    share = 100.0 * nanoseconds / total if total else 0.0
    running = 100.0 * cumulative / total if total else 0.0
    if calls:
        per_call = f"{nanoseconds * 1e-9 / calls:10.3e}"
        per_call_bytes = "-" if moved is None else str(moved // calls)
    else:
        per_call, per_call_bytes = "-", "-"
    rate = "-" if moved is None or nanoseconds == 0 else f"{moved / nanoseconds:.3f}"
    return (f"  {share:6.1f}% {running:6.1f}% {nanoseconds * 1e-9:10.3e} {calls:7d} "
            f"{per_call:>10} {per_call_bytes:>11} {rate:>8}  {text}")


class ProfilingRunner(StepwiseRunner):
    """Runs a function's steps, timing each one into ``stats``.

    Parameters
    ----------
    executable : Executable
    stats : ProfileStats
        Built from the same schedule.
    """

    def __init__(self, executable, stats):
        super().__init__(executable)
        self.stats = stats
        # the slots each step reads or writes, each once (a kernel may read a slot twice)
        self.traffic = tuple(tuple(dict.fromkeys(call.inputs + output_slots(call)))
                             for call, _ in executable.plan)

    def run_step(self, index, call, values):
        """Run the step, adding its time, one call and its bytes to its record."""
        clock = time.perf_counter_ns
        start = clock()
        call.run(values)
        elapsed = clock() - start
        record = self.stats.steps[index]
        record.calls += 1
        record.nanoseconds += elapsed
        moved = 0
        for slot in self.traffic[index]:
            moved += getattr(values[slot], "nbytes", 0)
        record.bytes += moved
