"""theon.ifelse.ifelse: values, laziness, gradients, errors, and the schedule it compiles to."""
import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import ir
from theon.ifelse import ifelse
from theon.ir.kernel import BranchStep
from theon.ir.serialize import dumps_schedule, loads_schedule


def _branch_steps(schedule):
    return [step for step in schedule.steps if isinstance(step, BranchStep)]


def test_values_of_both_sides():
    a, b = T.dscalars("a", "b")
    x, y = T.dvectors("x", "y")
    f = theon.function([a, b, x, y], ifelse(T.lt(a, b), T.mean(T.exp(x) * 3),
                                             T.mean(T.sin(y))))
    xv, yv = np.linspace(0, 1, 5), np.linspace(-1, 2, 7)
    assert f(1, 2, xv, yv) == pytest.approx(np.mean(np.exp(xv) * 3), rel=1e-14)
    assert f(3, 2, xv, yv) == pytest.approx(np.mean(np.sin(yv)), rel=1e-14)
    # each side is its own compiled graph, chosen at run time
    (step,) = _branch_steps(f.schedule)
    assert step.then_body.kernel_steps() and step.else_body.kernel_steps()


def test_only_the_side_taken_runs():
    m, i = T.dmatrix("m"), T.lscalar("i")
    # the then-side would raise IndexError for a row that does not exist
    f = theon.function([m, i], ifelse(T.lt(i, m.shape[0]), m[i].sum(), T.constant(-1.0)))
    assert f(np.ones((2, 3)), 1) == 3.0
    assert f(np.ones((2, 3)), 5) == -1.0
    g = theon.function([m, i], T.switch(T.lt(i, m.shape[0]), m[i].sum(), -1.0))
    with pytest.raises(IndexError):
        g(np.ones((2, 3)), 5)  # switch is elementwise: both sides run


def test_what_both_sides_need_is_computed_once_outside():
    c, x = T.dscalar("c"), T.dvector("x")
    shared = T.exp(x)
    f = theon.function([c, x], [ifelse(T.gt(c, 0), shared.sum(), shared.max()), shared])
    (step,) = _branch_steps(f.schedule)
    members = [m for side in (step.then_body, step.else_body)
               for s in side.kernel_steps() for m in s.kernel.members]
    assert "exp" not in members
    xv = np.array([0.5, -1.0, 2.0])
    got, exp = f(1.0, xv)
    assert got == pytest.approx(np.exp(xv).sum()) and np.allclose(exp, np.exp(xv))


def test_list_of_values():
    c, x = T.dscalar("c"), T.dvector("x")
    first, second = ifelse(T.gt(c, 0), [x * 2, x.sum()], [x - 1, x.prod()])
    f = theon.function([c, x], [first, second])
    xv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f(1.0, xv)[0], xv * 2)
    assert f(-1.0, xv)[1] == 6.0


def _central_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in range(x.size):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def test_gradient_flows_only_into_the_side_taken():
    c, x, y = T.dscalar("c"), T.dvector("x"), T.dvector("y")
    z = ifelse(T.gt(c, 0), (T.sin(x) * x).sum(), (y ** 3).sum())
    gx, gy = theon.grad(z, [x, y])
    f = theon.function([c, x, y], [gx, gy])
    fz = theon.function([c, x, y], z)
    xv, yv = np.array([0.3, -1.2, 2.0]), np.array([0.5, 1.5])
    gxv, gyv = f(1.0, xv, yv)
    np.testing.assert_allclose(gxv, _central_difference(lambda v: fz(1.0, v, yv), xv),
                               rtol=1e-7)
    np.testing.assert_array_equal(gyv, 0.0)
    gxv, gyv = f(-1.0, xv, yv)
    np.testing.assert_array_equal(gxv, 0.0)
    np.testing.assert_allclose(gyv, 3 * yv ** 2, rtol=1e-12)


def test_nested_and_inside_scan():
    c, d, x = T.dscalar("c"), T.dscalar("d"), T.dvector("x")
    inner = ifelse(T.gt(d, 0), x.sum(), x.max())
    outer = ifelse(T.gt(c, 0), inner * 10, x.min())
    f = theon.function([c, d, x], outer)
    xv = np.array([1.0, 5.0, -2.0])
    assert [f(1, 1, xv), f(1, -1, xv), f(-1, 1, xv)] == [40.0, 50.0, -2.0]
    # a clipped running sum: the step's conditional runs inside the loop's body
    total, _ = theon.scan(lambda v, acc: ifelse(T.gt(acc + v, 3.0), acc, acc + v),
                          sequences=x, outputs_info=T.constant(0.0))
    np.testing.assert_allclose(theon.function([x], total)(np.array([1.0, 2.0, 5.0, -1.0])),
                               [1.0, 3.0, 3.0, 2.0])


def test_schedule_round_trips_through_serialisation():
    c, x = T.dscalar("c"), T.dvector("x")
    f = theon.function([c, x], ifelse(T.gt(c, 0), T.exp(x), T.log(x)))
    back = loads_schedule(dumps_schedule(f.schedule))
    assert ir.printing.format_schedule(back) == ir.printing.format_schedule(f.schedule)


def test_errors():
    c, x, m = T.dscalar("c"), T.dvector("x"), T.dmatrix("m")
    with pytest.raises(TypeError, match=r"^ifelse: the condition must be a scalar; got x of "
                       r"type"):
        ifelse(x, x, x)
    with pytest.raises(TypeError, match=r"^IfElse requires same types for true and false "
                       r"return values: true_branch=TensorType\(float64, shape=\(None,\)\), "
                       r"false_branch=TensorType\(float64, shape=\(None, None\)\) \(value 0\)$"):
        ifelse(c, x, m)
    with pytest.raises(TypeError, match=r"^IfElse requires same types.*float32"):
        ifelse(c, x, T.fvector("y"))
    with pytest.raises(ValueError, match=r"^ifelse: then_branch has 2 values and "
                       r"else_branch 1; they must have the same number$"):
        ifelse(c, [x, x], [x])
    with pytest.raises(ValueError, match=r"^ifelse: then_branch and else_branch must both "
                       r"be lists or both be single variables$"):
        ifelse(c, [x], x)
