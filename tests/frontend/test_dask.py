"""Compiled functions on a ``dask.distributed`` cluster of local processes: a pickled
function mapped over the chunks of an array, each worker linking its kernels from the disk
cache it shares with this process (no LLVM compile, no pass), and workers compiling the same
graph themselves finding it on disk.  Needs the optional ``dask`` extra."""
import os

import numpy as np
import pytest

from theon.runtime import loader

distributed = pytest.importorskip("distributed")


def _reference(chunk):
    return np.tanh(chunk) * 2 + np.exp(-chunk * chunk).sum(axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def _environment_restored():
    """distributed sets variables such as MALLOC_TRIM_THRESHOLD_ in this process's
    environment for the workers it spawns; later tests must not inherit them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_workers_map_a_pickled_function_over_chunks_from_the_shared_disk_cache():
    def build():
        """The graph both this process and the workers build (a closure: pickled by value,
        so workers need not import this test module)."""
        import theon
        import theon.tensor as T
        x = T.dmatrix("x")
        return theon.function([x], T.tanh(x) * 2 + T.exp(-x * x).sum(axis=1, keepdims=True))

    f = build()
    loader.wait_for_optimized()   # the optimised kernels are on disk before workers look
    data = np.random.default_rng(3).standard_normal((2000, 16))
    chunks = np.array_split(data, 6)

    def apply(function, chunk):
        report = function.report
        return function(chunk), report.cache, report.kernels_compiled, os.getpid()

    def compile_same_graph():
        report = build().report
        return report.cache, report.kernels_compiled

    # workers are new processes: they inherit this process's environment, and so its
    # THEON_CACHE_DIR (tests/conftest.py's private directory); passed explicitly for clarity
    environment = {"THEON_CACHE_DIR": os.environ["THEON_CACHE_DIR"]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, env=environment) as cluster, \
            distributed.Client(cluster) as client:
        results = client.gather(client.map(apply, [f] * len(chunks), chunks, pure=False))
        compiled_on_workers = client.run(compile_same_graph)
    for chunk, (values, cache, kernels_compiled, pid) in zip(chunks, results):
        np.testing.assert_allclose(values, _reference(chunk), rtol=1e-13)
        assert pid != os.getpid()
        assert cache == "stored" and kernels_compiled == 0
    assert len(compiled_on_workers) == 2
    assert set(compiled_on_workers.values()) == {("disk", 0)}
