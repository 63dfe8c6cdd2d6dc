"""Structured control flow for the emitters: loops without hand-wired blocks or phis."""
import contextlib

from llvmlite import ir

I64 = ir.IntType(64)


@contextlib.contextmanager
def for_range(builder, start, stop, name="i", step=1):
    """``for i in range(start, stop, step)``: yields ``i`` (an i64) positioned in the loop
    body.  With ``step`` > 1, ``stop - start`` must be a multiple of ``step``.

    Parameters
    ----------
    builder : llvmlite.ir.IRBuilder
    start, stop : llvmlite.ir.Value (i64)
    step : int
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
    following = builder.add(index, I64(step), name=f"{name}.next", flags=("nsw",))
    index.add_incoming(following, builder.block)
    builder.branch(header)
    builder.position_at_end(done)


@contextlib.contextmanager
def loop_nest(builder, starts, stops, name="i"):
    """Nested ``for_range`` loops, outermost first; yields the list of indices."""
    with contextlib.ExitStack() as stack:
        indices = [stack.enter_context(for_range(builder, start, stop, f"{name}{axis}"))
                   for axis, (start, stop) in enumerate(zip(starts, stops))]
        yield indices
