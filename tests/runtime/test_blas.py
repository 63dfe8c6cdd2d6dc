"""Small matrix products run on one BLAS thread; the library's own count is given back."""
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


@pytest.fixture
def controller(monkeypatch):
    fake = _RecordingController(4)
    monkeypatch.setattr(blas, "_controllers", (fake,))
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


def test_large_product_leaves_the_thread_count_alone(controller, monkeypatch):
    monkeypatch.setattr(blas, "SERIAL_BELOW", 30 * 40 * 20)
    f, x, y = _product((30, 40), (40, 20))
    np.testing.assert_allclose(f(x, y), x @ y, rtol=1e-12)
    assert controller.calls == []


def test_single_threaded_library_is_not_touched(monkeypatch):
    fake = _RecordingController(1)
    monkeypatch.setattr(blas, "_controllers", (fake,))
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
