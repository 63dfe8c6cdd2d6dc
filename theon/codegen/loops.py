"""Structured control flow for the emitters: loops without hand-wired blocks or phis."""
import contextlib

from llvmlite import ir

I64 = ir.IntType(64)


def entry_alloca(builder, value_type):
    """A stack slot in the function's entry block (so LLVM promotes it to a register, and a
    loop does not grow the stack at every turn)."""
    entry = builder.function.entry_basic_block
    with builder.goto_block(entry):
        builder.position_at_start(entry)
        return builder.alloca(value_type)


@contextlib.contextmanager
def for_range(builder, start, stop, name="i", step=1):
    """``for i in range(start, stop, step)``: yields ``i`` (an i64) positioned in the loop
    body.  With ``step`` > 1, ``stop - start`` must be a multiple of ``step``.

    Parameters
    ----------
    builder : llvmlite.ir.IRBuilder
    start, stop : llvmlite.ir.Value (i64)
    step : int or llvmlite.ir.Value
        A constant, or an i64 value (a grid-stride loop's stride).
    """
    entry = builder.block
    header = builder.append_basic_block(f"{name}.header")
    body = builder.append_basic_block(f"{name}.body")
    done = builder.append_basic_block(f"{name}.done")
    builder.branch(header)
    builder.position_at_end(header)
    index = builder.phi(I64, name=name)
    index.add_incoming(start, entry)
    builder.cbranch(builder.icmp_signed("<", index, stop), body, done)
    builder.position_at_end(body)
    yield index
    increment = I64(step) if isinstance(step, int) else step
    following = builder.add(index, increment, name=f"{name}.next", flags=("nsw",))
    index.add_incoming(following, builder.block)
    builder.branch(header)
    builder.position_at_end(done)


def branch_value(builder, predicate, then, otherwise):
    """``then()`` if ``predicate`` else ``otherwise()``, each emitted in its own block; returns
    the value of the branch taken (a phi, so call sites never wire one)."""
    with builder.if_else(predicate) as (then_block, else_block):
        with then_block:
            then_value = then()
            then_end = builder.block
        with else_block:
            else_value = otherwise()
            else_end = builder.block
    merged = builder.phi(then_value.type)
    merged.add_incoming(then_value, then_end)
    merged.add_incoming(else_value, else_end)
    return merged
