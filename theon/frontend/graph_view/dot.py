"""Graphviz output: a Drawing as DOT text, and images made from it by Graphviz's ``dot``.

DOT text needs nothing installed.  Images need the ``dot`` program on PATH (the
``graphviz`` Python package, where installed, calls the same program); it is run as a
subprocess, so no Python binding is required.
"""
import shutil

# Formats made by ``dot`` itself.
IMAGE_FORMATS = ("svg", "png", "pdf")


def to_dot(drawing, high_contrast=True):
    """The DOT text of ``drawing``: clusters as ``subgraph cluster_*``, nested as drawn.

    With ``high_contrast`` nodes are filled with their colour, else only outlined in it.
    """
    # newrank: ranks across clusters; without it dot fails ("trouble in init_rank") on
    # some graphs with many clusters
    lines = [f"digraph {_quote(drawing.title)} {{",
             "  graph [compound=true, newrank=true, rankdir=TB, fontname=\"Helvetica\", "
             f"fontsize=11, tooltip={_quote(drawing.title)}];",
             "  node [fontname=\"Helvetica\", fontsize=10, height=0.3];",
             "  edge [fontname=\"Helvetica\", fontsize=8, arrowsize=0.6];"]
    children = {}
    for cluster in drawing.clusters:
        children.setdefault(cluster.parent, []).append(cluster)
    members = {}
    for node in drawing.nodes:
        members.setdefault(node.cluster, []).append(node)
    _write_level(lines, None, children, members, high_contrast, "  ")
    for edge in drawing.edges:
        attributes = {}
        if edge.label:
            attributes["label"] = edge.label
        if edge.kind == "feedback":
            attributes.update(style="dashed", constraint="false", color="gray40")
        elif edge.kind == "update":
            attributes.update(style="dashed", constraint="false", color="blue",
                              fontcolor="blue")
        lines.append(f"  {edge.source} -> {edge.target}{_attributes(attributes)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write_level(lines, parent, children, members, high_contrast, indent):
    """Append the nodes directly in cluster ``parent`` and its child clusters."""
    for node in members.get(parent, ()):
        attributes = {"label": node.label, "shape": node.shape,
                      "tooltip": _tooltip(node.label, node.details)}
        if node.color:
            if high_contrast:
                attributes.update(style="filled", fillcolor=node.color)
            else:
                attributes["color"] = node.color
        elif node.kind in ("scalar", "reduce"):
            attributes.update(style="filled", fillcolor="white")
        lines.append(f"{indent}{node.id}{_attributes(attributes)};")
    for cluster in children.get(parent, ()):
        lines.append(f"{indent}subgraph cluster_{cluster.id} {{")
        attributes = {"label": cluster.label, "tooltip": _tooltip(cluster.label,
                                                                  cluster.details),
                      "style": "rounded,filled" if cluster.color else "rounded",
                      "fillcolor": cluster.color or "white", "labeljust": "l"}
        if cluster.kind == "side":
            attributes["style"] = "dashed"
        for key, value in attributes.items():
            lines.append(f"{indent}  {key}={_quote(value)};")
        _write_level(lines, cluster.id, children, members, high_contrast, indent + "  ")
        lines.append(f"{indent}}}")


def _tooltip(label, details):
    """A tooltip: the label's first line, then one ``name: value`` line per detail."""
    rows = [label.split("\n", 1)[0]] + [f"{key}: {value}" for key, value in details.items()]
    return "\n".join(rows)


def _attributes(attributes):
    """`` [key="value", ...]`` or nothing."""
    if not attributes:
        return ""
    return " [" + ", ".join(f"{key}={_quote(value)}" for key, value in attributes.items()) + "]"


def _quote(text):
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as ``\\n``."""
    text = str(text).replace("\\", "\\\\").replace("\"", "\\\"")
    return "\"" + text.replace("\r", "").replace("\n", "\\n") + "\""


def render(dot_text, image_format, where):
    """The bytes of ``dot_text`` drawn by Graphviz's ``dot`` as ``image_format``.

    Raises
    ------
    RuntimeError
        ``dot`` is not on PATH (the message says how to do without it), or failed.
    """
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(
            f"{where}: writing {image_format!r} needs Graphviz's 'dot' program, which is not "
            "on PATH; install Graphviz (e.g. 'apt install graphviz' or 'conda install "
            "graphviz'), or write a '.html' file (a self-contained viewer) or a '.dot' file "
            "(Graphviz source), which need nothing installed")
    import subprocess   # only here: importing theon starts no process machinery
    result = subprocess.run([program, f"-T{image_format}"], input=dot_text.encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{where}: Graphviz's 'dot' failed (exit status "
                           f"{result.returncode}): {result.stderr.decode(errors='replace')}")
    return result.stdout
