"""The check that numpy's array struct is laid out as the CPU kernels read it."""
import ctypes
import functools

import numpy as np

from ..codegen.host import ARRAY_DATA, ARRAY_DIMS, ARRAY_FLAGS, ARRAY_ND, ARRAY_STRIDES
from ..codegen.loop_program import ALIGNED, C_CONTIGUOUS, WRITEABLE
from ..ir import CompileError


@functools.lru_cache(maxsize=None)
def check_array_layout():
    """Raise CompileError unless data, rank, dims, strides and flags sit where the kernels
    and the loop driver look."""
    probe = np.zeros((3, 5), dtype=np.float64)[:, ::2]
    base = id(probe)
    data = ctypes.c_void_p.from_address(base + ARRAY_DATA).value
    dims = ctypes.cast(ctypes.c_void_p.from_address(base + ARRAY_DIMS).value,
                       ctypes.POINTER(ctypes.c_int64))
    strides = ctypes.cast(ctypes.c_void_p.from_address(base + ARRAY_STRIDES).value,
                          ctypes.POINTER(ctypes.c_int64))
    ndim = ctypes.c_int32.from_address(base + ARRAY_ND).value
    # the probe is aligned and writeable, not C-contiguous
    flags = ctypes.c_int32.from_address(base + ARRAY_FLAGS).value & \
        (ALIGNED | WRITEABLE | C_CONTIGUOUS)
    found = (data, ndim, (dims[0], dims[1]), (strides[0], strides[1]), flags)
    expected = (probe.__array_interface__["data"][0], probe.ndim, probe.shape, probe.strides,
                ALIGNED | WRITEABLE)
    if found != expected:
        raise CompileError(f"numpy's array struct is not laid out as theon's CPU kernels read "
                           f"it (found {found}, expected {expected}); this Python/numpy "
                           "build is not supported")
    return True
