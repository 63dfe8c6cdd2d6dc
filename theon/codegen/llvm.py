"""LLVM through llvmlite: lazy initialisation, host target machines, the optimiser.

``llvmlite.binding`` costs tens of milliseconds to import and initialise, so nothing here
runs at ``import theon``; the first compile pays for it once.
"""
import functools
import time

from ..ir import CompileError

OPT_LEVEL = 3


@functools.lru_cache(maxsize=None)
def binding():
    """``llvmlite.binding``, initialised for the native target (once per process)."""
    import llvmlite.binding as llvm
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    # A vectorised epilogue loop is a third copy of every inlined math function; without
    # it compiles are ~25% faster and run time is unchanged (the scalar remainder stays).
    llvm.set_option("theon", "-enable-epilogue-vectorization=false")
    return llvm


@functools.lru_cache(maxsize=None)
def host_machine():
    """The target machine for this CPU: its name and every feature it has."""
    llvm = binding()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=OPT_LEVEL, reloc="static", codemodel="jitdefault")


@functools.lru_cache(maxsize=None)
def host_description():
    """(triple, cpu name, features, LLVM version): everything that changes the code."""
    llvm = binding()
    return (llvm.get_process_triple(), llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten(), ".".join(map(str, llvm.llvm_version_info)))


def parse_and_verify(module, name):
    """A verified ``ModuleRef`` from an llvmlite ``ir.Module``; CompileError on failure."""
    llvm = binding()
    text = str(module)
    try:
        ref = llvm.parse_assembly(text)
        ref.verify()
    except RuntimeError as error:
        path = _dump(text, name)
        raise CompileError(f"LLVM rejected the IR of {name}: {error}; IR written to {path}") \
            from error
    return ref


def optimize(ref, machine, speed_level=OPT_LEVEL):
    """Run LLVM's O``speed_level`` pipeline (with both vectorisers) on ``ref`` in place."""
    llvm = binding()
    options = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    options.loop_vectorization = True
    options.slp_vectorization = True
    builder = llvm.create_pass_builder(machine, options)
    builder.getModulePassManager().run(ref, builder)
    return ref


def _dump(text, name):
    import tempfile
    handle = tempfile.NamedTemporaryFile("w", suffix=".ll", prefix=f"theon-{name}-",
                                         delete=False)
    with handle:
        handle.write(text)
    return handle.name


class Stopwatch:
    """Accumulates named stage times: ``with watch("llvm"): ...``."""

    def __init__(self):
        self.stages = {}

    def __call__(self, stage):
        return _Timed(self.stages, stage)


class _Timed:
    def __init__(self, stages, stage):
        self.stages, self.stage = stages, stage

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.start
        self.stages[self.stage] = self.stages.get(self.stage, 0.0) + elapsed
