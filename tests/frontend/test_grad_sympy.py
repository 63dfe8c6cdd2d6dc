"""Derivatives of every differentiable elementwise function, first and second order, against
sympy's symbolic derivatives of the same function (an independent reference: nothing of
theon's gradient table is reused).

For an elementwise ``f``, ``grad(sum(f(x)), x)`` is ``f'(x)`` elementwise and the gradient
of ``sum`` of that is ``f''(x)``; for a binary ``f(x, y)`` the same holds per argument, and
the mixed second derivative comes from differentiating ``df/dx`` with respect to ``y``.
"""
import numpy as np
import pytest
import sympy

import theon
import theon.tensor as T

X, Y = sympy.symbols("x y", real=True)

# theon function -> (sympy expression of x, points inside its domain)
UNARY = {
    "neg": (-X, (-2.0, 3.0)),
    "abs": (sympy.Abs(X), (-2.0, -0.3, 0.7, 3.0)),
    "sqr": (X ** 2, (-2.0, 0.5, 3.0)),
    "sqrt": (sympy.sqrt(X), (0.1, 1.5, 40.0)),
    "exp": (sympy.exp(X), (-3.0, 0.2, 4.0)),
    "exp2": (2 ** X, (-3.0, 0.2, 4.0)),
    "expm1": (sympy.exp(X) - 1, (-3.0, 1e-3, 4.0)),
    "log": (sympy.log(X), (0.05, 1.0, 30.0)),
    "log2": (sympy.log(X, 2), (0.05, 1.0, 30.0)),
    "log10": (sympy.log(X, 10), (0.05, 1.0, 30.0)),
    "log1p": (sympy.log(1 + X), (-0.9, 1e-4, 30.0)),
    "sin": (sympy.sin(X), (-2.0, 0.3, 5.0)),
    "cos": (sympy.cos(X), (-2.0, 0.3, 5.0)),
    "tan": (sympy.tan(X), (-1.2, 0.3, 1.0)),
    "arcsin": (sympy.asin(X), (-0.9, 0.1, 0.8)),
    "arccos": (sympy.acos(X), (-0.9, 0.1, 0.8)),
    "arctan": (sympy.atan(X), (-5.0, 0.1, 3.0)),
    "sinh": (sympy.sinh(X), (-3.0, 0.1, 2.0)),
    "cosh": (sympy.cosh(X), (-3.0, 0.1, 2.0)),
    "tanh": (sympy.tanh(X), (-3.0, 0.1, 2.0)),
    "arcsinh": (sympy.asinh(X), (-3.0, 0.1, 2.0)),
    "arccosh": (sympy.acosh(X), (1.1, 2.0, 30.0)),
    "arctanh": (sympy.atanh(X), (-0.9, 0.1, 0.8)),
    "erf": (sympy.erf(X), (-2.0, 0.1, 1.5)),
    "erfc": (sympy.erfc(X), (-2.0, 0.1, 1.5)),
    "sigmoid": (1 / (1 + sympy.exp(-X)), (-30.0, -1.0, 0.1, 4.0, 30.0)),
    "softplus": (sympy.log(1 + sympy.exp(X)), (-30.0, -1.0, 0.1, 4.0, 30.0)),
}

# theon function -> (sympy expression of x and y, (x points, y points))
BINARY = {
    "add": (X + Y, ((-1.0, 2.0), (0.5, -3.0))),
    "sub": (X - Y, ((-1.0, 2.0), (0.5, -3.0))),
    "mul": (X * Y, ((-1.0, 2.0), (0.5, -3.0))),
    "true_div": (X / Y, ((-1.0, 2.0), (0.5, -3.0))),
    "pow": (X ** Y, ((0.5, 2.0, 3.0), (-1.5, 0.3, 2.5))),
    "arctan2": (sympy.atan2(X, Y), ((-1.0, 2.0, 0.5), (0.5, -3.0, 2.0))),
}


def _theon_function(name):
    return getattr(T, {"true_div": "true_divide"}.get(name, name))


def _numeric(expression, *symbols):
    return sympy.lambdify(symbols, expression, modules="mpmath")


def _evaluate(expression, symbols, points):
    # away from its kink, |x|'' = 2 DiracDelta(x) is 0 (every point here avoids the kink)
    expression = expression.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    function = _numeric(expression, *symbols)
    return np.array([float(function(*p)) for p in zip(*points)])


def _assert_close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_first_and_second_derivatives_match_sympy(name):
    expression, points = UNARY[name]
    x = T.dvector("x")
    first = theon.grad(T.sum(_theon_function(name)(x)), x)
    second = theon.grad(T.sum(first), x)
    f = theon.function([x], [first, second])
    values = np.array(points)
    got_first, got_second = f(values)
    _assert_close(got_first, _evaluate(sympy.diff(expression, X), [X], [values]))
    _assert_close(got_second, _evaluate(sympy.diff(expression, X, 2), [X], [values]))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_partial_derivatives_match_sympy(name):
    expression, (xs, ys) = BINARY[name]
    x, y = T.dvector("x"), T.dvector("y")
    gx, gy = theon.grad(T.sum(_theon_function(name)(x, y)), [x, y])
    gxx = theon.grad(T.sum(gx), x)
    gxy = theon.grad(T.sum(gx), y)
    gyy = theon.grad(T.sum(gy), y)
    f = theon.function([x, y], [gx, gy, gxx, gxy, gyy], on_unused_input="ignore")
    values = [np.array(xs), np.array(ys)]
    expected = [sympy.diff(expression, X), sympy.diff(expression, Y),
                sympy.diff(expression, X, 2), sympy.diff(expression, X, Y),
                sympy.diff(expression, Y, 2)]
    for got, derivative in zip(f(*values), expected):
        _assert_close(got, _evaluate(derivative, [X, Y], values))
