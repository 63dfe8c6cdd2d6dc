"""Kernel -> native code with llvmlite: one body emitter, one Target per backend.

Importing this package imports nothing from llvmlite: ``host`` (cache keys) is usable by a
process that only loads cached code.
"""


def compile_steps(steps, target, name, watch, quick=False):
    """Emit the kernels of ``steps`` into one LLVM module and compile it for ``target``
    (``quick``: with the CPU's fastest back end, the first tier of tiered compilation).

    One module per compiled function: LLVM's fixed cost per module dominates small kernels.
    """
    with watch("codegen"):
        module = target.new_module(name)  # the first one initialises LLVM
        target.plan_module(module, steps)
        for step in steps:
            target.define_kernel(module, step)
    return target.compile(module, name, watch, quick=quick)


def get_target(name, arch=None):
    """The Target called ``name``: 'cpu', or 'cuda' (PTX for ``arch``, default sm_80)."""
    if name == "cpu":
        from .cpu import CPU
        return CPU
    if name == "cuda":
        from .cuda import DEFAULT_ARCH, CudaTarget
        return CudaTarget(arch or DEFAULT_ARCH)
    raise ValueError(f"unknown target {name!r}; expected 'cpu' or 'cuda'")
