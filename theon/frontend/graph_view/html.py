"""The self-contained HTML view: one file with the viewer's CSS and JavaScript (``layout.js``,
then ``viewer.js``) inlined and the drawing embedded as JSON.  It loads nothing (no scripts, fonts or styles from
elsewhere), so it opens offline in any browser and can be mailed or archived as is.
"""
import html
import json
import re
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{\{(TITLE|CSS|JS|DATA)\}\}")


def to_html(drawing, high_contrast=True):
    """The HTML page showing ``drawing``.

    The data is embedded in a ``<script type="application/json" id="graph-data">``
    element; ``<``, ``>`` and ``&`` are escaped in it, so no label can end the element.
    """
    data = drawing.to_json()
    data["options"] = {"high_contrast": bool(high_contrast)}
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    encoded = (encoded.replace("&", "\\u0026").replace("<", "\\u003c")
               .replace(">", "\\u003e").replace("\u2028", "\\u2028")
               .replace("\u2029", "\\u2029"))
    parts = {"TITLE": html.escape(drawing.title), "CSS": _asset("viewer.css"),
             "JS": _asset("layout.js") + "\n" + _asset("viewer.js"), "DATA": encoded}
    # one pass, so text inserted for one placeholder is never searched for another
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], _asset("template.html"))


def _asset(name):
    """The text of the viewer file ``name`` shipped with this package."""
    return (_HERE / name).read_text(encoding="utf-8")
