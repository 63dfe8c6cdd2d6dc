"""LLVM through llvmlite: lazy initialisation, host target machines, the optimiser.

``llvmlite.binding`` costs tens of milliseconds to import and initialise, so nothing here
runs at ``import theon``; the first compile pays for it once.
"""
import functools

from ..ir import CompileError

# The IR theon emits is already vectorised, with its loops and math functions written out:
# the middle end only has to clean up (``PIPELINE``), not to discover parallelism.  LLVM's
# whole O2 pipeline cost 5x the compile time of this short list for the same machine code
# speed (17-kernel logistic-regression step on znver4: 157 vs 30 ms), and its inliner
# copied every kernel into its ``.all`` wrapper, doubling the back end's work.  The
# "less" back end gives the run time of "aggressive" at ~30% less compile time.
PIPELINE = ("always_inliner", "sroa", "instruction_combine", "simplify_cfg", "loop_rotate",
            "new_gvn", "instruction_combine", "simplify_cfg", "aggressive_dce",
            "global_dead_code_eliminate")
# the first tier only inlines the math library and promotes accumulators to registers
QUICK_PIPELINE = ("always_inliner", "sroa")
OPT_LEVEL = "theon-" + "+".join(PIPELINE)  # part of the cache key: a change recompiles
CODEGEN_LEVEL = 1
# Tiered compilation's first tier: FastISel and the fast register allocator emit a module in
# a third of the time (W3's 14 kernels: ~45 vs ~125 ms) for code 1.05x-1.9x slower, used
# until the CODEGEN_LEVEL code compiled in the background replaces it (runtime/loader.py).
QUICK_CODEGEN_LEVEL = 0


@functools.lru_cache(maxsize=None)
def binding():
    """``llvmlite.binding``, initialised for the native target (once per process)."""
    import llvmlite.binding as llvm
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


@functools.lru_cache(maxsize=None)
def host_machine(level=CODEGEN_LEVEL):
    """The target machine for this CPU, with its name and every feature it has, emitting
    code at back-end optimisation ``level``."""
    llvm = binding()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=level, reloc="static", codemodel="jitdefault")


@functools.lru_cache(maxsize=None)
def nvptx_machine(arch):
    """A target machine emitting PTX for GPU architecture ``arch`` ('sm_80', 'sm_90', ...)."""
    llvm = binding()
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    target = llvm.Target.from_triple("nvptx64-nvidia-cuda")
    return target.create_target_machine(cpu=arch, opt=CODEGEN_LEVEL)


@functools.lru_cache(maxsize=None)
def host_description():
    """(triple, cpu name, features, LLVM version): everything that changes the code."""
    llvm = binding()
    return (llvm.get_process_triple(), llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten(), ".".join(map(str, llvm.llvm_version_info)))


@functools.lru_cache(maxsize=None)
def vector_bytes():
    """Width in bytes of this CPU's widest vector registers (64 with AVX-512)."""
    features = host_description()[2]
    if "+avx512f" in features:
        return 64
    if "+avx" in features:
        return 32
    return 16


def parse_and_verify(text, name):
    """A verified ``ModuleRef`` from LLVM IR ``text``; CompileError on failure."""
    llvm = binding()
    try:
        ref = llvm.parse_assembly(text)
        ref.verify()
    except RuntimeError as error:
        path = _dump(text, name)
        raise CompileError(f"LLVM rejected the IR of {name}: {error}; IR written to {path}") \
            from error
    return ref


def optimize(ref, machine, pipeline=PIPELINE):
    """Run theon's middle-end ``pipeline`` on ``ref`` in place: inline the math library's
    always-inline functions, promote accumulators to registers, simplify and deduplicate."""
    llvm = binding()
    builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(
        speed_level=0))
    manager = llvm.create_new_module_pass_manager()
    for name in pipeline:
        getattr(manager, f"add_{name}_pass")()
    manager.run(ref, builder)
    return ref


def _dump(text, name):
    import tempfile
    handle = tempfile.NamedTemporaryFile("w", suffix=".ll", prefix=f"theon-{name}-",
                                         delete=False)
    with handle:
        handle.write(text)
    return handle.name
