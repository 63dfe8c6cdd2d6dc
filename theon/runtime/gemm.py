"""numpy's own BLAS ``?gemm``, reached directly: for products numpy's API cannot express.

numpy's ``matmul`` always writes a fresh product.  BLAS's ``gemm`` computes
``c = alpha * a @ b + beta * c`` in ``c``'s memory: the native loop driver calls it for the
products of a loop body (into each step's output row), and ``accumulate`` calls it for a
``Gemm`` step, which adds a product into a parameter's own array.  The function is the
one numpy's products run on (found in numpy's extension module, as ``runtime.blas`` finds
its thread count), so results and threading are numpy's.

Every call is Fortran's: arguments by reference, column-major.  A row-major ``c = a b`` is
the column-major ``c' = b' a'``, so Fortran's first operand is ``b``.  Integer arguments
are passed as int64 words whose low half is the 32-bit integer an LP64 build reads
(little-endian), so one parameter block serves ILP64 and LP64 libraries alike.
"""
import ctypes
import functools

import numpy as np

from ..codegen.host import ARRAY_DATA
from . import blas

# numpy's OpenBLAS builds name Fortran's sgemm so (ILP64 first: numpy 2's wheels)
_GEMM_SYMBOLS = (("scipy_sgemm_64_", "scipy_dgemm_64_"), ("sgemm_64_", "dgemm_64_"),
                 ("scipy_sgemm_", "scipy_dgemm_"), ("sgemm_", "dgemm_"))
# transa transb m n k alpha a lda b ldb beta c ldc; CFUNCTYPE releases the GIL for the call
_FORTRAN_GEMM = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 13)
_WORD = 8  # bytes per word of a parameter block
_BLOCK = ctypes.c_int64 * 10
_POINTER_AT = ctypes.c_void_p.from_address


@functools.lru_cache(maxsize=None)
def gemm_functions():
    """{'float32': address, 'float64': address} of the ``?gemm`` numpy's products use, or
    None where numpy's BLAS does not export them."""
    library = blas.numpy_library()
    if library is None:
        return None
    for single, double in _GEMM_SYMBOLS:
        if hasattr(library, single) and hasattr(library, double):
            return {"float32": ctypes.cast(getattr(library, single), ctypes.c_void_p).value,
                    "float64": ctypes.cast(getattr(library, double), ctypes.c_void_p).value}
    return None


@functools.lru_cache(maxsize=None)
def _function(dtype_name):
    """The ctypes callable of numpy's ``?gemm`` for ``dtype_name``, or None."""
    functions = gemm_functions()
    if functions is None or dtype_name not in functions:
        return None
    return _FORTRAN_GEMM(functions[dtype_name])


def scalar_bits(value, dtype):
    """``value`` as ``dtype``, its bytes read as a little-endian int64 (zero-padded): BLAS
    reads alpha and beta in the low ``dtype.itemsize`` bytes of their word."""
    raw = np.asarray(value, dtype).tobytes()
    return int.from_bytes(raw.ljust(_WORD, b"\0"), "little", signed=True)


def layout(matrix):
    """('N', ld) when ``matrix`` (r, c) is row-major with row stride ld items, ('T', ld)
    when column-major; None when BLAS cannot read it in place (other strides, or data not
    aligned for its items)."""
    rows, cols = matrix.shape
    item = matrix.itemsize
    s0, s1 = matrix.strides
    if not matrix.flags.aligned:
        return None
    if (cols == 1 or s1 == item) and (rows == 1 or (s0 % item == 0 and s0 >= cols * item)):
        return "N", max(1, cols, s0 // item if rows > 1 else cols)
    if (rows == 1 or s0 == item) and (cols == 1 or (s1 % item == 0 and s1 >= rows * item)):
        return "T", max(1, rows, s1 // item if cols > 1 else rows)
    return None


def parameters(a, b, out, alpha, beta):
    """The int64 parameter block (an array) of ``out = alpha * a @ b + beta * out`` for
    matrices ``a`` (m, k), ``b`` (k, n) and C-contiguous ``out`` (m, n); None when BLAS
    cannot read ``a`` or ``b`` as they are laid out (see ``_words``)."""
    layout_a, layout_b = layout(a), layout(b)
    if layout_a is None or layout_b is None:
        return None
    (m, k), n = a.shape, b.shape[1]
    return np.array(_words(layout_a, layout_b, m, n, k, scalar_bits(alpha, out.dtype),
                           scalar_bits(beta, out.dtype)), np.int64)


def _words(layout_a, layout_b, m, n, k, alpha_bits, beta_bits):
    """transa, transb, m, n, k, alpha, beta, lda, ldb, ldc of Fortran's call computing a
    row-major ``alpha * a @ b + beta * out`` (whose operands are ``b``, then ``a``)."""
    (trans_a, lda), (trans_b, ldb) = layout_a, layout_b
    return (ord(trans_b), ord(trans_a), n, m, k, alpha_bits, beta_bits, ldb, lda, max(1, n))


@functools.lru_cache(maxsize=None)
def _one(dtype):
    return scalar_bits(1, dtype)


def _data(array):
    """The address of ``array``'s first element, read from numpy's array struct where the
    kernels read it (``codegen.host.ARRAY_DATA``, checked by ``runtime.abi``): a fifth of
    the time of ``array.ctypes.data``, which a call of ``accumulate`` needs three times."""
    return _POINTER_AT(id(array) + ARRAY_DATA).value


def accumulate(out, alpha, a, b):
    """``out += alpha * (a @ b)`` in ``out``'s memory, for matrices of one float dtype with
    ``out`` C-contiguous and not overlapping ``a`` or ``b``; returns ``out``.

    Runs numpy's BLAS ``gemm`` with beta = 1 (no product array is made).  An operand BLAS
    cannot read as it is (strided both ways, unaligned) is copied first; where numpy's BLAS
    is not reachable the product is made by numpy and added."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0 or k == 0:
        return out  # nothing to add (BLAS rejects ld = 0 for empty operands)
    dtype = out.dtype
    function = _function(dtype.name)
    if function is None:
        out += np.asarray(alpha, dtype) * np.matmul(a, b)
        return out
    layout_a, layout_b = layout(a), layout(b)
    if layout_a is None:
        a, layout_a = np.array(a, order="C"), ("N", k)
    if layout_b is None:
        b, layout_b = np.array(b, order="C"), ("N", n)
    words = _BLOCK(*_words(layout_a, layout_b, m, n, k, scalar_bits(alpha, dtype), _one(dtype)))
    base = ctypes.addressof(words)
    previous = blas.begin(m * n * k)
    try:
        # Fortran's operands: b, then a (see ``_words``)
        function(base, base + 8, base + 16, base + 24, base + 32, base + 40, _data(b),
                 base + 56, _data(a), base + 64, base + 48, _data(out), base + 72)
    finally:
        blas.end(previous)
    return out
