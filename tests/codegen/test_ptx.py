"""CUDA code generation without a GPU: every elementwise op, in every dtype it takes, and
every reduction (each combiner, dtype and kind of axis set) is lowered to PTX by the CUDA
target and assembled by NVIDIA's ``ptxas`` for sm_80 and sm_90.  What the kernels compute
is checked in ``test_cuda_kernels.py`` (SIMT interpreter) and on a GPU (marker ``cuda``)."""
import shutil
import subprocess

import pytest

from theon import ir
from theon.codegen import compile_steps, get_target
from theon.ir import ELEMENTWISE, DTypeError, Node, TensorType
from theon.passes import run_pipeline
from theon.stopwatch import Stopwatch

PTXAS = shutil.which("ptxas") or next(
    (p for p in ("/usr/local/cuda/bin/ptxas",) if shutil.which(p)), None)
pytestmark = pytest.mark.skipif(PTXAS is None, reason="ptxas (CUDA toolkit) is not installed")

DTYPES = ("float32", "float64", "int32", "uint8", "int64", "bool")


def _kernel_steps(dtype):
    """One schedule step per op that accepts ``dtype``: a matrix op a broadcast row."""
    steps = []
    for name, op in sorted(ELEMENTWISE.items()):
        inputs = [Node.make(ir.Input.new(TensorType(dtype, shape), f"x{i}"))
                  for i, shape in zip(range(op.nin), [(None, None), (1, None), (None, 1)])]
        try:
            out = Node.make(op, inputs)
        except DTypeError:
            continue  # e.g. bitwise ops on floats
        schedule, _ = run_pipeline(ir.Graph(tuple(inputs), (out,)))
        steps.extend(schedule.steps)
    for target in DTYPES:
        source = Node.make(ir.Input.new(TensorType(dtype, (None,)), "x"))
        schedule, _ = run_pipeline(ir.Graph((source,), (Node.make(ir.cast_op(target),
                                                                  (source,)),)))
        steps.extend(schedule.steps)
    unique = {step.symbol: step for step in steps}
    return list(unique.values())


def _assemble(ptx, arch, tmp_path):
    path = tmp_path / f"kernels_{arch}.ptx"
    path.write_bytes(ptx)
    return subprocess.run([PTXAS, f"-arch={arch}", str(path), "-o", str(tmp_path / "out.cubin")],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_op_assembles_with_ptxas(dtype, arch, tmp_path):
    steps = _kernel_steps(dtype)
    assert len(steps) > 10
    compiled = compile_steps(steps, get_target("cuda", arch), f"ops_{dtype}", Stopwatch())
    ptx = compiled.code.decode()
    assert f".target {arch}" in ptx
    for step in steps:
        assert f".entry {step.symbol}(" in ptx
    result = _assemble(compiled.code, arch, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


def _reduction_steps(dtype):
    """One schedule step per reduction of a ``dtype`` tensor3: each combiner that takes it,
    over the inner axis, an outer axis, two axes and all, with and without keepdims; and
    a reduction fusing an elementwise producer."""
    from theon.ir.ops.reduce import Reduce
    x = Node.make(ir.Input.new(TensorType(dtype, (None, None, None)), "x"))
    outputs = []
    for combiner in ("add", "mul", "maximum", "minimum", "and", "or"):
        logical = combiner in ("and", "or")
        if logical and dtype != "bool":
            continue
        out_dtype = "bool" if logical else ("int64" if dtype in ("int32", "uint8", "bool")
                                            and combiner in ("add", "mul") else dtype)
        source = x if out_dtype == dtype else Node.make(ir.cast_op(out_dtype), (x,))
        for axes, keepdims in (((2,), False), ((0,), True), ((0, 2), False),
                               ((0, 1, 2), False)):
            outputs.append(Node.make(Reduce(combiner, axes, keepdims, out_dtype), (source,)))
    if dtype in ("float32", "float64"):
        square = Node.make(ELEMENTWISE["mul"], (x, x))
        outputs.append(Node.make(Reduce("add", (1,), False, dtype), (square,)))
    schedule, _ = run_pipeline(ir.Graph((x,), tuple(outputs)))
    return [step for step in schedule.steps if getattr(step, "kernel", None) is not None
            and step.kernel.reduce is not None]


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_reduction_assembles_with_ptxas(dtype, arch, tmp_path):
    steps = list({step.symbol: step for step in _reduction_steps(dtype)}.values())
    assert len(steps) >= 4
    ptx = compile_steps(steps, get_target("cuda", arch), f"reductions_{dtype}",
                        Stopwatch()).code
    text = ptx.decode()
    assert "shfl.sync.bfly.b32" in text and "bar.sync" in text and "atom.global.add" in text
    result = _assemble(ptx, arch, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


def test_fused_kernel_uses_a_grid_stride_loop_and_no_calls(tmp_path):
    x = Node.make(ir.Input.new(TensorType("float32", (None,)), "x"))
    y = Node.make(ir.Input.new(TensorType("float32", (None,)), "y"))
    e = ELEMENTWISE
    out = Node.make(e["add"], (Node.make(e["mul"], (Node.make(e["exp"], (
        Node.make(e["neg"], (Node.make(e["mul"], (x, x)),)),)), Node.make(e["sin"], (y,)))),
        Node.make(e["log1p"], (Node.make(e["abs"], (y,)),))))
    schedule, _ = run_pipeline(ir.Graph((x, y), (out,)))
    assert len(schedule.steps) == 1
    ptx = compile_steps(schedule.steps, get_target("cuda"), "w1", Stopwatch()).code.decode()
    assert "%ctaid.x" in ptx and "%nctaid.x" in ptx and "%tid.x" in ptx
    assert "call" not in ptx.split(".entry")[1]   # math inlined: no calls on the GPU
    assert _assemble(ptx.encode(), "sm_80", tmp_path).returncode == 0


def test_unknown_target_names_the_choices():
    with pytest.raises(ValueError, match="unknown target 'tpu'; expected 'cpu' or 'cuda'"):
        get_target("tpu")


def test_function_compiled_for_cuda_gives_ptx_and_refuses_to_run(tmp_path):
    import numpy as np

    import theon
    import theon.tensor as T
    x, y = T.fmatrix("x"), T.frow("y")
    f = theon.function([x, y], T.tanh(x) * y + 1, target="cuda")
    assert f.report.kernels == 1 and f.report.kernels_compiled == 1
    ptx = f.source("ptx")
    assert ".target sm_80" in ptx and _assemble(ptx.encode(), "sm_80", tmp_path).returncode == 0
    with pytest.raises(RuntimeError, match=r"compiled for target='cuda'; its PTX is available "
                                           r"through f.source\('ptx'\), but theon cannot launch"):
        f(np.ones((2, 3), np.float32), np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="kind 'ptx' needs a function compiled with "
                                         "target='cuda'"):
        theon.function([x], x + 1).source("ptx")


def test_one_hot_kernels_read_element_positions_and_assemble(tmp_path):
    import theon
    import theon.tensor as T
    x, y = T.fmatrix("x"), T.ivector("y")
    cost = -T.mean(T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y])
    f = theon.function([x, y], [cost, theon.grad(cost, x)], target="cuda")
    steps = f._executable.schedule.kernel_steps()
    assert any(n.prim == "index" for step in steps
               for n in ir.scalar.topological(step.kernel.body))
    assert any(step.kernel.reduce for step in steps)
    for arch in ("sm_80", "sm_90"):
        ptx = compile_steps(steps, get_target("cuda", arch), "one_hot", Stopwatch()).code
        result = _assemble(ptx, arch, tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
