"""A slow, exact SIMT interpreter of theon's CUDA kernels, for machines without a GPU.

It runs the optimised LLVM IR of a CUDA module (what NVPTX turns into PTX, instruction for
instruction) the way a GPU runs it: a grid of blocks, each block a set of threads in warps
of 32, every thread with its own registers; ``__syncthreads`` waits for the whole block,
a warp shuffle for the whole warp.  Memory is the bytes of numpy arrays; every load and
store is bounds-checked, so an out-of-bounds access raises instead of reading garbage.

What it checks that ptxas cannot: that a kernel computes the right values, that every
thread of a block reaches each barrier (a barrier some thread skips raises), that every
lane of a warp takes part in each shuffle, and that the result does not depend on the
order in which blocks run (``launch(..., block_order=...)``).  What it does not model:
concurrent blocks racing (blocks run one after another) and the PTX back end itself.
"""
import ctypes
import re
import struct

import numpy as np

import llvmlite.binding as llvm

WARP = 32
_FLOAT_TYPES = {"float": np.float32, "double": np.float64}
_SCALAR_SIZES = {"i1": 1, "i8": 1, "i16": 2, "i32": 4, "i64": 8, "float": 4, "double": 8,
                 "ptr": 8}
_NUMPY_OF = {"i8": np.uint8, "i16": np.uint16, "i32": np.uint32, "i64": np.uint64,
             "float": np.float32, "double": np.float64}


class KernelFault(RuntimeError):
    """The kernel did something a GPU would not forgive: a read or write out of bounds, a
    barrier not reached by every thread, a shuffle with missing lanes."""


class Pointer:
    """An address: a numpy uint8 buffer and a byte offset into it."""

    __slots__ = ("buffer", "offset", "name")

    def __init__(self, buffer, offset=0, name="?"):
        self.buffer, self.offset, self.name = buffer, offset, name

    def moved(self, by):
        return Pointer(self.buffer, self.offset + by, self.name)

    def view(self, type_name, check_size):
        end = self.offset + check_size
        if self.buffer is None or self.offset < 0 or end > self.buffer.size:
            size = None if self.buffer is None else self.buffer.size
            raise KernelFault(f"access of {check_size} bytes at byte {self.offset} of "
                              f"{self.name} ({size} bytes): out of bounds")
        return self.buffer[self.offset:end].view(_NUMPY_OF[type_name])


def device_array(array, name="array"):
    """A Pointer to the bytes of C-contiguous ``array`` (written in place)."""
    if not array.flags.c_contiguous:
        raise ValueError("device_array: the array must be C-contiguous")
    return Pointer(array.reshape(-1).view(np.uint8), 0, name)


class Module:
    """The kernels of one LLVM IR module, ready to launch."""

    def __init__(self, text):
        self.ref = llvm.parse_assembly(text)
        self.shared_sizes = {g.name: _type_size(str(g.global_value_type))
                             for g in self.ref.global_variables}
        self.kernels = {f.name: _Function(f) for f in self.ref.functions
                        if not f.is_declaration}

    def launch(self, symbol, grid, block, args, block_order=None):
        """Run kernel ``symbol`` on ``grid`` = (x, y) blocks of ``block`` threads with
        ``args`` (Pointers and ints, in the kernel's parameter order); ``block_order``: the
        order of the blocks as (x, y) pairs (default row by row)."""
        if block % WARP:
            raise ValueError("launch: the block size must be a multiple of 32")
        function = self.kernels[symbol]
        grid = tuple(grid) + (1,) * (2 - len(grid))
        order = block_order or [(x, y) for y in range(grid[1]) for x in range(grid[0])]
        for x, y in order:
            shared = {name: Pointer(np.zeros(size, np.uint8), 0, f"shared {name}")
                      for name, size in self.shared_sizes.items()}
            _run_block(function, args, grid, (x, y), block, shared)


def _run_block(function, args, grid, position, block, shared):
    threads = []
    for thread in range(block):
        registers = {"tid.x": thread, "ntid.x": block, "ctaid.x": position[0],
                     "ctaid.y": position[1], "nctaid.x": grid[0], "nctaid.y": grid[1],
                     "tid.y": 0, "tid.z": 0, "ctaid.z": 0, "ntid.y": 1, "ntid.z": 1,
                     "nctaid.z": 1}
        threads.append(function.thread(args, registers, shared))
    waiting = [None] * block  # (kind, instruction, payload) where each thread stopped
    done = [False] * block
    resume = [None] * block
    while True:
        for t in range(block):
            if done[t] or waiting[t] is not None:
                continue
            try:
                waiting[t] = threads[t].send(resume[t])
            except StopIteration:
                done[t] = True
        if all(done):
            return
        progressed = False
        for first in range(0, block, WARP):
            lanes = range(first, first + WARP)
            stops = [waiting[t] for t in lanes]
            if not any(s is not None and s[0] == "shfl" for s in stops):
                continue
            if any(s is None or s[0] != "shfl" or s[1] is not stops[0][1] for s in stops):
                raise KernelFault(f"warp {first // WARP} of block {position}: a shuffle "
                                  "not reached by every lane of the warp")
            for lane in lanes:
                value, mask, clamp = waiting[lane][2]
                source = (lane - first) ^ mask
                source = source if source <= (clamp & 31) else lane - first
                resume[lane] = waiting[first + source][2][0]
            for lane in lanes:
                waiting[lane] = None
            progressed = True
        if progressed:
            continue
        if any(done) or any(s is None or s[0] != "barrier" for s in waiting):
            raise KernelFault(f"block {position}: a barrier not reached by every thread "
                              f"({sum(done)} of {block} threads had returned)")
        if any(s[1] is not waiting[0][1] for s in waiting):
            raise KernelFault(f"block {position}: threads wait at different barriers")
        waiting = [None] * block
        resume = [None] * block


class _Function:
    """One kernel, its instructions translated to Python closures once."""

    def __init__(self, ref):
        self.arguments = [_key(a) for a in ref.arguments]
        self.argument_types = [str(a.type) for a in ref.arguments]
        self.blocks = {_key(block): _Block(block) for block in ref.blocks}
        self.entry = _key(next(iter(ref.blocks)))

    def thread(self, args, registers, shared):
        """A generator running one thread: it yields at each barrier and shuffle."""
        if len(args) != len(self.arguments):
            raise TypeError(f"simt: {len(args)} arguments for {len(self.arguments)} parameters")
        values = {key: value if type_name == "ptr" else value & ((1 << _bits(type_name)) - 1)
                  for key, value, type_name in zip(self.arguments, args, self.argument_types)}
        context = _Context(registers, shared)
        previous, current = None, self.entry
        while True:
            block = self.blocks[current]
            incoming = [phi(values, previous) for phi in block.phis]
            for key, value in zip(block.phi_keys, incoming):
                values[key] = value
            for key, kind, operation in block.body:
                if kind is None:
                    result = operation(values, context)
                else:
                    result = yield (kind, operation, operation(values, context))
                if key is not None:
                    values[key] = result
            target = block.terminator(values)
            if target is None:
                return
            previous, current = current, target


class _Context:
    __slots__ = ("registers", "shared")

    def __init__(self, registers, shared):
        self.registers, self.shared = registers, shared


class _Block:
    def __init__(self, ref):
        self.phis, self.phi_keys, self.body = [], [], []
        self.terminator = None
        for instruction in ref.instructions:
            opcode = instruction.opcode
            if opcode == "phi":
                self.phi_keys.append(_key(instruction))
                self.phis.append(_phi(instruction))
            elif opcode in ("br", "ret", "switch", "unreachable"):
                self.terminator = _terminator(instruction)
            else:
                kind, operation = _translate(instruction)
                key = _key(instruction) if str(instruction.type) != "void" else None
                self.body.append((key, kind, operation))


def _key(value):
    return ctypes.cast(value._ptr, ctypes.c_void_p).value


def _operand(value):
    """A getter of an operand's value from a thread's registers."""
    kind = value.value_kind.name
    type_name = str(value.type)
    if kind in ("argument", "instruction"):
        key = _key(value)
        return lambda values: values[key]
    if kind == "constant_int":
        bits = _bits(type_name)
        constant = value.get_constant_value() & ((1 << bits) - 1)
        return lambda values: constant
    if kind == "constant_fp":
        constant = _FLOAT_TYPES[type_name](value.get_constant_value())
        return lambda values: constant
    if kind == "constant_pointer_null":
        null = Pointer(None, 0, "null")
        return lambda values: null
    if kind in ("undef_value", "poison_value"):
        zero = _FLOAT_TYPES[type_name](0) if type_name in _FLOAT_TYPES else 0
        return lambda values: zero
    if kind == "global_variable":
        name = value.name
        return lambda values, name=name: ("global", name)
    raise NotImplementedError(f"simt: operand of kind {kind}: {value}")


def _bits(type_name):
    return int(type_name[1:])


def _signed(value, bits):
    return value - (1 << bits) if value >> (bits - 1) else value


def _phi(instruction):
    sources = {}
    for block, value in zip(instruction.incoming_blocks, instruction.operands):
        sources[_key(block)] = _operand(value)
    return lambda values, previous: sources[previous](values)


def _terminator(instruction):
    opcode = instruction.opcode
    operands = list(instruction.operands)
    if opcode == "ret":
        return lambda values: None
    if opcode == "unreachable":
        def unreachable(values):
            raise KernelFault("reached 'unreachable'")
        return unreachable
    if opcode == "br":
        if len(operands) == 1:
            target = _key(operands[0])
            return lambda values: target
        # operands of a conditional branch: condition, false target, true target
        condition = _operand(operands[0])
        if_false, if_true = _key(operands[1]), _key(operands[2])
        return lambda values: if_true if condition(values) else if_false
    condition = _operand(operands[0])
    default = _key(operands[1])
    cases = {}
    for case, target in zip(operands[2::2], operands[3::2]):
        cases[_operand(case)(None)] = _key(target)
    return lambda values: cases.get(condition(values), default)


def _resolve(pointer, context):
    """A Pointer from an operand value (globals are this block's shared memory)."""
    if isinstance(pointer, tuple):
        return context.shared[pointer[1]]
    return pointer


def _translate(instruction):
    """(kind, operation): kind None for plain instructions, 'shfl' or 'barrier' for the
    collective ones; ``operation(values, context)``."""
    opcode = instruction.opcode
    text = str(instruction).strip()
    operands = [_operand(o) for o in instruction.operands] if opcode != "call" else None
    type_name = str(instruction.type)
    if opcode in _INTEGER_BINARY:
        a, b = operands
        bits = _bits(type_name)
        op = _INTEGER_BINARY[opcode]
        return None, lambda values, context: op(a(values), b(values), bits)
    if opcode in _FLOAT_BINARY:
        a, b = operands
        op = _FLOAT_BINARY[opcode]
        return None, lambda values, context: op(a(values), b(values))
    if opcode == "fneg":
        (a,) = operands
        return None, lambda values, context: -a(values)
    if opcode == "icmp":
        predicate = re.search(r"icmp (?:samesign )?(\w+)", text).group(1)
        a, b = operands
        bits = _bits(str(next(iter(instruction.operands)).type))
        compare = _ICMP[predicate]
        return None, lambda values, context: int(compare(a(values), b(values), bits))
    if opcode == "fcmp":
        predicate = re.search(r"fcmp (?:[a-z]+ )*?(\w+) (?:float|double)", text).group(1)
        a, b = operands
        compare = _fcmp(predicate)
        return None, lambda values, context: int(compare(a(values), b(values)))
    if opcode == "select":
        condition, a, b = operands
        return None, lambda values, context: a(values) if condition(values) else b(values)
    if opcode in _CASTS:
        (a,) = operands
        source = str(next(iter(instruction.operands)).type)
        convert = _CASTS[opcode](source, type_name)
        return None, lambda values, context: convert(a(values))
    if opcode == "freeze":
        (a,) = operands
        return None, lambda values, context: a(values)
    if opcode == "getelementptr":
        return None, _gep(instruction, text, operands)
    if opcode == "load":
        (address,) = operands
        size = _SCALAR_SIZES[type_name]

        def load(values, context):
            pointer = _resolve(address(values), context)
            return _from_memory(pointer.view(_storage(type_name), size)[0], type_name)
        return None, load
    if opcode == "store":
        value, address = operands
        stored = str(next(iter(instruction.operands)).type)
        size = _SCALAR_SIZES[stored]

        def store(values, context):
            pointer = _resolve(address(values), context)
            pointer.view(_storage(stored), size)[0] = value(values)
        return None, store
    if opcode == "atomicrmw":
        operation = re.search(r"atomicrmw (?:volatile )?(\w+)", text).group(1)
        address, value = operands
        size = _SCALAR_SIZES[type_name]
        bits = _bits(type_name)

        def atomic(values, context):
            pointer = _resolve(address(values), context)
            cell = pointer.view(_storage(type_name), size)
            old = int(cell[0])
            if operation == "add":
                cell[0] = (old + value(values)) & ((1 << bits) - 1)
            elif operation == "xchg":
                cell[0] = value(values)
            else:
                raise NotImplementedError(f"simt: atomicrmw {operation}")
            return old
        return None, atomic
    if opcode == "call":
        return _call(instruction, text)
    raise NotImplementedError(f"simt: instruction {text}")


def _storage(type_name):
    return "i8" if type_name == "i1" else type_name


def _from_memory(value, type_name):
    if type_name in _FLOAT_TYPES:
        return value
    return int(value)


def _gep(instruction, text, operands):
    match = re.search(r"getelementptr (?:(?:inbounds|nuw|nusw) )*(\[[^\]]*\]|[\w]+), ", text)
    source = match.group(1)
    base, *indices = operands
    index_types = [str(o.type) for o in list(instruction.operands)[1:]]
    sizes = [_type_size(source)]
    element = source
    for _ in indices[1:]:
        element = re.match(r"\[\d+ x (.*)\]$", element).group(1)
        sizes.append(_type_size(element))

    def gep(values, context):
        pointer = _resolve(base(values), context)
        total = 0
        for index, size, index_type in zip(indices, sizes, index_types):
            total += _signed(index(values), _bits(index_type)) * size
        return pointer.moved(total)
    return gep


def _type_size(type_name):
    type_name = type_name.strip()
    array = re.match(r"\[(\d+) x (.*)\]$", type_name)
    if array:
        return int(array.group(1)) * _type_size(array.group(2))
    return _SCALAR_SIZES[type_name]


def _call(instruction, text):
    operands = list(instruction.operands)
    callee = operands[-1].name
    arguments = [_operand(o) for o in operands[:-1]]
    type_name = str(instruction.type)
    if callee.startswith("llvm.nvvm.read.ptx.sreg."):
        register = callee[len("llvm.nvvm.read.ptx.sreg."):]
        return None, lambda values, context: context.registers[register]
    if callee in ("llvm.nvvm.barrier0", "llvm.nvvm.barrier.cta.sync.aligned.all"):
        return "barrier", lambda values, context: None
    if callee in ("llvm.nvvm.membar.gl", "llvm.nvvm.fence.sc.gl"):
        return None, lambda values, context: None
    if callee == "llvm.nvvm.shfl.sync.bfly.i32":
        member, value, mask, clamp = arguments

        def shuffle(values, context):
            if member(values) != 0xFFFFFFFF:
                raise NotImplementedError("simt: shuffles of part of a warp")
            return value(values), mask(values), clamp(values)
        return "shfl", shuffle
    name = re.match(r"llvm\.([a-z.]+?)\.(?:[if]\d+|f32|f64)(?:\.|$)", callee)
    base = name.group(1) if name else callee
    implementation = _INTRINSICS.get(base)
    if implementation is None:
        raise NotImplementedError(f"simt: call of {callee}")
    result_type = type_name
    argument_types = [str(o.type) for o in operands[:-1]]
    return None, lambda values, context: implementation(
        [a(values) for a in arguments], argument_types, result_type)


def _udiv(a, b, bits):
    if b == 0:
        raise KernelFault("integer division by zero")
    return a // b


def _sdiv(a, b, bits):
    a, b = _signed(a, bits), _signed(b, bits)
    if b == 0:
        raise KernelFault("integer division by zero")
    quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
    return quotient & ((1 << bits) - 1)


def _srem(a, b, bits):
    sa, sb = _signed(a, bits), _signed(b, bits)
    if sb == 0:
        raise KernelFault("integer division by zero")
    quotient = abs(sa) // abs(sb) * (1 if (sa >= 0) == (sb >= 0) else -1)
    return (sa - quotient * sb) & ((1 << bits) - 1)


def _urem(a, b, bits):
    if b == 0:
        raise KernelFault("integer division by zero")
    return a % b


_INTEGER_BINARY = {
    "add": lambda a, b, bits: (a + b) & ((1 << bits) - 1),
    "sub": lambda a, b, bits: (a - b) & ((1 << bits) - 1),
    "mul": lambda a, b, bits: (a * b) & ((1 << bits) - 1),
    "udiv": _udiv, "urem": _urem, "sdiv": _sdiv, "srem": _srem,
    "and": lambda a, b, bits: a & b,
    "or": lambda a, b, bits: a | b,
    "xor": lambda a, b, bits: a ^ b,
    "shl": lambda a, b, bits: (a << b) & ((1 << bits) - 1) if b < bits else 0,
    "lshr": lambda a, b, bits: a >> b if b < bits else 0,
    "ashr": lambda a, b, bits: (_signed(a, bits) >> min(b, bits - 1)) & ((1 << bits) - 1),
}


def _float_op(function):
    def operate(a, b):
        with np.errstate(all="ignore"):
            return function(a, b)
    return operate


_FLOAT_BINARY = {
    "fadd": _float_op(lambda a, b: a + b), "fsub": _float_op(lambda a, b: a - b),
    "fmul": _float_op(lambda a, b: a * b), "fdiv": _float_op(lambda a, b: a / b),
    "frem": _float_op(np.fmod),
}

_ICMP = {
    "eq": lambda a, b, bits: a == b, "ne": lambda a, b, bits: a != b,
    "ugt": lambda a, b, bits: a > b, "uge": lambda a, b, bits: a >= b,
    "ult": lambda a, b, bits: a < b, "ule": lambda a, b, bits: a <= b,
    "sgt": lambda a, b, bits: _signed(a, bits) > _signed(b, bits),
    "sge": lambda a, b, bits: _signed(a, bits) >= _signed(b, bits),
    "slt": lambda a, b, bits: _signed(a, bits) < _signed(b, bits),
    "sle": lambda a, b, bits: _signed(a, bits) <= _signed(b, bits),
}


def _fcmp(predicate):
    if predicate == "true":
        return lambda a, b: True
    if predicate == "false":
        return lambda a, b: False
    if predicate == "ord":
        return lambda a, b: not (np.isnan(a) or np.isnan(b))
    if predicate == "uno":
        return lambda a, b: bool(np.isnan(a) or np.isnan(b))
    relation = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
                "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
                "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}[predicate[1:]]
    if predicate[0] == "o":
        return lambda a, b: not (np.isnan(a) or np.isnan(b)) and bool(relation(a, b))
    return lambda a, b: bool(np.isnan(a) or np.isnan(b)) or bool(relation(a, b))


def _float_bits(type_name):
    return {"float": ("<f", "<I"), "double": ("<d", "<Q")}[type_name]


def _cast_zext(source, target):
    return lambda a: a


def _cast_sext(source, target):
    bits, wide = _bits(source), _bits(target)
    return lambda a: _signed(a, bits) & ((1 << wide) - 1)


def _cast_trunc(source, target):
    mask = (1 << _bits(target)) - 1
    return lambda a: a & mask


def _cast_float(source, target):
    to = _FLOAT_TYPES[target]
    return lambda a: to(a)


def _cast_bitcast(source, target):
    if source in _FLOAT_TYPES and target.startswith("i"):
        pack, unpack = _float_bits(source)
        return lambda a: struct.unpack(unpack, struct.pack(pack, a))[0]
    if target in _FLOAT_TYPES and source.startswith("i"):
        pack, unpack = _float_bits(target)
        to = _FLOAT_TYPES[target]
        return lambda a: to(struct.unpack(pack, struct.pack(unpack, a))[0])
    return lambda a: a


def _cast_sitofp(source, target):
    bits, to = _bits(source), _FLOAT_TYPES[target]
    return lambda a: to(_signed(a, bits))


def _cast_uitofp(source, target):
    to = _FLOAT_TYPES[target]
    return lambda a: to(a)


def _cast_fptosi(source, target):
    mask = (1 << _bits(target)) - 1
    return lambda a: int(a) & mask  # out of range is poison in LLVM: any value will do


_CASTS = {"zext": _cast_zext, "sext": _cast_sext, "trunc": _cast_trunc,
          "fpext": _cast_float, "fptrunc": _cast_float, "bitcast": _cast_bitcast,
          "sitofp": _cast_sitofp, "uitofp": _cast_uitofp, "fptosi": _cast_fptosi,
          "fptoui": _cast_fptosi, "addrspacecast": _cast_zext}


def _float_intrinsic(function):
    def call(args, argument_types, result_type):
        with np.errstate(all="ignore"):
            return _FLOAT_TYPES[result_type](function(*args))
    return call


def _integer_intrinsic(function):
    def call(args, argument_types, result_type):
        bits = _bits(result_type)
        return function(*args, bits) & ((1 << bits) - 1)
    return call


def _saturating(signed):
    def call(args, argument_types, result_type):
        (value,), bits = args, _bits(result_type)
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if np.isnan(value):
            return 0
        return int(min(max(value, low), high)) & ((1 << bits) - 1) if np.isfinite(value) \
            else (high if value > 0 else low) & ((1 << bits) - 1)
    return call


def _nan_propagating(pick):
    def function(a, b):
        if np.isnan(a) or np.isnan(b):
            return np.nan
        if a == b == 0:  # -0 is below +0 for minimum/maximum
            return pick(a, b) if np.signbit(a) != np.signbit(b) else a
        return pick(a, b)
    return function


_INTRINSICS = {
    "fabs": _float_intrinsic(np.abs), "sqrt": _float_intrinsic(np.sqrt),
    "floor": _float_intrinsic(np.floor), "ceil": _float_intrinsic(np.ceil),
    "trunc": _float_intrinsic(np.trunc), "rint": _float_intrinsic(np.rint),
    "roundeven": _float_intrinsic(np.rint),
    "fma": _float_intrinsic(lambda a, b, c: np.float64(a) * np.float64(b) + c),
    "fmuladd": _float_intrinsic(lambda a, b, c: np.float64(a) * np.float64(b) + c),
    "copysign": _float_intrinsic(np.copysign),
    "minnum": _float_intrinsic(np.fmin), "maxnum": _float_intrinsic(np.fmax),
    "minimum": _float_intrinsic(_nan_propagating(lambda a, b: a if (a < b or (a == b and np.signbit(a))) else b)),
    "maximum": _float_intrinsic(_nan_propagating(lambda a, b: a if (a > b or (a == b and not np.signbit(a))) else b)),
    "umin": _integer_intrinsic(lambda a, b, bits: min(a, b)),
    "umax": _integer_intrinsic(lambda a, b, bits: max(a, b)),
    "smin": _integer_intrinsic(lambda a, b, bits: min(_signed(a, bits), _signed(b, bits))),
    "smax": _integer_intrinsic(lambda a, b, bits: max(_signed(a, bits), _signed(b, bits))),
    "abs": _integer_intrinsic(lambda a, poison, bits: abs(_signed(a, bits))),
    "fptosi.sat": _saturating(True), "fptoui.sat": _saturating(False),
}
