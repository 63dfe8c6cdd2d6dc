"""What the CUDA kernels compute, checked without a GPU: functions compiled with
target='cuda' are launched as ``runtime.cuda_launch`` plans them, in the SIMT interpreter
``_simt`` (threads, warps, shuffles and barriers as on the GPU), and compared with numpy.

Small device limits make small arrays take every path a large one takes on a real GPU:
several outputs per block, groups of threads wider than a warp, and grid-level
reductions whose blocks arrive in any order."""
import numpy as np
import pytest

import theon
import theon.tensor as T
from theon.ir import KernelStep
from theon.runtime.cuda_launch import (DeviceLimits, ReductionPlan, element_strides,
                                       elementwise_launch, plan_reduction, reduction_launch)

from _simt import KernelFault, Module, Pointer  # beside this file

SMALL = DeviceLimits(multiprocessors=2, max_threads_per_block=256,
                     max_threads_per_multiprocessor=256)


def _pointer(array, name):
    """A Pointer to ``array``'s first element inside the bytes of its base array."""
    base = array
    while base.base is not None and isinstance(base.base, np.ndarray):
        base = base.base
    flat = base.reshape(-1).view(np.uint8) if base.flags.c_contiguous else None
    offset = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return Pointer(flat, offset, name)


class _Runner:
    """Runs a function compiled for CUDA: its kernels in the interpreter, its host steps
    (views) with numpy."""

    def __init__(self, function, limits=SMALL, plan=None, order=None):
        executable = function._executable
        self.schedule = executable.schedule
        self.module = Module(executable.ptx.optimized_ir)
        self.limits, self.plan, self.order = limits, plan, order
        self.launches = []

    def __call__(self, *inputs):
        schedule = self.schedule
        values = dict(enumerate(inputs))
        values.update(dict(schedule.constants))
        for step in schedule.steps:
            arrays = [np.asarray(values[slot]) for slot in step.inputs]
            if isinstance(step, KernelStep):
                values.update(zip(step.outputs, self._launch(step, arrays)))
            else:  # a view (dimshuffle, reshape): strides over the same bytes
                values[step.output] = step.op.impl(*arrays)
        return [values[slot] for slot in schedule.outputs]

    def _launch(self, step, arrays):
        kernel = step.kernel
        ndim = kernel.ndim
        extents = np.broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
        extents = tuple(extents)
        extents = (1,) * (ndim - len(extents)) + extents
        strides = [element_strides(t, ndim, a.shape, a.strides, a.itemsize)
                   for t, a in zip(kernel.in_types, arrays)]
        pointers = [_pointer(a, f"input {k}") for k, a in enumerate(arrays)]
        if kernel.reduce is None:
            outputs = [np.full(extents, 77, t.dtype) for t in kernel.out_types]
            strides += [element_strides(t, ndim, o.shape, o.strides, o.itemsize)
                        for t, o in zip(kernel.out_types, outputs)]
            pointers += [_pointer(o, f"output {k}") for k, o in enumerate(outputs)]
            launch = elementwise_launch(kernel, pointers, extents, strides, self.limits)
            self.launches.append(launch)
            self.module.launch(step.symbol, launch.grid, launch.block, launch.arguments,
                               self._order(launch.grid))
            return outputs
        from theon.codegen.combine import accumulate_dtype, reduced_output_type
        combiner, axes, keepdims = kernel.reduce
        kept = tuple(1 if axis in axes else n for axis, n in enumerate(extents))
        result = np.full(kept, 77, kernel.out_types[0].dtype)
        plan = self.plan or plan_reduction(kernel, extents, self.limits)
        plan = ReductionPlan(plan.group, plan.block, plan.grid, *_counts(extents, axes))
        scratch = np.full(plan.chunks * plan.n_out, 55, accumulate_dtype(kernel))
        arrivals = np.zeros(max(plan.n_out, 1), np.uint32)
        strides.append(element_strides(reduced_output_type(kernel), ndim, result.shape,
                                       result.strides, result.itemsize))
        launch = reduction_launch(kernel, plan, pointers + [_pointer(result, "output")],
                                  _pointer(scratch, "scratch"), _pointer(arrivals, "arrivals"),
                                  extents, strides)
        self.launches.append(launch)
        if plan.n_out:
            self.module.launch(step.symbol, launch.grid, launch.block, launch.arguments,
                               self._order(launch.grid))
        assert not arrivals.any(), "the last chunk sets the arrival counters back to 0"
        return [result if keepdims else result.reshape(
            [n for axis, n in enumerate(kept) if axis not in axes])]

    def _order(self, grid):
        blocks = [(x, y) for y in range(grid[1]) for x in range(grid[0])]
        if self.order == "reversed":
            return blocks[::-1]
        if self.order == "shuffled":
            np.random.default_rng(0).shuffle(blocks)
        return blocks


def _counts(extents, axes):
    n_out = int(np.prod([n for a, n in enumerate(extents) if a not in axes]))
    n_red = int(np.prod([n for a, n in enumerate(extents) if a in axes]))
    return n_out, n_red


def _cuda(inputs, outputs):
    return theon.function(inputs, outputs, target="cuda")


def test_fused_elementwise_with_broadcast_and_transposed_input():
    x, y = T.fmatrix("x"), T.frow("y")
    f = _cuda([x, y], T.exp(-x.T * x.T) * T.sin(y) + T.log1p(abs(x.T)) * 0.5)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((7, 5)).astype(np.float32)
    b = rng.standard_normal((1, 7)).astype(np.float32)
    (got,) = _Runner(f)(a, b)
    want = np.exp(-a.T * a.T) * np.sin(b) + np.log1p(np.abs(a.T)) * 0.5
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_elementwise_reads_a_reversed_view_with_negative_strides():
    x = T.dvector("x")
    f = _cuda([x], x * 2 + 1)
    a = np.arange(300, dtype=np.float64)
    (got,) = _Runner(f)(a[::-3])
    np.testing.assert_array_equal(got, a[::-3] * 2 + 1)


REDUCTIONS = {
    "sum": (T.sum, np.sum), "prod": (T.prod, np.prod), "max": (T.max, np.max),
    "min": (T.min, np.min),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8", "int64"])
@pytest.mark.parametrize("axis", [0, 1, None, (0, 2)])
def test_reduction_matches_numpy(name, dtype, axis):
    ours, numpy_reduce = REDUCTIONS[name]
    x = T.tensor3("x", dtype=dtype)
    f = _cuda([x], ours(x, axis=axis))
    rng = np.random.default_rng(2)
    a = (rng.random((3, 37, 6)) * (1.3 if name == "prod" else 10)).astype(dtype)
    if dtype.startswith(("int", "uint")) and name == "prod":
        a = (a % 3).astype(dtype)
    (got,) = _Runner(f)(a)
    on_cpu = theon.function([x], ours(x, axis=axis))(a)
    assert got.dtype == on_cpu.dtype and got.shape == on_cpu.shape
    np.testing.assert_allclose(got, numpy_reduce(a, axis=axis).astype(got.dtype), rtol=2e-6)


@pytest.mark.parametrize("group,block,chunks", [
    (1, 32, 1), (1, 64, 3), (8, 32, 1), (32, 64, 2), (64, 128, 1), (128, 128, 5),
    (256, 256, 2)])
@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_every_launch_shape_of_a_row_sum_gives_the_same_result(group, block, chunks, order):
    x = T.fmatrix("x")
    f = _cuda([x], T.sum(x, axis=1))
    a = np.random.default_rng(3).standard_normal((5, 301)).astype(np.float32)
    plan = ReductionPlan(group, block, (2, chunks), 0, 0)
    (got,) = _Runner(f, plan=plan, order=order)(a)
    np.testing.assert_allclose(got, a.astype(np.float64).sum(axis=1), rtol=1e-6)


def test_planner_splits_few_long_outputs_into_chunks_and_folds_them_in_order():
    x = T.fvector("x")
    f = _cuda([x], T.sum(x))
    a = np.random.default_rng(4).standard_normal(20000).astype(np.float32)
    limits = DeviceLimits(multiprocessors=2, max_threads_per_block=64,
                          max_threads_per_multiprocessor=256)
    runner = _Runner(f, limits, order="shuffled")
    (got,) = runner(a)
    assert runner.launches[0].grid == (1, 4)  # a grid-level reduction: 4 chunks
    np.testing.assert_allclose(got, a.astype(np.float64).sum(), rtol=1e-7)
    (again,) = _Runner(f, limits, order="reversed")(a)
    assert again == got                        # the same order of additions


def test_column_sums_give_each_thread_its_own_output():
    x = T.dmatrix("x")
    f = _cuda([x], x.sum(axis=0, keepdims=True))
    a = np.random.default_rng(5).standard_normal((300, 70))
    runner = _Runner(f)
    (got,) = runner(a)
    assert runner.launches[0].arguments[-1] == 1  # group
    np.testing.assert_allclose(got, a.sum(axis=0, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("reduce,numpy_reduce", [(T.any, np.any), (T.all, np.all)])
def test_boolean_reductions(reduce, numpy_reduce):
    x = T.imatrix("x")
    f = _cuda([x], reduce(T.gt(x, 3), axis=1))
    a = np.random.default_rng(6).integers(0, 5, (9, 40)).astype(np.int32)
    a[2] = 4
    a[3] = 0
    (got,) = _Runner(f)(a)
    np.testing.assert_array_equal(got, numpy_reduce(a > 3, axis=1))


def test_max_propagates_nan_and_an_empty_sum_is_zero():
    x = T.dmatrix("x")
    f = _cuda([x], [T.max(x, axis=1), T.sum(x, axis=1)])
    a = np.random.default_rng(7).standard_normal((4, 50))
    a[1, 17] = np.nan
    got_max, got_sum = _Runner(f)(a)
    np.testing.assert_array_equal(np.isnan(got_max), [False, True, False, False])
    (empty,) = _Runner(_cuda([x], T.sum(x, axis=1)))(np.zeros((3, 0)))
    np.testing.assert_array_equal(empty, np.zeros(3))


def test_softmax_runs_as_its_reduction_and_elementwise_kernels():
    x = T.fmatrix("x")
    f = _cuda([x], T.nnet.softmax(x))
    a = np.random.default_rng(8).standard_normal((6, 45)).astype(np.float32) * 4
    runner = _Runner(f)
    (got,) = runner(a)
    e = np.exp(a - a.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    assert len(runner.launches) >= 2


def test_interpreter_catches_out_of_bounds_reads():
    x = T.fvector("x")
    f = _cuda([x], x + 1)
    (step,) = f._executable.schedule.steps
    module = Module(f._executable.ptx.optimized_ir)
    a, out = np.zeros(10, np.float32), np.zeros(10, np.float32)
    with pytest.raises(KernelFault, match="out of bounds"):
        module.launch(step.symbol, (1, 1), 32, [_pointer(a, "x"), _pointer(out, "out"),
                                                11, 1, 1, 11])


def test_one_hot_gather_and_scatter_of_the_nll_and_its_gradient():
    x, y = T.fmatrix("x"), T.ivector("y")
    cost = -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])
    f = _cuda([x, y], [cost, theon.grad(cost, x)])
    kernels = [s.kernel for s in f._executable.schedule.steps if isinstance(s, KernelStep)]
    assert any(n.prim == "index" for k in kernels for n in _scalars(k))
    a = np.random.default_rng(9).standard_normal((7, 33)).astype(np.float32)
    labels = np.array([0, 32, 5, -1, 17, 3, -33], np.int32)
    got_cost, got_grad = _Runner(f)(a, labels)
    shifted = a - a.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(7)
    grad = np.exp(logp)
    grad[rows, labels] -= 1
    np.testing.assert_allclose(got_cost, -logp[rows, labels].mean(), rtol=1e-5)
    np.testing.assert_allclose(got_grad, grad / 7, rtol=1e-5, atol=1e-7)


def _scalars(kernel):
    from theon.ir import scalar
    return scalar.topological(kernel.body)
