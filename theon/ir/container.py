"""The byte container of theon's stored documents (schedules, graphs): a magic string, a
format number, a JSON document, then the raw buffers of the arrays it holds.

Writing and reading never pickle or evaluate anything; every malformed input raises
``SerializationError`` with a message naming what was read (``what``: 'schedule', 'graph').
"""
import json
import struct

import numpy as np

from . import dtypes

_HEADER = struct.Struct("<II")  # format, JSON length


class SerializationError(ValueError):
    """Bytes that are not a document this version of theon wrote."""


def pack(magic, version, build):
    """The bytes of the document ``build(array)`` returns, where ``array(ndarray)`` stores an
    array's buffer and returns the JSON value that finds it again."""
    buffers = []

    def array(value):
        value = np.require(value, requirements="C")  # (ascontiguousarray makes 0-d 1-d)
        buffers.append(value.tobytes())
        return {"dtype": value.dtype.name, "shape": list(value.shape),
                "buffer": len(buffers) - 1}

    document = build(array)
    document["buffer_sizes"] = [len(b) for b in buffers]
    text = json.dumps(document, separators=(",", ":")).encode()
    return magic + _HEADER.pack(version, len(text)) + text + b"".join(buffers)


def unpack(data, magic, version, what):
    """``(document, array)`` from bytes ``pack`` wrote, where ``array(spec)`` gives a fresh
    copy of the array a JSON value ``spec`` names; SerializationError otherwise."""
    data = bytes(data)
    if data[:len(magic)] != magic:
        raise SerializationError(f"not a theon {what} (bad magic)")
    try:
        found, length = _HEADER.unpack_from(data, len(magic))
    except struct.error:
        raise SerializationError(f"truncated {what}") from None
    if found != version:
        raise SerializationError(f"{what} format {found}; this theon reads {version}")
    start = len(magic) + _HEADER.size
    if start + length > len(data):
        raise SerializationError(f"truncated {what}")
    try:
        document = json.loads(data[start:start + length])
        offsets = [start + length]
        for size in document["buffer_sizes"]:
            if type(size) is not int or size < 0:
                raise SerializationError(f"malformed {what}: buffer size {size!r}")
            offsets.append(offsets[-1] + size)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, SerializationError):
            raise
        raise SerializationError(f"malformed {what}: {error!r}") from None
    if offsets[-1] > len(data):
        raise SerializationError(f"truncated {what}")

    def array(spec):
        index = checked_index(spec["buffer"], len(offsets) - 1, "buffer", what)
        dtype = spec["dtype"]
        if dtype not in dtypes.ALL:
            raise SerializationError(f"malformed {what}: constant of dtype {dtype!r}")
        buffer = data[offsets[index]:offsets[index + 1]]
        return np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(spec["shape"]).copy()

    return document, array


def checked_index(value, bound, name, what):
    """``value`` if it is an int in ``[0, bound)``; SerializationError otherwise (negative
    numbers would index from the end)."""
    if type(value) is not int or not 0 <= value < bound:
        raise SerializationError(f"malformed {what}: {name} number {value!r} (expected 0 to "
                                 f"{bound - 1})")
    return value
