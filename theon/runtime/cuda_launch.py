"""How a CUDA kernel is launched: the grid, the block and the argument list, chosen from
the arrays' shapes and the device's properties.  Pure Python: no GPU is needed to plan.

The argument lists follow the parameter orders documented in ``codegen/cuda.py``
(elementwise kernels) and ``codegen/cuda_reduce.py`` (reductions); pointers are passed
through as given (device addresses, or whatever the caller launches with).
"""
from dataclasses import dataclass

from ..codegen.nvptx import broadcasts

WARP = 32
ELEMENTWISE_BLOCK = 256   # threads per block of a grid-stride elementwise kernel
REDUCTION_BLOCK = 256     # threads per block of a reduction, at least
WIDEST_GROUP = 512        # threads folding one output together, at most
ELEMENTS_PER_THREAD = 64  # below this many elements per thread, no more chunks are added


@dataclass(frozen=True)
class DeviceLimits:
    """What a launch plan needs to know of the GPU (``cuDeviceGetAttribute``)."""

    multiprocessors: int
    max_threads_per_block: int = 1024
    max_threads_per_multiprocessor: int = 2048
    max_grid_y: int = 65535

    @property
    def resident_threads(self):
        """Threads the whole device runs at once."""
        return self.multiprocessors * self.max_threads_per_multiprocessor


@dataclass(frozen=True)
class Launch:
    """One kernel launch: ``grid`` (x, y) blocks of ``block`` threads, with ``arguments``."""

    grid: tuple
    block: int
    arguments: tuple


@dataclass(frozen=True)
class ReductionPlan:
    """How a reduction kernel spreads over the GPU (see ``codegen/cuda_reduce.py``).

    Attributes
    ----------
    group : int
        Threads folding one output together (a power of two, 1 to 1024).
    block : int
        Threads per block (a multiple of ``group`` and of 32).
    grid : tuple
        (blocks striding over the outputs, chunks each output's elements are split into).
    n_out, n_red : int
        Outputs, and elements folded into each.
    """

    group: int
    block: int
    grid: tuple
    n_out: int
    n_red: int

    @property
    def chunks(self):
        """Blocks folding parts of the same outputs (more than 1: a grid-level reduction,
        which needs ``chunks * n_out`` scratch elements and ``n_out`` arrival counters)."""
        return self.grid[1]


def element_strides(ttype, ndim, shape, strides, itemsize):
    """The element strides a kernel is passed for one array of ``ttype``: one per domain
    axis it does not broadcast along, from the array's ``shape`` and byte ``strides``
    (an array of lower rank aligns on the domain's trailing axes)."""
    lead = ndim - len(shape)
    result = []
    for axis in range(ndim):
        if not broadcasts(ttype, axis, ndim):
            stride = strides[axis - lead]
            if stride % itemsize:
                raise ValueError(f"cuda launch: byte stride {stride} is not a multiple of "
                                 f"the item size {itemsize}")
            result.append(stride // itemsize)
    return result


def elementwise_launch(kernel, pointers, extents, strides, limits):
    """The launch of elementwise ``kernel`` over domain ``extents``: ``pointers`` and
    ``strides`` (each array's element strides, from ``element_strides``) per input then
    output."""
    elements = 1
    for extent in extents:
        elements *= extent
    blocks = max(1, min(-(-elements // ELEMENTWISE_BLOCK),
                        limits.resident_threads // ELEMENTWISE_BLOCK))
    arguments = list(pointers) + list(extents)
    for own in strides:
        arguments += own
    return Launch((blocks, 1), ELEMENTWISE_BLOCK, tuple(arguments + [elements]))


def plan_reduction(kernel, extents, limits):
    """How reduction ``kernel`` runs over domain ``extents`` on a device with ``limits``.

    When the domain's innermost axis is reduced, a group of threads shares each output and
    reads its elements side by side; when it is kept, each thread computes its own output
    and neighbouring threads read neighbouring outputs.  Either way, when the outputs are
    too few to fill the device and each has many elements, the elements are split into
    chunks (a grid-level reduction)."""
    _, axes, _ = kernel.reduce
    n_out = n_red = 1
    for axis, extent in enumerate(extents):
        if axis in axes:
            n_red *= extent
        else:
            n_out *= extent
    inner_reduced = bool(extents) and (len(extents) - 1) in axes
    if inner_reduced:
        group = min(WIDEST_GROUP, limits.max_threads_per_block, _power_of_two_above(n_red))
    else:
        group = 1
    block = min(limits.max_threads_per_block, max(REDUCTION_BLOCK, group))
    if group == 1 and n_out < block:
        block = max(WARP, -(-n_out // WARP) * WARP)
    per_block = block // group
    blocks = max(1, min(-(-n_out // per_block), limits.resident_threads // block * 4))
    chunks = 1
    wanted = limits.resident_threads // block
    if blocks < wanted and n_red > group * ELEMENTS_PER_THREAD:
        chunks = min(-(-wanted // blocks), n_red // (group * ELEMENTS_PER_THREAD),
                     limits.max_grid_y)
    return ReductionPlan(group, block, (blocks, max(1, chunks)), n_out, n_red)


def reduction_launch(kernel, plan, pointers, scratch, arrivals, extents, strides):
    """The launch of reduction ``kernel`` by ``plan``: ``pointers`` and ``strides`` per input
    then the output; ``scratch`` and ``arrivals`` the grid-level workspace (any pointer when
    ``plan.chunks`` is 1: the kernel does not touch them)."""
    arguments = list(pointers) + [scratch, arrivals] + list(extents)
    for own in strides:
        arguments += own
    arguments += [plan.n_out, plan.n_red, plan.group]
    return Launch(plan.grid, plan.block, tuple(arguments))


def _power_of_two_above(n):
    """The smallest power of two >= ``n`` (1 for n <= 1)."""
    power = 1
    while power < n:
        power *= 2
    return power
