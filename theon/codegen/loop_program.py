"""The native loop driver's interface (importable without LLVM; its code is made by
``loop_driver``).  The driver is one machine-code function that runs a loop's steps,
calling the body's compiled kernels and BLAS directly, with no Python between steps.

The driver is generic: what one step does is a *program*, a flat array of int64 words that
``runtime/native_loop.py`` writes for each loop from the body's schedule::

    void theon_loop_driver(i64* program, i64 first, i64 last, i64* result)

runs steps ``first .. last-1``; ``result`` receives ``(steps completed, status)``: status 0
when all ran, -1 when an ``until`` condition stopped the loop after step ``result[0]-1``,
else the nonzero status a kernel returned at step ``result[0]`` (which did not complete:
the runtime runs it again through Python).  Arrays are numpy array objects: the driver
moves a per-step array by writing its data pointer, and kernels read it as they always do.

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
    END                           the step is over
"""
SYMBOL = "theon_loop_driver"
MAX_CALL_ARGS = 64  # a kernel with more arrays runs its loop through Python

END, SET, VIEW, CALL, FILL, GEMM, COPY, UNTIL = range(8)
