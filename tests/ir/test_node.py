"""Hash-consed nodes: identity, deterministic digests, and no recursion anywhere."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import ir
from theon.passes import PIPELINE, canonicalize, run_pipeline


def test_building_twice_gives_the_same_node():
    x, y = T.dvector("x"), T.dvector("y")
    assert (T.exp(x) * y + 1.0).node is (T.exp(x) * y + 1.0).node
    assert T.exp(x).node is T.exp(x).node
    assert T.exp(x).node is not T.exp(y).node
    assert T.constant(np.arange(3.0)).node is T.constant(np.arange(3.0)).node
    assert T.constant(np.arange(3.0)).node is not T.constant(np.arange(3)).node


def test_inputs_of_same_type_are_distinct():
    assert T.dvector("x").node is not T.dvector("x").node


def test_commutative_operands_meet_after_canonicalize():
    x, y = T.dvector("x"), T.dvector("y")
    a, b = (x + y).node, (y + x).node
    assert a is not b
    g = ir.Graph((x.node, y.node), (a, b))
    out = canonicalize(g).outputs
    assert out[0] is out[1]


def test_node_replace_returns_self_when_unchanged():
    x = T.dvector("x")
    node = T.exp(x).node
    assert node.replace() is node
    assert node.replace(inputs=[x.node]) is node


DIGEST_SCRIPT = """
import theon.tensor as T
from theon import ir
x, y = T.fvector('x'), T.fmatrix('y')
out = T.exp(-x * x) + y * 0.5
print(ir.graph_digest(ir.Graph((x.node, y.node), (out.node,))))
"""


def test_graph_digest_is_deterministic_across_processes():
    root = str(pathlib.Path(theon.__file__).parents[1])
    digests = set()
    for seed in ("0", "1"):
        env = {"PYTHONPATH": root, "PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        digests.add(subprocess.run([sys.executable, "-c", DIGEST_SCRIPT], env=env, check=True,
                                   capture_output=True, text=True).stdout.strip())
    x, y = T.fvector("x"), T.fmatrix("y")
    T.dvector("noise")  # creation order and input ids must not matter
    out = T.exp(-x * x) + y * 0.5
    digests.add(ir.graph_digest(ir.Graph((x.node, y.node), (out.node,))))
    assert len(digests) == 1


def test_graph_digest_distinguishes_structure():
    x, y = T.dvector("x"), T.dvector("y")

    def digest(inputs, out):
        return ir.graph_digest(ir.Graph(tuple(v.node for v in inputs), (out.node,)))

    assert digest([x, y], x - y) != digest([x, y], y - x)
    assert digest([x, y], x - y) != digest([y, x], x - y)  # positions matter
    assert digest([x, y], x - y) == digest([x, y], x - y)
    assert digest([x], x + 1.0) != digest([x], x + 2.0)
    f = T.fvector("f")
    assert digest([x], x * 2.0) != digest([f], f * 2.0)


@pytest.fixture
def low_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(500)
    yield
    sys.setrecursionlimit(old)


def test_long_chain_without_recursion(low_recursion_limit):
    """A 20000-node chain: toposort, digest, rewrite passes, fusion and evaluation."""
    x = T.dvector("x")
    node = x.node
    ops = [ir.ELEMENTWISE["sin"], ir.ELEMENTWISE["cos"]]
    for k in range(20000):
        node = ir.Node.make(ops[k % 2], (node,))
    g = ir.Graph((x.node,), (node,))
    assert len(ir.toposort([node])) == 20001
    assert len(ir.graph_digest(g)) == 40
    ir.check(g)
    fused, _ = run_pipeline(g, passes=PIPELINE[:-1])
    kernels = [n for n in fused.nodes() if isinstance(n.op, ir.Kernel)]
    assert len(kernels) >= 1
    assert sum(len(k.op.members) for k in kernels) == 20000
    value = np.array([0.3, -1.0])
    expected = value.copy()
    for k in range(20000):
        expected = np.sin(expected) if k % 2 == 0 else np.cos(expected)
    np.testing.assert_allclose(ir.evaluate(g, [value])[0], expected, rtol=1e-12)
    np.testing.assert_allclose(ir.evaluate(fused, [value])[0], expected, rtol=1e-12)


def test_nodes_do_not_pickle():
    import pickle
    with pytest.raises(TypeError, match="ir.Node does not pickle"):
        pickle.dumps(T.dvector("x").node)
