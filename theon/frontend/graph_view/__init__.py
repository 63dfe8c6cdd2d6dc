"""Pictures of graphs: ``theon.printing.pydotprint``'s machinery.

``build`` turns variables or a compiled function into a :class:`~.model.Drawing`
(``from_nodes`` for graphs of nodes, ``from_schedule`` for compiled schedules); ``dot``
writes it as Graphviz source and images, ``html`` as a self-contained page whose viewer
(``layout.js``, ``viewer.js``, ``viewer.css``, ``template.html``, shipped as package data)
lays the graph out in the browser.
"""
from .build import STAGES, draw_function, draw_variables
from .dot import IMAGE_FORMATS, render, to_dot
from .html import to_html
from .model import Drawing, DrawCluster, DrawEdge, DrawNode
from .style import DEFAULT_COLOR_CODES, Style

__all__ = ["STAGES", "draw_function", "draw_variables", "IMAGE_FORMATS", "render", "to_dot",
           "to_html", "Drawing", "DrawCluster", "DrawEdge", "DrawNode",
           "DEFAULT_COLOR_CODES", "Style"]
