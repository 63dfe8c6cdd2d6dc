"""Named stage timers shared by the compiler's stages."""
import time


class Stopwatch:
    """Accumulates named stage times: ``with watch("llvm"): ...``."""

    def __init__(self):
        self.stages = {}

    def __call__(self, stage):
        return _Timed(self.stages, stage)


class _Timed:
    def __init__(self, stages, stage):
        self.stages, self.stage = stages, stage

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.start
        self.stages[self.stage] = self.stages.get(self.stage, 0.0) + elapsed
