"""The native loop driver's interface (importable without LLVM; its code is made by
``loop_driver``).  The driver is one machine-code function that runs a loop's steps,
calling the body's compiled kernels and BLAS directly, with no Python between steps.

The driver is generic: what one step does is a *program*, a flat array of int64 words that
``runtime/native_loop.py`` writes for each loop from the body's schedule::

    void theon_loop_driver(i64* program, i64 first, i64 last, i64* result)

runs steps ``first .. last-1``; ``result`` receives ``(steps completed, status)``: status 0
when all ran, -1 when an ``until`` condition stopped the loop after step ``result[0]-1``,
-3 (``BIND_FAILED``) when a ``BIND`` found an array other than the program expects (before
touching it), else the nonzero status a kernel returned at step ``result[0]`` (which did
not complete: the runtime runs it again through Python).  Arrays are numpy array objects:
the driver moves a per-step array by writing its data pointer, and kernels read it as they
always do.

Instructions (``i`` is the step's index, counted from 0 in loop order)::

    SET   obj base a b m stride   data(obj) = base + row * stride, row = a*i + b,
                                  then row mod m when m > 0 (row >= 0)
    VIEW  obj src delta           data(obj) = data(src) + delta
    CALL  fn n arg_1 .. arg_n     status = fn(arg_1, .., arg_n) (a kernel's ``.all`` entry;
                                  the driver reads MAX_CALL_ARGS words after n: a program
                                  ends with that many words of padding)
    FILL  obj count size bits     the first count items of data(obj), of size bytes, = bits
    GEMM  fn params x y c         fn(&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], data(x),
                                  &p[7], data(y), &p[8], &p[6], data(c), &p[9]): BLAS's
                                  Fortran ?gemm, every argument by reference
    COPY  dst src bytes           memmove(data(dst), data(src), bytes)
    UNTIL obj                     stop after this step if the byte at data(obj) is nonzero
    BIND  dst src nd mask         stop with status BIND_FAILED unless array src has nd axes,
          dims[nd] strides[nd]    these lengths and strides (in bytes) and every flag of
                                  mask (numpy's NPY_ARRAY_* bits); then data(dst) =
                                  data(src), unless dst is 0 (a check only)
    MARK  address value           the int64 at address = value (where a program is: the
                                  runtime reads it after a stop)
    END                           the step is over

``BIND`` and ``MARK`` serve ``runtime/native_call.py``, which runs a whole compiled
function as one step: its arguments are new array objects at each call, checked and
bound to array objects of the program's own, and the step a refusing kernel stopped at
is the last one marked.
"""
SYMBOL = "theon_loop_driver"
MAX_CALL_ARGS = 64  # a kernel with more arrays runs its loop through Python

END, SET, VIEW, CALL, FILL, GEMM, COPY, UNTIL, BIND, MARK = range(10)
BIND_FAILED = -3  # the status of a stop at a BIND
# numpy's array flags a BIND can require (NPY_ARRAY_C_CONTIGUOUS, _ALIGNED, _WRITEABLE)
C_CONTIGUOUS, ALIGNED, WRITEABLE = 0x1, 0x100, 0x400
