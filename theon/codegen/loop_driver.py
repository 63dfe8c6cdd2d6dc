"""The native loop driver's machine code (its program's format: ``loop_program``)."""
from llvmlite import ir

from .host import ARRAY_DATA, ARRAY_DIMS, ARRAY_FLAGS, ARRAY_ND, ARRAY_STRIDES
from .loop_program import (BIND, BIND_FAILED, CALL, COPY, END, FILL, GEMM, MARK, MAX_CALL_ARGS,
                           SET, SYMBOL, UNTIL, VIEW)
from .loops import for_range

I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()


def define_driver(module):
    """Define ``SYMBOL`` in the llvmlite ``module``."""
    signature = ir.FunctionType(ir.VoidType(), [PTR, I64, I64, PTR])
    function = ir.Function(module, signature, name=SYMBOL)
    program, first, last, result = function.args
    blocks = _Blocks(function)
    builder = ir.IRBuilder(blocks.entry)
    step = builder.alloca(I64, name="step")
    pc = builder.alloca(I64, name="pc")
    builder.store(first, step)
    builder.branch(blocks.step)

    builder.position_at_end(blocks.step)
    done = builder.icmp_signed(">=", builder.load(step, typ=I64), last)
    builder.cbranch(done, blocks.finished, blocks.start)
    builder.position_at_end(blocks.start)
    builder.store(I64(0), pc)
    builder.branch(blocks.dispatch)

    builder.position_at_end(blocks.finished)
    _finish(builder, result, last, I64(0))

    code = _Code(builder, program, pc, step, result, blocks)
    builder.position_at_end(blocks.dispatch)
    switch = builder.switch(code.word(0), blocks.bad)
    for opcode, emit in ((END, _end), (SET, _set), (VIEW, _view), (CALL, _call),
                         (FILL, _fill), (GEMM, _gemm), (COPY, _copy), (UNTIL, _until),
                         (BIND, _bind), (MARK, _mark)):
        block = function.append_basic_block(f"op{opcode}")
        switch.add_case(I64(opcode), block)
        builder.position_at_end(block)
        emit(code)
    builder.position_at_end(blocks.bad)  # a malformed program: report it, touch nothing
    _finish(builder, result, builder.load(step, typ=I64), I64(-2))
    return function


class _Blocks:
    def __init__(self, function):
        self.entry = function.append_basic_block("entry")
        self.step = function.append_basic_block("step")
        self.start = function.append_basic_block("start")
        self.dispatch = function.append_basic_block("dispatch")
        self.finished = function.append_basic_block("finished")
        self.bad = function.append_basic_block("bad")


class _Code:
    """Reading the program at the current instruction."""

    def __init__(self, builder, program, pc, step, result, blocks):
        self.builder, self.program, self.pc = builder, program, pc
        self.step, self.result, self.blocks = step, result, blocks

    def word(self, offset):
        """The int64 at ``program[pc + offset]`` (``offset``: an int or an i64 value)."""
        builder = self.builder
        if isinstance(offset, int):
            offset = I64(offset)
        index = builder.add(builder.load(self.pc, typ=I64), offset)
        return builder.load(builder.gep(self.program, [index], source_etype=I64), typ=I64)

    def pointer(self, offset):
        return self.builder.inttoptr(self.word(offset), PTR)

    def data_field(self, obj):
        """The address of the data-pointer field of array object ``obj``."""
        return self.builder.gep(obj, [I64(ARRAY_DATA)], source_etype=I8)

    def data(self, offset):
        """The data pointer of the array object at ``program[pc + offset]``."""
        return self.builder.load(self.data_field(self.pointer(offset)), typ=PTR)

    def next(self, length):
        """Advance past an instruction of ``length`` words and dispatch the next one."""
        builder = self.builder
        builder.store(builder.add(builder.load(self.pc, typ=I64), length), self.pc)
        builder.branch(self.blocks.dispatch)


def _finish(builder, result, steps, status):
    builder.store(steps, result)
    builder.store(status, builder.gep(result, [I64(1)], source_etype=I64))
    builder.ret_void()


def _end(code):
    builder = code.builder
    builder.store(builder.add(builder.load(code.step, typ=I64), I64(1)), code.step)
    builder.branch(code.blocks.step)


def _set(code):
    builder = code.builder
    i = builder.load(code.step, typ=I64)
    row = builder.add(builder.mul(code.word(3), i), code.word(4))
    modulus = code.word(5)
    wrapped = builder.srem(row, builder.select(
        builder.icmp_signed(">", modulus, I64(0)), modulus, I64(1 << 62)))
    offset = builder.mul(wrapped, code.word(6))
    address = builder.gep(code.pointer(2), [offset], source_etype=I8)
    builder.store(address, code.data_field(code.pointer(1)))
    code.next(I64(7))


def _view(code):
    builder = code.builder
    address = builder.gep(code.data(2), [code.word(3)], source_etype=I8)
    builder.store(address, code.data_field(code.pointer(1)))
    code.next(I64(4))


def _call(code):
    """A switch over the argument count: each case calls with that many pointers."""
    builder = code.builder
    function = builder.function
    address = code.word(1)  # the kernel's entry
    count = code.word(2)
    failed = function.append_basic_block("call_failed")
    after = function.append_basic_block("call_done")
    # every case's arguments loaded once, here: words past a short instruction are read
    # but not passed (the program ends with MAX_CALL_ARGS words of padding)
    loaded = [code.pointer(3 + k) for k in range(MAX_CALL_ARGS)]
    switch = builder.switch(count, code.blocks.bad)
    statuses = []
    for n in range(1, MAX_CALL_ARGS + 1):
        block = function.append_basic_block(f"call{n}")
        switch.add_case(I64(n), block)
        builder.position_at_end(block)
        args = loaded[:n]
        callee = builder.inttoptr(address, ir.FunctionType(I32, [PTR] * n).as_pointer())
        statuses.append((builder.call(callee, args), builder.block))
        builder.branch(after)
    builder.position_at_end(after)
    status = builder.phi(I32)
    for value, block in statuses:
        status.add_incoming(value, block)
    ok = builder.icmp_signed("==", status, I32(0))
    proceed = function.append_basic_block("call_ok")
    builder.cbranch(ok, proceed, failed)
    builder.position_at_end(failed)
    _finish(builder, code.result, builder.load(code.step, typ=I64), builder.sext(status, I64))
    builder.position_at_end(proceed)
    code.next(builder.add(count, I64(3)))


def _fill(code):
    builder = code.builder
    function = builder.function
    base = code.data(1)
    count = code.word(2)
    size = code.word(3)
    bits = code.word(4)
    after = function.append_basic_block("fill_done")
    switch = builder.switch(size, code.blocks.bad)
    for width in (1, 2, 4, 8):
        block = function.append_basic_block(f"fill{width}")
        switch.add_case(I64(width), block)
        builder.position_at_end(block)
        kind = ir.IntType(8 * width)
        value = builder.trunc(bits, kind) if width < 8 else bits
        _store_loop(builder, base, count, kind, value)
        builder.branch(after)
    builder.position_at_end(after)
    code.next(I64(5))


def _store_loop(builder, base, count, kind, value):
    """``base[0 .. count-1] = value`` for items of integer type ``kind``."""
    with for_range(builder, I64(0), count, "fill") as index:
        builder.store(value, builder.gep(base, [index], source_etype=kind))


def _gemm(code):
    builder = code.builder
    params = code.pointer(2)

    def param(k):
        return builder.gep(params, [I64(k)], source_etype=I64)

    args = [param(0), param(1), param(2), param(3), param(4), param(5), code.data(3),
            param(7), code.data(4), param(8), param(6), code.data(5), param(9)]
    gemm = builder.inttoptr(code.word(1), ir.FunctionType(ir.VoidType(), [PTR] * 13).as_pointer())
    builder.call(gemm, args)
    code.next(I64(6))


def _copy(code):
    builder = code.builder
    module = builder.module
    memmove = module.globals.get("llvm.memmove.p0.p0.i64")
    if memmove is None:
        memmove = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64,
                                                                      ir.IntType(1)]),
                              name="llvm.memmove.p0.p0.i64")
    builder.call(memmove, [code.data(1), code.data(2), code.word(3), ir.IntType(1)(0)])
    code.next(I64(4))


def _until(code):
    builder = code.builder
    function = builder.function
    flag = builder.load(code.data(1), typ=I8)
    stop = function.append_basic_block("until_stop")
    go_on = function.append_basic_block("until_go_on")
    builder.cbranch(builder.icmp_unsigned("!=", flag, I8(0)), stop, go_on)
    builder.position_at_end(stop)
    _finish(builder, code.result, builder.add(builder.load(code.step, typ=I64), I64(1)),
            I64(-1))
    builder.position_at_end(go_on)
    code.next(I64(2))


def _bind(code):
    """Check the array at word 2 against the rank, flags, lengths and strides that follow;
    then move the data pointer of the array at word 1 (unless 0) to its data."""
    builder = code.builder
    function = builder.function
    source = code.pointer(2)
    rank = code.word(3)
    mask = code.word(4)
    failed = function.append_basic_block("bind_failed")
    check_axes = function.append_basic_block("bind_axes")
    moved = function.append_basic_block("bind_move")
    after = function.append_basic_block("bind_after")

    def field(offset, kind):
        return builder.load(builder.gep(source, [I64(offset)], source_etype=I8), typ=kind)

    ndim = builder.sext(field(ARRAY_ND, I32), I64)
    flags = builder.sext(field(ARRAY_FLAGS, I32), I64)
    same = builder.and_(builder.icmp_signed("==", ndim, rank),
                        builder.icmp_signed("==", builder.and_(flags, mask), mask))
    builder.cbranch(same, check_axes, failed)

    builder.position_at_end(check_axes)
    dims = field(ARRAY_DIMS, PTR)
    strides = field(ARRAY_STRIDES, PTR)
    with for_range(builder, I64(0), rank, "bind_axis") as axis:
        length = builder.load(builder.gep(dims, [axis], source_etype=I64), typ=I64)
        stride = builder.load(builder.gep(strides, [axis], source_etype=I64), typ=I64)
        expected_length = code.word(builder.add(axis, I64(5)))
        expected_stride = code.word(builder.add(builder.add(axis, rank), I64(5)))
        fits = builder.and_(builder.icmp_signed("==", length, expected_length),
                            builder.icmp_signed("==", stride, expected_stride))
        next_axis = function.append_basic_block("bind_next_axis")
        builder.cbranch(fits, next_axis, failed)
        builder.position_at_end(next_axis)
    done = builder.block  # (for_range leaves the builder after the loop)

    builder.position_at_end(failed)  # nothing of this instruction happened
    _finish(builder, code.result, builder.load(code.step, typ=I64), I64(BIND_FAILED))

    builder.position_at_end(done)
    target = code.word(1)
    builder.cbranch(builder.icmp_signed("!=", target, I64(0)), moved, after)
    builder.position_at_end(moved)
    builder.store(code.data(2), code.data_field(builder.inttoptr(target, PTR)))
    builder.branch(after)
    builder.position_at_end(after)
    code.next(builder.add(builder.add(rank, rank), I64(5)))


def _mark(code):
    builder = code.builder
    builder.store(code.word(2), code.pointer(1))
    code.next(I64(3))
