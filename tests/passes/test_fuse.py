"""Fusion: how many kernels a graph becomes, with the IR verifier on after every pass."""
import functools

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import ir
from theon.passes import PIPELINE, run_pipeline


def graph_of(inputs, outputs):
    return ir.Graph(tuple(v.node for v in inputs), tuple(v.node for v in outputs))


def kernels_of(graph):
    """Kernel nodes of the fused graph (the pipeline up to fuse, verified after each pass)."""
    fused, _ = run_pipeline(graph, passes=PIPELINE[:-1], verify=True)
    return [n for n in fused.nodes() if isinstance(n.op, ir.Kernel)], fused


def w1():
    x, y, z = T.fvector("x"), T.fvector("y"), T.fvector("z")
    return [x, y, z], [T.exp(-x * x) * T.sin(y) + T.log1p(abs(z)) * 0.5]


def sum50():
    xs = [T.dvector(f"x{i}") for i in range(50)]
    return xs, [functools.reduce(lambda a, b: a + b, xs)]


def shared_subexpression():
    x, y = T.dvector("x"), T.dvector("y")
    common = T.exp(x) * y
    return [x, y], [common + 1, T.sin(common)]


def vector_into_matrix():
    v, m = T.dvector("v"), T.dmatrix("m")
    computed = T.exp(v) * 2  # a computed vector ...
    return [v, m], [T.sin(m) + computed]  # ... broadcast over a matrix


def int_and_compare():
    i, j = T.ivector("i"), T.ivector("j")
    return [i, j], [T.switch(i > j, i // (j + 1), i % 7) ^ j]


CASES = {
    "w1": (w1, 1, [1]),
    "sum50": (sum50, 1, [1]),
    "shared_subexpression": (shared_subexpression, 1, [2]),
    "vector_into_matrix": (vector_into_matrix, 2, None),
    "int_and_compare": (int_and_compare, 1, [1]),
}


@pytest.mark.parametrize("name", CASES)
def test_kernel_count(name):
    build, expected, outputs_per_kernel = CASES[name]
    inputs, outputs = build()
    kernels, _ = kernels_of(graph_of(inputs, outputs))
    assert len(kernels) == expected
    if outputs_per_kernel is not None:
        assert [len(k.op.out_types) for k in kernels] == outputs_per_kernel
    f = theon.function(inputs, outputs)
    assert f.report.kernels == expected
    assert sum(isinstance(s, ir.KernelStep) for s in f.schedule.steps) == expected


def test_fifty_input_sum_reads_every_input_once():
    inputs, outputs = sum50()
    (kernel,), _ = kernels_of(graph_of(inputs, outputs))
    assert len(kernel.op.in_types) == 50
    f = theon.function(inputs, outputs[0])
    values = [np.full(7, float(i)) for i in range(50)]
    np.testing.assert_array_equal(f(*values), np.full(7, float(sum(range(50)))))


def test_vector_into_matrix_does_not_recompute():
    inputs, outputs = vector_into_matrix()
    kernels, _ = kernels_of(graph_of(inputs, outputs))
    ranks = sorted(k.op.ndim for k in kernels)
    assert ranks == [1, 2]
    vector_kernel = next(k for k in kernels if k.op.ndim == 1)
    assert "exp" in vector_kernel.op.members
    f = theon.function(inputs, outputs[0])
    v, m = np.linspace(-1, 1, 3), np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(f(v, m), np.sin(m) + np.exp(v) * 2, rtol=1e-14)


def test_shared_subexpression_values():
    inputs, outputs = shared_subexpression()
    f = theon.function(inputs, outputs)
    x, y = np.linspace(-2, 2, 9), np.linspace(0, 1, 9)
    a, b = f(x, y)
    np.testing.assert_allclose(a, np.exp(x) * y + 1, rtol=1e-14)
    np.testing.assert_allclose(b, np.sin(np.exp(x) * y), rtol=1e-14)


@pytest.mark.parametrize("name", CASES)
def test_theon_check_environment_flag(name, monkeypatch):
    """THEON_CHECK=1 turns the verifier on in run_pipeline and theon.function."""
    monkeypatch.setenv("THEON_CHECK", "1")
    calls = []
    original = ir.check

    def counting_check(graph, after=None):
        calls.append(after)
        return original(graph, after)

    import theon.passes.pipeline as pipeline
    monkeypatch.setattr(pipeline, "check", counting_check)
    inputs, outputs = CASES[name][0]()
    run_pipeline(graph_of(inputs, outputs))
    assert calls == ["(input)"] + [step.name for step in PIPELINE[:-1]]


def test_verifier_names_the_pass_that_broke_the_graph():
    x = T.dvector("x")
    graph = graph_of([x], [T.exp(x)])

    def broken(graph):  # drops the input: the output now reads a dangling leaf
        return ir.Graph((), graph.outputs)

    passes = (theon.passes.Pass("breaker", broken),)
    with pytest.raises(theon.CompileError, match="ir.check after pass 'breaker': dangling input"):
        run_pipeline(graph, passes=passes, verify=True)
    run_pipeline(graph, passes=passes, verify=False)  # no check, no error


def test_fused_graph_evaluates_like_the_original():
    inputs, outputs = w1()
    graph = graph_of(inputs, outputs)
    _, fused = kernels_of(graph)
    rng = np.random.default_rng(3)
    values = [rng.normal(size=11).astype(np.float32) for _ in inputs]
    (before,) = ir.evaluate(graph, values)
    (after,) = ir.evaluate(fused, values)
    np.testing.assert_allclose(after, before, rtol=1e-6)


def test_a_cheap_value_two_kernels_read_is_recomputed_not_stored():
    # x - max(x) feeds a reduction (the exp-sum) and an elementwise kernel: each recomputes
    # the subtraction from x and the row maxima, so no kernel stores it
    x = T.dmatrix("x")
    shifted = x - T.max(x, axis=1, keepdims=True)
    lse = T.log(T.exp(shifted).sum(axis=1, keepdims=True))
    inputs, outputs = [x], [shifted - lse, shifted * 2]
    kernels, _ = kernels_of(graph_of(inputs, outputs))
    elementwise = [k for k in kernels if k.op.reduce is None and
                   k.op.out_types[0].broadcastable == (False, False)]
    assert len(elementwise) == 2  # one per output: neither reads a stored x - max(x)
    for kernel in elementwise:
        full = [i for i in kernel.inputs if i.type.broadcastable == (False, False)]
        assert full == [x.node], kernel.op.members
    a = np.random.default_rng(0).standard_normal((4, 6))
    got = theon.function(inputs, outputs)(a)
    s = a - a.max(axis=1, keepdims=True)
    np.testing.assert_allclose(got[0], s - np.log(np.exp(s).sum(axis=1, keepdims=True)),
                               rtol=1e-13)
    np.testing.assert_allclose(got[1], 2 * s, rtol=1e-14)


def test_regions_sharing_a_kernel_do_not_make_a_cycle_through_it():
    # the cost's scalars (which need the reduction) and the gradient's -1/n (which the
    # reduction's kernel must not wait for) share cast(n): fusion must order the kernels
    x, y = T.dmatrix("x"), T.ivector("y")
    cost = -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])
    inputs, outputs = [x, y], [cost, theon.grad(cost, x)]
    kernels_of(graph_of(inputs, outputs))  # verified after every pass
    f = theon.function(inputs, outputs)
    got_cost, got_grad = f(np.zeros((2, 3)), np.array([0, 2], np.int32))
    np.testing.assert_allclose(got_cost, np.log(3), rtol=1e-14)
    np.testing.assert_allclose(got_grad, (np.full((2, 3), 1 / 3) - np.eye(3)[[0, 2]]) / 2,
                               rtol=1e-14)


def test_a_reduction_reads_a_value_stored_anyway_instead_of_recomputing_it():
    # the hidden layer's gradient is stored for the weights' product; the bias gradient's
    # column sum reads it, and does not recompute tanh(x @ W + b) for each element
    x, W, b, g = T.fmatrix("x"), T.fmatrix("W"), T.fvector("b"), T.fmatrix("g")
    h = T.tanh(T.dot(x, W) + b)
    dh = (1 - h ** 2) * g
    inputs, outputs = [x, W, b, g], [T.dot(x.T, dh), dh.sum(axis=0)]
    kernels, _ = kernels_of(graph_of(inputs, outputs))
    (column_sum,) = [k for k in kernels if k.op.reduce is not None]
    assert "tanh" not in column_sum.op.members and column_sum.op.members == ("add-reduce[0]",)
    rng = np.random.default_rng(4)
    values = [rng.standard_normal(shape).astype(np.float32)
              for shape in ((5, 3), (3, 4), (4,), (5, 4))]
    product, total = theon.function(inputs, outputs)(*values)
    hv = np.tanh(values[0] @ values[1] + values[2])
    np.testing.assert_allclose(total, ((1 - hv ** 2) * values[3]).sum(axis=0), rtol=1e-5)
