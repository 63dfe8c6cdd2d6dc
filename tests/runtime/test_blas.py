"""Small matrix products run on one BLAS thread while the machine is loaded; the library's
own count is given back."""
import os

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.runtime import blas


class _RecordingController:
    """Stands for threadpoolctl's controller of a BLAS library with ``threads`` threads."""

    def __init__(self, threads):
        self.threads = threads
        self.calls = []

    def get_num_threads(self):
        return self.threads

    def set_num_threads(self, count):
        self.calls.append(count)
        self.threads = count


class _Load:
    """Stands for ``blas.MachineLoad`` with a fixed verdict."""

    def __init__(self, loaded):
        self.loaded = loaded

    def is_loaded(self):
        return self.loaded


@pytest.fixture
def controller(monkeypatch):
    fake = _RecordingController(4)
    monkeypatch.setattr(blas, "_controllers", (fake,))
    monkeypatch.setattr(blas, "_machine", _Load(True))
    return fake


def _product(shape_a, shape_b):
    a, b = T.matrix("a", dtype="float64"), T.matrix("b", dtype="float64")
    f = theon.function([a, b], T.dot(a, b))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    return f, x, y


def test_small_product_runs_on_one_thread_and_restores_the_count(controller):
    f, x, y = _product((30, 40), (40, 20))
    np.testing.assert_allclose(f(x, y), x @ y, rtol=1e-12)
    assert controller.calls == [1, 4]
    assert controller.threads == 4


def test_on_an_idle_machine_small_products_keep_the_threads(controller, monkeypatch):
    monkeypatch.setattr(blas, "_machine", _Load(False))
    f, x, y = _product((30, 40), (40, 20))
    np.testing.assert_allclose(f(x, y), x @ y, rtol=1e-12)
    assert controller.calls == []


def _stat_line(busy_jiffies):
    # user nice system idle iowait irq softirq steal
    return f"cpu  {busy_jiffies} 0 0 500000 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n"


@pytest.mark.parametrize("others_jiffies, loaded", [(200, True), (10, False)])
def test_machine_load_counts_other_processes_busy_time(tmp_path, others_jiffies, loaded):
    """Over a 1 s window, 200 jiffies of others' CPU (2 cores at 100 Hz) is loaded; 10
    jiffies (0.1 core) is not.  This process's own CPU time is subtracted."""
    stat = tmp_path / "stat"
    stat.write_text(_stat_line(10_000))
    load = blas.MachineLoad(str(stat))
    load.tick, load.previous = 100, None
    load._measure(now=50.0)
    assert load.loaded  # no window measured yet: loaded, to be safe
    stat.write_text(_stat_line(10_000 + others_jiffies))
    load._measure(now=51.0)
    assert load.loaded is loaded


def test_the_first_window_starts_when_made_and_is_short(tmp_path, monkeypatch):
    """theon's import starts the first window: a short run's products need not wait
    SAMPLE_S for a verdict, only FIRST_SAMPLE_S; later windows are SAMPLE_S long."""
    stat = tmp_path / "stat"
    stat.write_text(_stat_line(10_000))
    clock = [100.0]
    monkeypatch.setattr(blas.time, "monotonic", lambda: clock[0])
    load = blas.MachineLoad(str(stat))
    load.tick, load.previous = 100, None
    load._measure(now=clock[0])  # (the window the constructor starts, at 100 Hz)
    clock[0] += blas.FIRST_SAMPLE_S / 2
    assert load.is_loaded() and not load.measured  # not over yet: loaded, to be safe
    clock[0] += blas.FIRST_SAMPLE_S / 2
    stat.write_text(_stat_line(10_001))  # 10 ms of others' CPU over 50 ms: 0.2 core
    assert not load.is_loaded() and load.measured
    stat.write_text(_stat_line(10_101))  # a full core from here on
    clock[0] += blas.FIRST_SAMPLE_S
    assert not load.is_loaded()  # the next window is SAMPLE_S long: not over yet
    clock[0] += blas.SAMPLE_S
    assert load.is_loaded()


def test_machine_load_without_proc_stat_stays_loaded(tmp_path):
    load = blas.MachineLoad(str(tmp_path / "missing"))
    assert load.is_loaded() and load.is_loaded()


def test_large_product_leaves_the_thread_count_alone(controller, monkeypatch):
    monkeypatch.setattr(blas, "SERIAL_BELOW", 30 * 40 * 20)
    f, x, y = _product((30, 40), (40, 20))
    np.testing.assert_allclose(f(x, y), x @ y, rtol=1e-12)
    assert controller.calls == []


def test_single_threaded_library_is_not_touched(monkeypatch):
    fake = _RecordingController(1)
    monkeypatch.setattr(blas, "_controllers", (fake,))
    monkeypatch.setattr(blas, "_machine", _Load(True))
    f, x, y = _product((5, 6), (6, 7))
    f(x, y)
    assert fake.calls == []


@pytest.mark.parametrize("op, shapes, expected", [
    ("dot", [(7, 5), (5, 3)], 7 * 5 * 3),
    ("dot", [(2, 7, 5), (5,)], 2 * 7 * 5),
    ("matmul", [(4, 7, 5), (5, 3)], 4 * 7 * 5 * 3),
    ("matmul", [(5,), (4, 5, 3)], 4 * 5 * 3),
    ("tensordot", [(2, 3, 4), (3, 4, 6)], 2 * 3 * 4 * 6),
    ("batched_dot", [(4, 7, 5), (4, 5, 3)], 4 * 7 * 5 * 3),
])
def test_multiply_adds_count_the_products(op, shapes, expected):
    from theon.ir.ops import linalg
    arrays = [np.zeros(shape) for shape in shapes]
    ops = {"dot": linalg.Dot(), "matmul": linalg.Matmul(),
           "tensordot": linalg.Tensordot((1, 2), (0, 1)), "batched_dot": linalg.BatchedDot()}
    assert ops[op].multiply_adds(*arrays) == expected


def test_real_blas_thread_count_is_unchanged_after_a_small_product():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [info["num_threads"] for info in threadpoolctl.threadpool_info()
              if info["user_api"] == "blas"]
    f, x, y = _product((8, 8), (8, 8))
    f(x, y)
    after = [info["num_threads"] for info in threadpoolctl.threadpool_info()
             if info["user_api"] == "blas"]
    assert after == before


def test_numpy_openblas_is_the_library_numpy_multiplies_with():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    numpys = blas._numpy_openblas()
    if numpys is None:
        pytest.skip("numpy is not linked with OpenBLAS here")
    before = numpys.get_num_threads()
    target = 1 if before != 1 else 2
    numpys.set_num_threads(target)
    try:
        counts = {info["filepath"]: info["num_threads"]
                  for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"}
        numpy_root = os.path.dirname(os.path.dirname(np.__file__))
        assert [count for path, count in counts.items() if path.startswith(numpy_root)
                and "numpy" in path] == [target]
    finally:
        numpys.set_num_threads(before)
