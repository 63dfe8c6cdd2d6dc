"""The check that numpy's array struct is laid out as the CPU kernels read it."""
import ctypes
import functools

import numpy as np

from ..codegen.host import ARRAY_DATA, ARRAY_DIMS, ARRAY_STRIDES
from ..ir import CompileError


@functools.lru_cache(maxsize=None)
def check_array_layout():
    """Raise CompileError unless data, dims and strides sit where the kernels look."""
    probe = np.zeros((3, 5), dtype=np.float64)[:, ::2]
    base = id(probe)
    data = ctypes.c_void_p.from_address(base + ARRAY_DATA).value
    dims = ctypes.cast(ctypes.c_void_p.from_address(base + ARRAY_DIMS).value,
                       ctypes.POINTER(ctypes.c_int64))
    strides = ctypes.cast(ctypes.c_void_p.from_address(base + ARRAY_STRIDES).value,
                          ctypes.POINTER(ctypes.c_int64))
    found = (data, (dims[0], dims[1]), (strides[0], strides[1]))
    expected = (probe.__array_interface__["data"][0], probe.shape, probe.strides)
    if found != expected:
        raise CompileError(f"numpy's array struct is not laid out as theon's CPU kernels read "
                           f"it (found {found}, expected {expected}); this Python/numpy "
                           "build is not supported")
    return True
