"""LLVM through llvmlite: lazy initialisation, host target machines, the optimiser.

``llvmlite.binding`` costs tens of milliseconds to import and initialise, so nothing here
runs at ``import theon``; the first compile pays for it once.
"""
import functools

from ..ir import CompileError

# LLVM's settings are declared with the cache key they are part of (host.py: no LLVM there)
from .host import CODEGEN_LEVEL, PIPELINE


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
