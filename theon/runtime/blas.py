"""Small matrix products on one BLAS thread.

OpenBLAS splits even small matrix products across all its threads.  On a machine shared
with other work, a thread that waits for a descheduled partner spins away its time slice:
the 256x784 by 784x10 product of a logistic-regression step took 15.9 ms instead of 0.4 ms
on 2 loaded cores (numpy alone suffers the same).  Below ``SERIAL_BELOW`` multiply-adds the
second thread gains little even on an idle machine, so theon runs such a product on one
thread and gives the library its previous thread count back afterwards: larger products,
and the user's own numpy code, keep whatever numpy (or threadpoolctl) set.

The BLAS libraries are found with threadpoolctl, once, at the first small product; where
none can be controlled, products run as numpy runs them.
"""
SERIAL_BELOW = 1 << 24

_UNKNOWN = object()
_controllers = _UNKNOWN  # threadpoolctl's controllers of the loaded BLAS libraries


def _blas_controllers():
    global _controllers
    if _controllers is _UNKNOWN:
        try:
            from threadpoolctl import ThreadpoolController
            _controllers = tuple(
                ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # noqa: BLE001 - no controllable BLAS: leave numpy's choice alone
            _controllers = ()
    return _controllers


def begin(multiply_adds):
    """Before a product of ``multiply_adds`` multiply-adds: limit BLAS to one thread if the
    product is small.  Returns what ``end`` needs to undo it (None: nothing was changed)."""
    if multiply_adds >= SERIAL_BELOW:
        return None
    # every BLAS loaded (numpy's and scipy's may be two copies): numpy's is among them
    previous = []
    for controller in _blas_controllers():
        count = controller.get_num_threads()
        if count != 1:
            controller.set_num_threads(1)
            previous.append((controller, count))
    return previous or None


def end(previous):
    """After the product: the thread counts ``begin`` changed, restored."""
    if previous:
        for controller, count in previous:
            controller.set_num_threads(count)
