"""``theon.printing``: looking at graphs and compiled functions.

``debugprint`` and ``pprint`` print text; ``pydotprint`` draws the graph as an image
(through Graphviz), as Graphviz source, or as a self-contained HTML page.
"""
import os
import sys

from ..ir.printing import debugprint_nodes, debugprint_schedule
from .function import Function
from .variable import Variable

# Output formats by file extension: Graphviz source, images made by Graphviz, the viewer.
FORMATS = ("png", "svg", "pdf", "dot", "html")


def debugprint(obj, file=None, print_type=True, depth=-1, ids="CHAR"):
    """Print the graph of a variable, a list of variables or a compiled function, in
    Theano's layout: one node per line with an id (``[id A]``) and its type, its inputs
    indented below it; a node used twice is expanded once and then shown by its line.

    For a compiled Function the graph after optimisation is printed: trees of the steps
    computing each output (fused kernels as ``kernel[ops fused]``, host steps by their
    op), each with its step number (for a function compiled with ``profile=True``, also
    its time and share, as Theano's ``--> <time>s <share>%``), then an "Inner graphs"
    section with each kernel's scalar body and each loop's and conditional's schedule.

    Parameters
    ----------
    obj : Variable, list of Variable, or Function
    file : file-like, optional
        Where to print (default: stdout).  ``file='str'`` returns the text instead.
    print_type : bool
        Show each value's type.
    depth : int
        Levels printed below each output (-1: all).
    ids : {'CHAR', 'int', ''}
        Ids as letters (Theano's default), as numbers, or none.

    Returns
    -------
    str or obj
        The text with ``file='str'``, else ``obj``.

    Raises
    ------
    TypeError
        ``obj`` is not a Variable, a list of Variables or a Function.
    ValueError
        An unknown ``ids`` style.
    """
    if isinstance(obj, Function):
        from .graph_view.timing import step_timings
        timings = step_timings(getattr(obj, "profile", None))
        times = {index: (t.seconds, t.share) for index, t in timings.items()}
        text = debugprint_schedule(obj.schedule, print_type, depth, ids, times)
    else:
        variables = obj if isinstance(obj, (list, tuple)) else [obj]
        for variable in variables:
            if not isinstance(variable, Variable):
                raise TypeError(f"debugprint: expected a Variable or Function, got "
                                f"{type(variable).__name__}")
        names = {v.node: v.name for v in variables if v.name}
        text = debugprint_nodes([v.node for v in variables], names, print_type=print_type,
                                depth=depth, ids=ids)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return obj


def pprint(variable):
    """A one-line infix rendering of ``variable``'s graph."""
    from .. import ir
    rendered = {}
    for node in ir.toposort([variable.node]):
        if isinstance(node.op, ir.Input):
            rendered[node] = node.op.label or "?"
        elif isinstance(node.op, ir.Constant):
            value = node.op.value
            rendered[node] = repr(value.item()) if value.size == 1 else node.op.describe()
        else:
            args = ", ".join(rendered[i] for i in node.inputs)
            rendered[node] = f"{node.op.describe()}({args})"
    return rendered[variable.node]


def pydotprint(fct, outfile=None, format=None, compact=True, with_ids=False,
               scan_graphs=True, var_with_name_simple=False, print_output_file=True,
               return_image=False, high_contrast=True, colorCodes=None, max_label_size=70,
               stage=None):
    """Draw the graph of variables or of a compiled function (Theano's ``pydotprint``).

    Ops are boxes and values ellipses: inputs (green; shared variables cyan), constants
    (grey, with their value) and outputs (blue) show their type.  An edge into an op with
    several inputs is labelled with the input's position.

    For a compiled function the optimised graph is drawn by default: each fused kernel is
    a cluster holding its scalar operations, labelled with the ops fused into it; host
    steps and library calls (BLAS products, convolutions) are boxes; loops and
    conditionals are clusters holding their bodies.  A function compiled with
    ``profile=True`` shows each step's time, its share of the total and, in the tooltip,
    its calls, bytes moved and bandwidth.

    Parameters
    ----------
    fct : Variable, list of Variable, or Function
    outfile : str or path, optional
        The file to write.  Its extension picks the format unless ``format`` is given:
        ``.html`` (a self-contained page that lays the graph out itself, with pan, zoom,
        tooltips and collapsible clusters; needs nothing installed), ``.dot`` (Graphviz
        source; needs nothing), ``.svg``, ``.png`` or ``.pdf`` (need Graphviz's ``dot``
        program).  Default: ``theon.pydotprint.<format>`` in the current directory.
    format : {'png', 'svg', 'pdf', 'dot', 'html'}, optional
        Default: the extension of ``outfile``, else 'png' (Theano's default).  When
        ``outfile`` has no extension, ``.<format>`` is appended.
    compact : bool
        True: a value computed by one op and used by another is an edge labelled with its
        type.  False: every value is an ellipse of its own.
    with_ids : bool
        Add each op's topological index (for a function: its step number) as ``id=N``.
    scan_graphs : bool
        Draw the bodies of loops (and conditionals with graph sides) inside their
        clusters; False draws such a node as one box.  Compiled loops and conditionals
        always show their bodies.
    var_with_name_simple : bool
        Label a named value with its name only, not its name and type.
    print_output_file : bool
        Print the path of the file written.
    return_image : bool
        Return the image (bytes for png, svg and pdf; str for dot and html) instead of
        writing a file.
    high_contrast : bool
        Fill boxes and ellipses with their colour (else colour only their outline).
    colorCodes : dict, optional
        Colours by op class name (or part of it; the longest key found in the class
        name wins), added to and overriding ``graph_view.DEFAULT_COLOR_CODES``; a value of
        None removes a colour.  Keys ``Input``, ``SharedInput``, ``Constant`` and
        ``Output`` colour the values, ``Kernel`` the kernel clusters.
    max_label_size : int
        Longer label lines are cut and end with '...'.
    stage : {'optimized', 'original', 'both'}, optional
        For a compiled function: the graph after optimisation (default), the graph it was
        compiled from, or both side by side.  Variables have only their graph.

    Returns
    -------
    str or bytes
        The path written, or the image with ``return_image=True``.

    Raises
    ------
    TypeError
        ``fct`` is not a Variable, a list of Variables or a Function; ``colorCodes`` is not
        a dict.
    ValueError
        An unknown format or stage; an ``outfile`` whose extension contradicts
        ``format``; ``stage`` other than 'original' for variables; ``stage`` 'original' or
        'both' for a function that does not keep its graph (``Function.graph`` is None).
    RuntimeError
        An image format is asked for and Graphviz's ``dot`` program is not on PATH.

    Examples
    --------
    >>> x = T.dvector('x')
    >>> f = theon.function([x], T.exp(x).sum())
    >>> theon.printing.pydotprint(f, 'f.html')            # doctest: +SKIP
    >>> theon.printing.pydotprint(f, 'f.svg', stage='both')  # doctest: +SKIP
    """
    from . import graph_view  # (its modules load on first use, not at import theon)
    where = "pydotprint"
    if not isinstance(max_label_size, int) or isinstance(max_label_size, bool) or \
            max_label_size < 4:
        raise ValueError(f"{where}: max_label_size must be an int of at least 4; got "
                         f"{max_label_size!r}")
    style = graph_view.Style(compact=bool(compact), with_ids=bool(with_ids),
                             var_with_name_simple=bool(var_with_name_simple),
                             max_label_size=max_label_size, high_contrast=bool(high_contrast),
                             scan_graphs=bool(scan_graphs),
                             color_codes=_color_codes(colorCodes, where))
    drawing = _drawing(fct, stage, style, where)
    path, image_format = _output(outfile, format, return_image, where)
    if image_format == "html":
        image = graph_view.to_html(drawing, high_contrast)
    else:
        image = graph_view.to_dot(drawing, high_contrast)
        if image_format in graph_view.IMAGE_FORMATS:
            image = graph_view.render(image, image_format, where)
    if return_image:
        return image
    mode, encoding = ("w", "utf-8") if isinstance(image, str) else ("wb", None)
    with open(path, mode, encoding=encoding) as handle:
        handle.write(image)
    if print_output_file:
        print("The output file is available at", path)
    return path


def _drawing(fct, stage, style, where):
    """The Drawing of ``fct`` at ``stage`` (checked)."""
    from . import graph_view
    if stage is not None and stage not in graph_view.STAGES:
        raise ValueError(f"{where}: stage must be one of {', '.join(graph_view.STAGES)}; got "
                         f"{stage!r}")
    if isinstance(fct, Function):
        stage = stage or "optimized"
        if stage != "optimized" and fct.graph is None:
            raise ValueError(f"{where}: stage={stage!r} needs the graph the function was "
                             "compiled from, which this function does not keep "
                             "(Function.graph is None); use stage='optimized'")
        return graph_view.draw_function(fct, stage, style, fct.name or "theon function")
    variables = list(fct) if isinstance(fct, (list, tuple)) else [fct]
    if not variables:
        raise ValueError(f"{where}: got an empty list; expected at least one Variable")
    for position, variable in enumerate(variables):
        if not isinstance(variable, Variable):
            what = "fct" if variables[0] is fct else f"fct[{position}]"
            raise TypeError(f"{where}: {what} is a {type(variable).__name__}; expected a "
                            "Variable, a list of Variables or a compiled theon.Function")
    if stage not in (None, "original"):
        raise ValueError(f"{where}: stage={stage!r} needs a compiled function; variables "
                         "have only their graph (stage='original')")
    title = ", ".join(v.name for v in variables if v.name) or "theon graph"
    return graph_view.draw_variables(variables, style, title)


def _output(outfile, image_format, return_image, where):
    """(path to write or None, format) from ``outfile`` and ``format`` (checked)."""
    if image_format is not None and image_format not in FORMATS:
        raise ValueError(f"{where}: format must be one of {', '.join(FORMATS)}; got "
                         f"{image_format!r}")
    if outfile is None:
        image_format = image_format or "png"
        return (None if return_image else f"theon.pydotprint.{image_format}"), image_format
    path = os.fspath(outfile)
    extension = os.path.splitext(path)[1][1:].lower()
    if image_format is None and extension in FORMATS:
        return path, extension
    image_format = image_format or "png"
    if extension in FORMATS and extension != image_format:
        raise ValueError(f"{where}: outfile {path!r} has the extension '.{extension}' but "
                         f"format is {image_format!r}")
    if extension != image_format:
        path += "." + image_format
    return path, image_format


def _color_codes(color_codes, where):
    """The default colour codes updated with ``color_codes``, as (key, colour) pairs."""
    from . import graph_view
    if color_codes is None:
        return tuple(graph_view.DEFAULT_COLOR_CODES.items())
    if not isinstance(color_codes, dict):
        raise TypeError(f"{where}: colorCodes must be a dict from op class names to colours; "
                        f"got {type(color_codes).__name__}")
    merged = {**graph_view.DEFAULT_COLOR_CODES, **color_codes}
    return tuple((key, color) for key, color in merged.items() if color is not None)
