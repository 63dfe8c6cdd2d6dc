"""Central finite differences: the independent reference the gradient tests compare with
(beside the test files: pytest puts their folder on sys.path)."""
import numpy as np


def numeric_gradient(f, point, eps=1e-6):
    """Central differences of the scalar ``f`` at ``point``."""
    point = np.array(point, dtype=np.float64)
    result = np.zeros_like(point)
    flat, out = point.reshape(-1), result.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = float(f(point))
        flat[i] = saved - eps
        minus = float(f(point))
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return result
