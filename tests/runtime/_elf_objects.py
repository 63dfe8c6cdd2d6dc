"""Object files for the ELF loader's tests: built by LLVM the way theon builds its kernels.

The corpus module exercises what theon's code generator (and LLVM behind it) puts into an
object: vector constants in ``.rodata.cst*``, a constant table, internal calls, calls into
libm and libc (``fmod``, ``fmodf``, ``memset``, ``memcpy``), masked vector loads and stores,
a switch with a jump table, writable globals in ``.data`` and ``.bss``, and a function
pointer stored in data.
"""
import functools

# (reloc, codemodel) under which the loader must work: theon's current ones first.
SETTINGS = [("static", "jitdefault"), ("pic", "small"), ("pic", "default"), ("static", "large")]

CORPUS_IR = r"""
@table = internal constant [8 x double] [double 1.0, double 2.5, double -3.0, double 4.25,
                                          double 0.5, double 6.0, double -7.5, double 8.0]
@counter = internal global i64 0
@seeded = internal global i64 5
@helper_ptr = global ptr @helper
@aligned64 = constant [16 x float] [float 1.0, float 2.0, float 3.0, float 4.0, float 5.0,
                                     float 6.0, float 7.0, float 8.0, float 9.0, float 10.0,
                                     float 11.0, float 12.0, float 13.0, float 14.0,
                                     float 15.0, float 16.0], align 64
@zeros64 = global [32 x i64] zeroinitializer, align 64

declare <16 x float> @llvm.masked.load.v16f32.p0(ptr, i32 immarg, <16 x i1>, <16 x float>)
declare void @llvm.masked.store.v16f32.p0(<16 x float>, ptr, i32 immarg, <16 x i1>)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1 immarg)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1 immarg)

; out[i] = x[i] * (i mod 16) + 0.5: a non-splat and a splat constant, masked tail
define void @poly16(ptr noalias %x, ptr noalias %out, i64 %n) {
entry:
  %whole = and i64 %n, -16
  br label %head
head:
  %i = phi i64 [0, %entry], [%next, %body]
  %more = icmp slt i64 %i, %whole
  br i1 %more, label %body, label %tail
body:
  %px = getelementptr float, ptr %x, i64 %i
  %po = getelementptr float, ptr %out, i64 %i
  %v = load <16 x float>, ptr %px, align 4
  %r = call <16 x float> @scale(<16 x float> %v)
  store <16 x float> %r, ptr %po, align 4
  %next = add i64 %i, 16
  br label %head
tail:
  %left = sub i64 %n, %whole
  %left32 = trunc i64 %left to i32
  %ins = insertelement <16 x i32> undef, i32 %left32, i32 0
  %splat = shufflevector <16 x i32> %ins, <16 x i32> undef, <16 x i32> zeroinitializer
  %mask = icmp slt <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7,
                               i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15>,
                              %splat
  %tx = getelementptr float, ptr %x, i64 %whole
  %to = getelementptr float, ptr %out, i64 %whole
  %tv = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %tx, i32 4, <16 x i1> %mask,
                                                      <16 x float> zeroinitializer)
  %tr = call <16 x float> @scale(<16 x float> %tv)
  call void @llvm.masked.store.v16f32.p0(<16 x float> %tr, ptr %to, i32 4, <16 x i1> %mask)
  ret void
}

define internal <16 x float> @scale(<16 x float> %v) noinline {
  %m = fmul <16 x float> %v, <float 0.0, float 1.0, float 2.0, float 3.0, float 4.0,
                              float 5.0, float 6.0, float 7.0, float 8.0, float 9.0,
                              float 10.0, float 11.0, float 12.0, float 13.0, float 14.0,
                              float 15.0>
  %a = fadd <16 x float> %m, <float 0.5, float 0.5, float 0.5, float 0.5, float 0.5,
                              float 0.5, float 0.5, float 0.5, float 0.5, float 0.5,
                              float 0.5, float 0.5, float 0.5, float 0.5, float 0.5,
                              float 0.5>
  ret <16 x float> %a
}

define double @lookup(i64 %i) {
  %k = and i64 %i, 7
  %p = getelementptr [8 x double], ptr @table, i64 0, i64 %k
  %v = load double, ptr %p
  ret double %v
}

define double @fmod_of(double %a, double %b) {
  %r = frem double %a, %b
  ret double %r
}

define float @fmodf_of(float %a, float %b) {
  %r = frem float %a, %b
  ret float %r
}

define internal double @helper(double %x) noinline {
  %y = fmul double %x, 3.0
  %z = fadd double %y, 1.0
  ret double %z
}

; 3 x + 1 applied twice, once through the function pointer stored in data
define double @twice(double %x) {
  %a = call double @helper(double %x)
  %f = load ptr, ptr @helper_ptr
  %b = call double %f(double %a)
  ret double %b
}

define void @fill_copy(ptr %dst, ptr %src, i64 %n, i8 %byte) {
  call void @llvm.memcpy.p0.p0.i64(ptr %dst, ptr %src, i64 %n, i1 false)
  %end = getelementptr i8, ptr %dst, i64 %n
  call void @llvm.memset.p0.i64(ptr %end, i8 %byte, i64 %n, i1 false)
  ret void
}

; counter += by; return counter + seeded (seeded starts at 5, lives in .data)
define i64 @bump(i64 %by) {
  %c = load i64, ptr @counter
  %c2 = add i64 %c, %by
  store i64 %c2, ptr @counter
  %s = load i64, ptr @seeded
  %r = add i64 %c2, %s
  ret i64 %r
}

define i32 @switchy(i32 %k) {
entry:
  switch i32 %k, label %other [i32 0, label %a
                               i32 1, label %b
                               i32 2, label %c
                               i32 3, label %d
                               i32 4, label %e
                               i32 5, label %f]
a:
  ret i32 17
b:
  ret i32 -4
c:
  ret i32 99
d:
  ret i32 12345
e:
  ret i32 7
f:
  ret i32 -1000
other:
  ret i32 0
}
"""

CORPUS_SYMBOLS = ("poly16", "lookup", "fmod_of", "fmodf_of", "twice", "fill_copy", "bump",
                  "switchy", "helper_ptr", "aligned64", "zeros64")

SWITCH_VALUES = {0: 17, 1: -4, 2: 99, 3: 12345, 4: 7, 5: -1000}
TABLE = (1.0, 2.5, -3.0, 4.25, 0.5, 6.0, -7.5, 8.0)


@functools.lru_cache(maxsize=None)
def llvm():
    """``llvmlite.binding``, with the native target and every other target initialised."""
    import llvmlite.binding as binding
    binding.initialize_native_target()
    binding.initialize_native_asmprinter()
    binding.initialize_all_targets()
    binding.initialize_all_asmprinters()
    return binding


@functools.lru_cache(maxsize=None)
def machine(reloc, codemodel, triple=None):
    """A target machine for this host (or ``triple``) with the given relocation settings."""
    return new_machine(reloc, codemodel, triple)


def new_machine(reloc, codemodel, triple=None):
    """A fresh target machine (an execution engine takes ownership of the one it gets)."""
    binding = llvm()
    if triple is not None:
        target = binding.Target.from_triple(triple)
        return target.create_target_machine(opt=1, reloc=reloc, codemodel=codemodel)
    target = binding.Target.from_triple(binding.get_process_triple())
    return target.create_target_machine(cpu=binding.get_host_cpu_name(),
                                        features=binding.get_host_cpu_features().flatten(),
                                        opt=1, reloc=reloc, codemodel=codemodel)


@functools.lru_cache(maxsize=None)
def compile_ir(text, reloc="static", codemodel="jitdefault", triple=None):
    """Object code of LLVM IR ``text``, optimised at O2 like theon's kernels."""
    binding = llvm()
    tm = machine(reloc, codemodel, triple)
    module = binding.parse_assembly(text)
    if triple is not None:
        module.triple = triple
    module.verify()
    options = binding.create_pipeline_tuning_options(speed_level=2)
    builder = binding.create_pass_builder(tm, options)
    builder.getModulePassManager().run(module, builder)
    return tm.emit_object(module)


def mcjit_addresses(code, symbols):
    """(engine, {symbol: address}) for ``code`` loaded by LLVM's MCJIT, for comparison."""
    binding = llvm()
    engine = binding.create_mcjit_compiler(binding.parse_assembly(""),
                                           new_machine("static", "jitdefault"))
    engine.add_object_file(binding.ObjectFileRef.from_data(code))
    engine.finalize_object()
    return engine, {name: engine.get_function_address(name) for name in symbols}


def relocation_types(code):
    """The set of relocation type numbers in ``code``'s ``.rela`` sections (via the loader's
    own parser)."""
    from theon.runtime import elf
    return elf.relocation_types(code)
