"""Per-step times of a profiled function, as the drawings show them."""
from dataclasses import dataclass

from .style import format_bytes, format_seconds


@dataclass(frozen=True)
class StepTiming:
    """What one top-level step of a profiled function cost, over all its calls."""

    seconds: float
    share: float      # of the time of all steps, 0..1
    calls: int
    bytes: int

    def label(self):
        """One line for a label: total time and share."""
        return f"{format_seconds(self.seconds)} ({self.share * 100:.1f}%)"

    def details(self):
        """Tooltip rows."""
        rows = {"time": format_seconds(self.seconds), "share": f"{self.share * 100:.1f}%",
                "calls": str(self.calls)}
        if self.calls:
            rows["time per call"] = format_seconds(self.seconds / self.calls)
        rows["bytes"] = format_bytes(self.bytes)
        if self.seconds > 0 and self.bytes:
            rows["bandwidth"] = f"{self.bytes / self.seconds / 1e9:.3g} GB/s"
        return rows


def step_timings(profile):
    """{step index: StepTiming} from a function's ``profile`` (None: no times).

    ``profile.steps`` holds one record per top-level step with ``index``, ``calls``,
    ``seconds`` (total) and ``bytes`` (read and written, total).
    """
    if profile is None:
        return {}
    records = list(profile.steps)
    total = sum(record.seconds for record in records)
    return {record.index: StepTiming(record.seconds,
                                     record.seconds / total if total > 0 else 0.0,
                                     record.calls, record.bytes)
            for record in records}
