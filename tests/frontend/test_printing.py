"""theon.printing: debugprint's text, and pydotprint's drawings (DOT text, Graphviz images,
the self-contained HTML viewer, checked by parsing it and, where Chromium exists, by
rendering it in a headless browser)."""
import html.parser
import inspect
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import ir
from theon.ifelse import ifelse
from theon.ir import scalar as s
from theon.ir.kernel import BranchStep, HostStep, KernelStep, LoopStep
from theon.scan_module import until

# -- parsing what pydotprint writes ------------------------------------------------------

_ATTRIBUTE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _unquote(text):
    return text.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_dot(text):
    """(nodes: id -> attributes with 'cluster', edges: list of (source, target, attributes),
    clusters: id -> {'label', 'parent'}) of DOT text written by pydotprint."""
    nodes, edges, clusters, stack = {}, [], {}, [None]
    for line in text.splitlines():
        line = line.strip()
        opened = re.match(r"subgraph cluster_(c\d+) \{$", line)
        if opened:
            clusters[opened.group(1)] = {"parent": stack[-1]}
            stack.append(opened.group(1))
            continue
        if line == "}":
            stack.pop()
            continue
        cluster_attribute = re.match(r'(\w+)="((?:[^"\\]|\\.)*)";$', line)
        if cluster_attribute and stack[-1] is not None:
            clusters[stack[-1]][cluster_attribute.group(1)] = _unquote(cluster_attribute.group(2))
            continue
        edge = re.match(r"(n\d+) -> (n\d+)(?: \[(.*)\])?;$", line)
        if edge:
            attributes = {k: _unquote(v) for k, v in _ATTRIBUTE.findall(edge.group(3) or "")}
            edges.append((edge.group(1), edge.group(2), attributes))
            continue
        node = re.match(r"(n\d+) \[(.*)\];$", line)
        if node:
            attributes = {k: _unquote(v) for k, v in _ATTRIBUTE.findall(node.group(2))}
            attributes["cluster"] = stack[-1]
            nodes[node.group(1)] = attributes
    return nodes, edges, clusters


def dot_of(obj, **options):
    return parse_dot(theon.printing.pydotprint(obj, format="dot", return_image=True,
                                               **options))


def labelled_edges(nodes, edges):
    """{(source label, target label, edge label)} of a parsed drawing."""
    return {(nodes[a]["label"], nodes[b]["label"], attributes.get("label", ""))
            for a, b, attributes in edges}


class _PageParser(html.parser.HTMLParser):
    """Collects the tags, every attribute, and the text of each <script>."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.scripts = [], [], []
        self._script = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)
        if tag == "script":
            self._script = {"attrs": dict(attrs), "text": ""}

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None


def parse_page(text):
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser


def page_data(text):
    """The drawing embedded in an HTML page, as JSON values."""
    (data,) = [script for script in parse_page(text).scripts
               if script["attrs"].get("id") == "graph-data"]
    assert data["attrs"]["type"] == "application/json"
    return json.loads(data["text"])


def html_of(obj, **options):
    return theon.printing.pydotprint(obj, format="html", return_image=True, **options)


# -- reference facts about graphs and schedules ------------------------------------------

def op_nodes(outputs):
    """The non-leaf, non-projection nodes under ``outputs``."""
    return [node for node in ir.toposort(outputs)
            if not isinstance(node.op, (ir.Input, ir.Constant, ir.Output))]


def scalar_operations(body):
    """Distinct non-leaf scalars reachable from a kernel body (walked independently)."""
    found, stack = set(), list(body)
    while stack:
        node = stack.pop()
        if node in found or node.prim in ("input", "const"):
            continue
        found.add(node)
        stack.extend(node.args)
    return found


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlp():
    """A compiled function with a BLAS product, host shape steps and several kernels (one
    a reduction), over a shared variable."""
    x, v = T.fmatrix("x"), T.fvector("v")
    weights = theon.shared(np.ones((4, 4), dtype="float32"), name="W")
    out = T.nnet.softmax(T.tanh(T.dot(x, weights) + v)).sum(axis=1) + T.exp(x).mean()
    return theon.function([x, v], out, name="mlp")


@pytest.fixture(scope="module")
def loop_and_branch():
    """A compiled function with a loop (two taps, a per-step result, a stop condition)
    and a conditional."""
    a, h0, c = T.dvector("a"), T.dmatrix("h0"), T.dscalar("c")

    def step(xt, h2, h1):
        return [T.tanh(h1 + h2 * xt), T.exp(xt) * 2], until(T.gt(xt, 100))
    (states, results), _ = theon.scan(step, sequences=[a],
                                      outputs_info=[dict(initial=h0, taps=[-2, -1]), None],
                                      name="loop")
    out = ifelse(T.gt(c, 0), states.sum(), (a * 2).sum())
    return theon.function([a, h0, c], [out, states, results], name="control")


# -- variables ------------------------------------------------------------------------------

def test_variables_are_drawn_with_ops_as_boxes_and_values_as_ellipses():
    x, y = T.fvector("x"), T.fvector("y")
    out = T.exp(x) + y * 2
    out.name = "out"
    nodes, edges, clusters = dot_of(out)
    shapes = {attributes["label"]: attributes["shape"] for attributes in nodes.values()}
    assert shapes == {"x float32[?]": "ellipse", "y float32[?]": "ellipse",
                      "val=2.0 float32[]": "ellipse", "out float32[?]": "ellipse",
                      "exp": "box", "mul": "box", "add": "box"}
    # edges into an op with several inputs carry the position; op-to-op edges the type
    assert labelled_edges(nodes, edges) == {
        ("x float32[?]", "exp", ""), ("y float32[?]", "mul", "0"),
        ("val=2.0 float32[]", "mul", "1"), ("exp", "add", "0 float32[?]"),
        ("mul", "add", "1 float32[?]"), ("add", "out float32[?]", "")}
    assert clusters == {}
    colors = {attributes["label"]: attributes.get("fillcolor") for attributes in nodes.values()}
    assert colors["x float32[?]"] == "palegreen" and colors["out float32[?]"] == "lightskyblue"


def test_compact_false_gives_every_intermediate_value_an_ellipse():
    x, y = T.dvector("x"), T.dvector("y")
    out = T.log(T.exp(x) * y)
    nodes, edges, _ = dot_of(out, compact=False)
    boxes = {n for n, attributes in nodes.items() if attributes["shape"] == "box"}
    values = [n for n, attributes in nodes.items() if attributes["label"] == "float64[?]"]
    assert len(boxes) == len(op_nodes([out.node])) == 3
    assert len(values) == 3          # one per op's result, the output's included
    assert all(not (a in boxes and b in boxes) for a, b, _ in edges)


def test_with_ids_name_simple_and_label_size():
    x = T.dvector("a_rather_long_input_name")
    out = T.sqrt(T.exp(x))
    nodes, _, _ = dot_of(out, with_ids=True, var_with_name_simple=True, max_label_size=12)
    labels = sorted(attributes["label"] for attributes in nodes.values())
    assert labels == ["a_rather_...", "exp id=0", "output 0", "sqrt id=1"]


def test_a_list_of_variables_shares_the_common_subgraph():
    x = T.dvector("x")
    shared_part = T.exp(x)
    nodes, edges, _ = dot_of([shared_part + 1, shared_part * 2])
    labels = [attributes["label"] for attributes in nodes.values()]
    assert labels.count("exp") == 1
    assert sum(1 for a, _, _ in edges if nodes[a]["label"] == "exp") == 2


def test_a_constant_is_drawn_at_each_use():
    x, y = T.dvector("x"), T.dvector("y")
    out = T.exp(x * 0.5) + y * 0.5
    nodes, edges, _ = dot_of(out)
    halves = [n for n, a in nodes.items() if a["label"] == "val=0.5 float64[]"]
    assert len(halves) == 2
    assert sorted(nodes[b]["label"] for a, b, _ in edges if a in halves) == ["mul", "mul"]


def test_a_loop_in_a_graph_is_a_cluster_wired_to_its_body():
    a, h0 = T.dvector("a"), T.dvector("h0")
    states, _ = theon.scan(lambda xt, h: h * xt, sequences=[a], outputs_info=[h0])
    nodes, edges, clusters = dot_of(states)
    (loop,) = clusters
    inside = {attributes["label"] for attributes in nodes.values()
              if attributes["cluster"] == loop}
    assert inside == {"scan", "a[t+0] float64[]", "h0[t-1] float64[?]", "mul",
                      "state 0 next float64[?]"}
    found = labelled_edges(nodes, edges)
    assert ("a float64[?]", "a[t+0] float64[]", "seq 0 [t+0]") in found
    feedback = [(nodes[x]["label"], nodes[y]["label"], e["label"]) for x, y, e in edges
                if e.get("style") == "dashed"]
    assert feedback == [("state 0 next float64[?]", "h0[t-1] float64[?]", "next [t-1]")]
    # scan_graphs=False: the loop is one box
    nodes, _, clusters = dot_of(states, scan_graphs=False)
    assert clusters == {} and "scan" in {attributes["label"] for attributes in nodes.values()}


# -- compiled functions ---------------------------------------------------------------------

def test_each_kernel_is_a_cluster_of_its_scalar_operations(mlp):
    data = page_data(html_of(mlp))
    schedule = mlp.schedule
    kernels = [c for c in data["clusters"] if c["kind"] == "kernel"]
    steps = [step for step in schedule.steps if isinstance(step, KernelStep)]
    assert [c["label"] for c in kernels] == \
        ["kernel[" + ", ".join(step.kernel.members) + "]" for step in steps]
    for cluster, step in zip(kernels, steps):
        members = [n for n in data["nodes"] if n["cluster"] == cluster["id"]]
        expected = len(scalar_operations(step.kernel.body)) + (step.kernel.reduce is not None)
        assert len(members) == expected, cluster["label"]
        assert cluster["details"]["members"] == ", ".join(step.kernel.members)
    hosts = [n for n in data["nodes"] if n["kind"] in ("host", "library")]
    host_steps = [step for step in schedule.steps if isinstance(step, HostStep)]
    assert sorted(n["label"] for n in hosts) == sorted(st.op.describe() for st in host_steps)
    assert {n["label"]: n["kind"] for n in hosts}["dot"] == "library"
    inputs = [n for n in data["nodes"] if n["kind"] in ("input", "shared")]
    assert sorted((n["label"], n["kind"]) for n in inputs) == [
        ("W float32[?, ?]", "shared"), ("v float32[?]", "input"), ("x float32[?, ?]", "input")]
    # every edge joins two drawn nodes, and every node but the inputs has an edge in
    ids = {n["id"] for n in data["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])
    fed = {e["target"] for e in data["edges"]}
    assert {n["id"] for n in data["nodes"] if n["kind"] not in ("input", "shared")} <= fed


def test_stages_before_and_after_optimisation(mlp):
    original = page_data(html_of(mlp, stage="original"))
    reference = op_nodes(list(mlp.graph.outputs))
    drawn_ops = [n for n in original["nodes"] if n["kind"] == "op"]
    assert sorted(n["label"] for n in drawn_ops) == sorted(n.op.describe() for n in reference)
    assert original["clusters"] == []
    both = page_data(html_of(mlp, stage="both"))
    tops = [c for c in both["clusters"] if c["parent"] is None]
    assert [(c["label"], c["kind"]) for c in tops] == [("original graph", "graph"),
                                                       ("optimized (as compiled)", "graph")]
    optimized = page_data(html_of(mlp))
    assert len(both["nodes"]) == len(original["nodes"]) + len(optimized["nodes"])
    first, second = (c["id"] for c in tops)
    in_first = [n for n in both["nodes"] if n["cluster"] == first]
    assert len(in_first) == len(original["nodes"])


def test_loops_and_branches_of_a_compiled_function(loop_and_branch):
    schedule = loop_and_branch.schedule
    (loop_step,) = [st for st in schedule.steps if isinstance(st, LoopStep)]
    (branch_step,) = [st for st in schedule.steps if isinstance(st, BranchStep)]
    nodes, edges, clusters = dot_of(loop_and_branch)
    by_label = {c["label"]: cid for cid, c in clusters.items()}
    loop, branch = by_label["scan 'loop'"], by_label["branch"]
    body_inputs = sorted(attributes["label"] for attributes in nodes.values()
                         if attributes["cluster"] == loop and attributes["shape"] == "ellipse"
                         and attributes["fillcolor"] == "palegreen")
    assert body_inputs == sorted(
        f"{name.strip(chr(39))} {loop_step.body.slot_types[k]}"
        for k, name in enumerate(loop_step.body.slot_names[:loop_step.body.n_inputs]))
    feedback = sorted(e["label"] for _, _, e in edges if e.get("style") == "dashed")
    assert feedback == ["next [t-1]", "next [t-2]", "until"]
    sides = sorted(c["label"] for c in clusters.values() if c["parent"] == branch)
    assert sides == ["else", "then"]
    def inside(cluster, outer):
        while cluster is not None and cluster != outer:
            cluster = clusters[cluster]["parent"]
        return cluster == outer
    for outer, bodies in ((loop, [loop_step.body]),
                          (branch, [branch_step.then_body, branch_step.else_body])):
        drawn = sorted(c["label"] for cid, c in clusters.items()
                       if c["label"].startswith("kernel[") and inside(cid, outer))
        assert drawn == sorted("kernel[" + ", ".join(st.kernel.members) + "]"
                               for body in bodies for st in body.steps
                               if isinstance(st, KernelStep))
    then_out = {n for n, a in nodes.items() if a["label"].startswith("then 0 ")}
    else_out = {n for n, a in nodes.items() if a["label"].startswith("else 0 ")}
    assert {(e.get("label")) for a, b, e in edges if a in then_out | else_out and
            nodes[b]["label"].startswith("output 0")} == {"then", "else"}


def test_updates_are_drawn_as_theano_draws_them():
    x = T.dvector("x")
    weights = theon.shared(np.ones(3), name="W")
    cost = ((x * weights) ** 2).sum()
    f = theon.function([x], cost, updates=[(weights, weights - 0.1 * theon.grad(cost, weights))])
    for stage in ("optimized", "original"):
        nodes, edges, _ = dot_of(f, stage=stage)
        updates = [(nodes[a]["label"], nodes[b]["label"], e["label"]) for a, b, e in edges
                   if e.get("label") == "UPDATE"]
        assert updates == [("update of W float64[?]", "W float64[?]", "UPDATE")], stage


def test_a_function_without_its_graph_draws_only_the_optimised_one():
    x = T.dvector("x")
    f = theon.function([x], T.exp(x))
    f.graph = None
    assert page_data(html_of(f))["nodes"]
    with pytest.raises(ValueError, match=re.escape(
            "pydotprint: stage='both' needs the graph the function was compiled from, which "
            "this function does not keep (Function.graph is None); use stage='optimized'")):
        theon.printing.pydotprint(f, format="dot", return_image=True, stage="both")


# -- output files -------------------------------------------------------------------------

def test_files_by_extension(tmp_path, capsys):
    x = T.dvector("x")
    out = T.exp(x)
    path = theon.printing.pydotprint(out, tmp_path / "graph.dot")
    assert path == str(tmp_path / "graph.dot")
    assert capsys.readouterr().out == f"The output file is available at {path}\n"
    assert parse_dot((tmp_path / "graph.dot").read_text())[0]
    path = theon.printing.pydotprint(out, str(tmp_path / "graph"), format="html",
                                     print_output_file=False)
    assert path == str(tmp_path / "graph.html") and capsys.readouterr().out == ""
    assert page_data((tmp_path / "graph.html").read_text())["nodes"]
    previous = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert theon.printing.pydotprint(out, format="dot", print_output_file=False) == \
            "theon.pydotprint.dot"
        assert (tmp_path / "theon.pydotprint.dot").exists()
    finally:
        os.chdir(previous)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_images(tmp_path, loop_and_branch):
    nodes, _, clusters = dot_of(loop_and_branch, stage="both")
    svg = theon.printing.pydotprint(loop_and_branch, format="svg", return_image=True,
                                    stage="both")
    root = ElementTree.fromstring(svg)
    groups = [g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert groups.count("node") == len(nodes)
    assert groups.count("cluster") == len(clusters)
    png = theon.printing.pydotprint(loop_and_branch, tmp_path / "f.png",
                                    print_output_file=False)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == str(tmp_path / "f.png")
    pdf = theon.printing.pydotprint(loop_and_branch, format="pdf", return_image=True)
    assert pdf[:5] == b"%PDF-"


def test_images_without_graphviz_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    x = T.dvector("x")
    with pytest.raises(RuntimeError, match=re.escape(
            "pydotprint: writing 'svg' needs Graphviz's 'dot' program, which is not on PATH; "
            "install Graphviz (e.g. 'apt install graphviz' or 'conda install graphviz'), or "
            "write a '.html' file (a self-contained viewer) or a '.dot' file (Graphviz "
            "source), which need nothing installed")):
        theon.printing.pydotprint(x * 2, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
    theon.printing.pydotprint(x * 2, tmp_path / "g.html", print_output_file=False)
    theon.printing.pydotprint(x * 2, tmp_path / "g.dot", print_output_file=False)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: theon.printing.pydotprint(3, format="dot"), TypeError,
     "pydotprint: fct is a int; expected a Variable, a list of Variables or a compiled "
     "theon.Function"),
    (lambda x: theon.printing.pydotprint([x, "y"], format="dot"), TypeError,
     "pydotprint: fct[1] is a str; expected a Variable, a list of Variables or a compiled "
     "theon.Function"),
    (lambda x: theon.printing.pydotprint([], format="dot"), ValueError,
     "pydotprint: got an empty list; expected at least one Variable"),
    (lambda x: theon.printing.pydotprint(x, format="jpg"), ValueError,
     "pydotprint: format must be one of png, svg, pdf, dot, html; got 'jpg'"),
    (lambda x: theon.printing.pydotprint(x, "g.png", format="svg"), ValueError,
     "pydotprint: outfile 'g.png' has the extension '.png' but format is 'svg'"),
    (lambda x: theon.printing.pydotprint(x, format="dot", stage="optimized"), ValueError,
     "pydotprint: stage='optimized' needs a compiled function; variables have only their "
     "graph (stage='original')"),
    (lambda x: theon.printing.pydotprint(x, format="dot", stage="after"), ValueError,
     "pydotprint: stage must be one of optimized, original, both; got 'after'"),
    (lambda x: theon.printing.pydotprint(x, format="dot", colorCodes=["red"]), TypeError,
     "pydotprint: colorCodes must be a dict from op class names to colours; got list"),
    (lambda x: theon.printing.pydotprint(x, format="dot", max_label_size=2), ValueError,
     "pydotprint: max_label_size must be an int of at least 4; got 2"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(T.dvector("x"))


def test_color_codes_override_and_remove_defaults():
    x = T.dvector("x")
    out = T.exp(x).sum()
    nodes, _, _ = dot_of(out, colorCodes={"Reduce": "red", "Input": None})
    colors = {a["label"]: a.get("fillcolor") for a in nodes.values()}
    assert colors["add-reduce[0]"] == "red"
    assert colors["x float64[?]"] is None
    assert colors["exp"] == "#FFAABB"
    nodes, _, _ = dot_of(out, high_contrast=False)
    assert {a["label"]: a.get("color") for a in nodes.values()}["exp"] == "#FFAABB"


# -- the HTML viewer ----------------------------------------------------------------------

def test_the_html_page_loads_nothing_from_elsewhere(mlp):
    page = parse_page(html_of(mlp, stage="both"))
    assert "link" not in page.tags and "img" not in page.tags and "iframe" not in page.tags
    assert [(tag, name) for tag, name, _ in page.attributes
            if name in ("src", "href", "xlink:href", "srcset", "action")] == []
    assert [script["attrs"] for script in page.scripts] == [
        {"type": "application/json", "id": "graph-data"}, {}]
    code = page.scripts[1]["text"]
    assert "function layoutLevel" in code and "import " not in code
    assert not re.search(r"\b(fetch|XMLHttpRequest|import\()", code)


def test_labels_cannot_break_out_of_the_page():
    x = T.dvector("</script><b>x & y")
    page = html_of(x * 2)
    assert "</script><b>" not in page
    data = page_data(page)
    assert "</script><b>x & y float64[?]" in [n["label"] for n in data["nodes"]]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def render_in_browser(path, tmp_path, fragment=""):
    """The DOM of ``path`` after Chromium ran its scripts, as a string."""
    result = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=5000",
         "--dump-dom", f"file://{path}{fragment}"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


class _DomParser(html.parser.HTMLParser):
    """The status of the page, and per drawn <g> its class, data attributes and text."""

    def __init__(self):
        super().__init__()
        self.status, self.groups, self._open = None, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.status = attrs.get("data-status")
        if tag == "g" and ("data-id" in attrs or "data-cluster" in attrs):
            group = {**attrs, "text": []}
            self.groups.append(group)
            self._open.append(group)
        elif tag == "g":
            self._open.append(None)

    def handle_endtag(self, tag):
        if tag == "g" and self._open:
            self._open.pop()

    def handle_data(self, data):
        for group in self._open:
            if group is not None:
                group["text"].append(data)


@pytest.mark.skipif(_chromium() is None, reason="no Chromium to render the page")
def test_the_page_renders_in_a_headless_browser(tmp_path, loop_and_branch):
    path = tmp_path / "control.html"
    theon.printing.pydotprint(loop_and_branch, path, stage="both", print_output_file=False)
    data = page_data(path.read_text())
    dom = _DomParser()
    dom.feed(render_in_browser(path, tmp_path))
    assert dom.status == "ok"
    drawn_nodes = {g["data-id"]: g for g in dom.groups if "node" in g["class"].split()}
    drawn_clusters = {g["data-id"]: g for g in dom.groups if "cluster" in g["class"].split()}
    assert set(drawn_nodes) == {n["id"] for n in data["nodes"]}
    assert set(drawn_clusters) == {c["id"] for c in data["clusters"]}
    for node in data["nodes"]:
        text = drawn_nodes[node["id"]]["text"]
        assert text[0] == "\n".join([node["label"].split("\n")[0]] +
                                    [f"{k}: {v}" for k, v in node["details"].items()])
        assert text[1:] == node["label"].split("\n")     # <title>, then one line per tspan
    # the address can open the page with the kernels collapsed
    dom = _DomParser()
    dom.feed(render_in_browser(path, tmp_path, "#collapse=kernel"))
    assert dom.status == "ok"
    kernels = {c["id"] for c in data["clusters"] if c["kind"] == "kernel"}
    collapsed = {g["data-cluster"] for g in dom.groups if "data-cluster" in g}
    assert collapsed == kernels
    inside = {n["id"] for n in data["nodes"] if n["cluster"] in kernels}
    shown = {g["data-id"] for g in dom.groups if "data-id" in g and "node" in g["class"]}
    assert shown == {n["id"] for n in data["nodes"]} - inside


_LAYOUT_SCRIPT = """
const fs = require("fs");
const vm = require("vm");
const [layoutPath, dataPath] = process.argv.slice(1);
const context = {};
vm.createContext(context);
vm.runInContext(fs.readFileSync(layoutPath, "utf8") + "\\nthis.layout = theonLayout;", context);
const graph = new context.layout.Graph(JSON.parse(fs.readFileSync(dataPath, "utf8")));
const geometry = context.layout.place(graph);
console.log(JSON.stringify({boxes: Object.fromEntries(geometry.boxes), frames: geometry.frames}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js to run the layout")
def test_the_layout_keeps_clusters_around_their_members_and_apart(tmp_path,
                                                                  loop_and_branch):
    import theon.frontend.graph_view as graph_view
    data = page_data(html_of(loop_and_branch, stage="both"))
    (tmp_path / "data.json").write_text(json.dumps(data))
    layout = os.path.join(os.path.dirname(graph_view.__file__), "layout.js")
    result = subprocess.run(["node", "-e", _LAYOUT_SCRIPT, layout, str(tmp_path / "data.json")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    geometry = json.loads(result.stdout)
    frames = {frame["id"]: frame for frame in geometry["frames"]}
    assert set(frames) == {c["id"] for c in data["clusters"]}
    parents = {c["id"]: c["parent"] for c in data["clusters"]}

    def rect(box):
        return (box["x"] - box["w"] / 2, box["y"] - box["h"] / 2,
                box["x"] + box["w"] / 2, box["y"] + box["h"] / 2)

    def frame_rect(frame):
        return (frame["x"], frame["y"], frame["x"] + frame["w"], frame["y"] + frame["h"])

    def overlap(a, b):
        return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and \
            b[1] < a[3] - 0.5

    def inside(a, b):
        return b[0] <= a[0] + 0.5 and b[1] <= a[1] + 0.5 and a[2] <= b[2] + 0.5 and \
            a[3] <= b[3] + 0.5

    def ancestors(cluster):
        while cluster is not None:
            yield cluster
            cluster = parents[cluster]

    boxes = {n["id"]: rect(geometry["boxes"]["n:" + n["id"]]) for n in data["nodes"]}
    for node in data["nodes"]:
        around = set(ancestors(node["cluster"]))
        for cluster, frame in frames.items():
            if cluster in around:
                assert inside(boxes[node["id"]], frame_rect(frame)), (node, cluster)
            else:
                assert not overlap(boxes[node["id"]], frame_rect(frame)), (node, cluster)
    nodes = list(boxes.items())
    for i, (a, box_a) in enumerate(nodes):
        for b, box_b in nodes[i + 1:]:
            assert not overlap(box_a, box_b), (a, b)
    for a in frames:
        for b in frames:
            if a < b and a not in ancestors(b) and b not in ancestors(a):
                assert not overlap(frame_rect(frames[a]), frame_rect(frames[b])), (a, b)
    # data flows downwards between nodes laid out together
    cluster_of = {n["id"]: n["cluster"] for n in data["nodes"]}
    for edge in data["edges"]:
        if edge["kind"] == "data" and cluster_of[edge["source"]] == cluster_of[edge["target"]]:
            assert boxes[edge["source"]][3] < boxes[edge["target"]][1], edge


# -- profiles ---------------------------------------------------------------------------

_PROFILES = "profile" in inspect.signature(theon.function).parameters


@pytest.mark.skipif(not _PROFILES, reason="theon.function has no profile= yet")
def test_a_profiled_function_shows_the_time_of_each_step():
    x, v = T.fmatrix("x"), T.fvector("v")
    out = T.tanh(T.dot(x, x.T) + v).sum(axis=1)
    f = theon.function([x, v], out, profile=True)
    for _ in range(3):
        f(np.ones((8, 8), "float32"), np.ones(8, "float32"))
    records = {record.index: record for record in f.profile.steps}
    total = sum(record.seconds for record in records.values())
    data = page_data(html_of(f))
    items = data["nodes"] + data["clusters"]
    for number in range(len(f.schedule.steps)):
        record = records[number]
        (item,) = [i for i in items if i["details"].get("step") == str(number)]
        share = f"{record.seconds / total * 100:.1f}%"
        assert item["details"]["calls"] == "3"
        assert item["details"]["share"] == share
        assert item["label"].endswith(f"({share})")
        expected = record.bytes / record.seconds / 1e9
        assert item["details"]["bandwidth"] == f"{expected:.3g} GB/s"
    text = theon.printing.debugprint(f, file="str")
    timed = re.findall(r"  (\d+) --> +([0-9.e+-]+)s +([0-9.]+)%$", text, re.M)
    assert {int(number) for number, _, _ in timed} == set(records)
    for number, seconds, share in timed:
        record = records[int(number)]
        assert float(seconds) == pytest.approx(record.seconds, rel=0.01)
        assert float(share) == pytest.approx(record.seconds / total * 100, abs=0.051)


# -- debugprint -------------------------------------------------------------------------

def test_debugprint_of_variables_in_theanos_layout():
    x, y = T.fvector("x"), T.fvector("y")
    out = T.exp(x) + y * (x + 1)
    assert theon.printing.debugprint(out, file="str") == "\n".join([
        "add [id A] float32[?]",
        " |exp [id B] float32[?]",
        " | |x [id C] float32[?]",
        " |mul [id D] float32[?]",
        "   |y [id E] float32[?]",
        "   |add [id F] float32[?]",
        "     |x [id C] float32[?]",
        "     |constant 1.0 [id G] float32[]"])
    assert theon.printing.debugprint(out, file="str", print_type=False, depth=2,
                                     ids="int") == "add [id 0]\n |exp [id 1]\n |mul [id 2]"
    assert theon.printing.debugprint(out, file="str", ids="", depth=1) == "add float32[?]"
    with pytest.raises(ValueError, match=re.escape(
            "debugprint: ids must be one of 'CHAR', 'int', ''; got 'id'")):
        theon.printing.debugprint(out, file="str", ids="id")


def test_debugprint_of_a_function_prints_its_steps_and_kernels():
    x, y = T.fvector("x"), T.fvector("y")
    f = theon.function([x, y], [T.exp(x) + y, (T.exp(x) + y) * 2])
    text = theon.printing.debugprint(f, file="str")
    trees, inner = text.split("\n\nInner graphs:\n\n")
    (step,) = f.schedule.steps
    label = step.kernel.describe()
    assert trees.splitlines() == [
        f"{label}.0 [id A] float32[?]   0", " |x [id B] float32[?]", " |y [id C] float32[?]",
        f"{label}.1 [id A] float32[?]   0"]
    assert inner.splitlines() == [f"{label} [id A]"] + \
        [f" >{line}" for line in s.format_body(step.kernel.body)]


def test_debugprint_points_inner_inputs_to_the_values_feeding_them(loop_and_branch):
    text = theon.printing.debugprint(loop_and_branch, file="str")
    ids = dict(re.findall(r"^[ |]*(a|h0|c) (\[id \w+\])", text, re.M))
    assert re.search(r"^ > \|a\[t\+0\] \[id \w+\] float64\[\] -> " + re.escape(ids["a"]),
                     text, re.M)
    assert re.search(r"^ >then:$", text, re.M) and re.search(r"^ >else:$", text, re.M)
    # every kernel, also those inside the loop and the branch, has its body listed once
    kernels = [st for st in loop_and_branch.schedule.kernel_steps()]
    headers = re.findall(r"^(kernel\[.*\]) \[id \w+\]$", text, re.M)
    assert sorted(headers) == sorted(st.kernel.describe() for st in kernels)
