"""What a drawing shows and how: ``pydotprint``'s options, colours and label texts."""
from dataclasses import dataclass

import numpy as np

from .model import truncate

# Theano's colour code, keyed as Theano's is by (part of) an op's class name; the longest
# key found in the class name wins.  Value colours are light so black text stays readable.
DEFAULT_COLOR_CODES = {
    "Input": "palegreen",
    "SharedInput": "cyan",
    "Constant": "gainsboro",
    "Output": "lightskyblue",
    "ElementwiseOp": "#FFAABB",
    "Reduce": "#FFCC99",
    "Scan": "yellow",
    "IfElse": "violet",
    "Branch": "violet",
    "Shape": "burlywood",
    "Subtensor": "#FFAAFF",
    "Alloc": "#FFAA22",
    "Dot": "#AACCFF",
    "Matmul": "#AACCFF",
    "Tensordot": "#AACCFF",
    "Outer": "#AACCFF",
    "Conv": "#AACCFF",
    "Kernel": "#FFF0F5",
}

# Background of the clusters of loops and conditionals (their head box has the op's colour).
CLUSTER_FILLS = {"loop": "lightyellow", "branch": "#F8EEFF"}

# Host ops that call a library routine (BLAS products, im2col convolutions).
LIBRARY_MODULES = ("theon.ir.ops.linalg", "theon.ir.ops.conv")


@dataclass(frozen=True)
class Style:
    """The options of one drawing (see ``theon.printing.pydotprint``)."""

    compact: bool = True
    with_ids: bool = False
    var_with_name_simple: bool = False
    max_label_size: int = 70
    high_contrast: bool = True
    scan_graphs: bool = True
    color_codes: tuple = tuple(DEFAULT_COLOR_CODES.items())

    def label(self, text):
        """``text`` with each line cut to ``max_label_size`` characters."""
        return truncate(text, self.max_label_size)

    def color(self, class_name):
        """The colour of an op (or value) whose class is ``class_name``, or None."""
        best = None
        for key, color in self.color_codes:
            if key in class_name and (best is None or len(key) > len(best[0])):
                best = (key, color)
        return None if best is None else best[1]


def op_class(op):
    """The class name colours are looked up by."""
    return type(op).__name__


def is_library(op):
    """Whether the host op ``op`` runs a library routine (BLAS, im2col convolution)."""
    return type(op).__module__ in LIBRARY_MODULES


def constant_text(value):
    """Theano's ``val=...`` text of a constant: the first line of numpy's rendering."""
    text = str(np.asarray(value))
    return "val=" + text.split("\n", 1)[0] + (" ..." if "\n" in text else "")


def value_label(name, ttype, style):
    """The label of a named value: the name alone with ``var_with_name_simple``, else the
    name and the type."""
    if not name:
        return str(ttype)
    return name if style.var_with_name_simple else f"{name} {ttype}"


def edge_label(position, n_inputs, via, ttype):
    """An edge's label: the input position when the target has several inputs, the output
    it comes from (``via``), and the value's type when no ellipse shows it (``ttype``)."""
    parts = []
    if n_inputs > 1:
        parts.append(str(position))
    if via:
        parts.append(via)
    if ttype is not None:
        parts.append(str(ttype))
    return " ".join(parts)


def format_seconds(seconds):
    """``seconds`` in s, ms or us with three significant digits."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def format_bytes(count):
    """``count`` bytes in B, kB, MB or GB (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"
