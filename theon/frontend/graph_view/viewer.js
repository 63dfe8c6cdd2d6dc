// theon's graph viewer, part 2: drawing the laid-out graph as SVG, pan, zoom, tooltips,
// the details panel and collapsible clusters.  Runs after layout.js, in the same page.
(function () {
  "use strict";

  const SVGNS = "http://www.w3.org/2000/svg";
  const {Graph, place, lines, collapsedLabel, LINE_HEIGHT, CLUSTER_LABEL_LINE} = theonLayout;
  const COLLAPSE_KERNELS_ABOVE = 400;   // nodes; bigger graphs open with kernels collapsed
  const MIN_READABLE_SCALE = 0.4;

  // -- drawing -------------------------------------------------------------------------

  function svg(tag, attributes, parent) {
    const element = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attributes || {})) element.setAttribute(k, v);
    if (parent) parent.appendChild(element);
    return element;
  }

  function tooltip(label, details) {
    const rows = [lines(label)[0]];
    for (const [k, v] of Object.entries(details || {})) rows.push(k + ": " + v);
    return rows.join("\n");
  }

  function addText(group, label, cx, cy, cls) {
    const ls = lines(label);
    const text = svg("text", {"class": cls, "text-anchor": "middle"}, group);
    const first = cy - ((ls.length - 1) * LINE_HEIGHT) / 2;
    ls.forEach((line, i) => {
      const span = svg("tspan", {x: cx, y: first + i * LINE_HEIGHT, "dominant-baseline": "central"},
                       text);
      span.textContent = line;
    });
    return text;
  }

  function curve(points) {
    let d = "M" + points[0].x + "," + points[0].y;
    for (let i = 1; i < points.length; i += 1) {
      const a = points[i - 1];
      const b = points[i];
      const mid = (a.y + b.y) / 2;
      d += " C" + a.x + "," + mid + " " + b.x + "," + mid + " " + b.x + "," + b.y;
    }
    return d;
  }

  class View {
    constructor(data, svgElement, info, status) {
      this.graph = new Graph(data);
      this.svg = svgElement;
      this.info = info;
      this.status = status;
      this.highContrast = !data.options || data.options.high_contrast !== false;
      this.transform = {x: 0, y: 0, k: 1};
      const defs = svg("defs", {}, svgElement);
      const marker = svg("marker", {id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
                                    markerWidth: "7", markerHeight: "7",
                                    orient: "auto-start-reverse"}, defs);
      svg("path", {d: "M0,0 L10,5 L0,10 z", "class": "arrow-head"}, marker);
      this.viewport = svg("g", {id: "viewport"}, svgElement);
      if (data.nodes.length > COLLAPSE_KERNELS_ABOVE) this.collapseKind("kernel");
      this.enablePanZoom();
    }

    collapseKind(kind) {
      for (const c of this.graph.data.clusters) {
        if (kind === null || c.kind === kind) this.graph.collapsed.add(c.id);
      }
    }

    toggle(id) {
      if (this.graph.collapsed.has(id)) this.graph.collapsed.delete(id);
      else this.graph.collapsed.add(id);
      this.render();
    }

    render() {
      const geometry = place(this.graph);
      this.geometry = geometry;
      this.viewport.replaceChildren();
      const layers = {
        clusters: svg("g", {"class": "clusters"}, this.viewport),
        edges: svg("g", {"class": "edges"}, this.viewport),
        nodes: svg("g", {"class": "nodes"}, this.viewport),
      };
      geometry.frames.sort((a, b) => a.depth - b.depth);
      for (const frame of geometry.frames) this.drawCluster(layers.clusters, frame);
      this.graph.data.edges.forEach((edge, index) => this.drawEdge(layers.edges, edge, index));
      for (const [key, box] of geometry.boxes) {
        const id = key.slice(2);
        if (key.startsWith("n:")) this.drawNode(layers.nodes, this.graph.nodes.get(id), box);
        else if (key.startsWith("c:") && this.graph.collapsed.has(id)) {
          this.drawCollapsed(layers.nodes, this.graph.clusters.get(id), box);
        }
      }
      this.status.textContent = this.graph.data.nodes.length + " nodes, " +
        this.graph.data.clusters.length + " clusters (" + this.graph.collapsed.size +
        " collapsed)";
    }

    paint(shape, color) {
      if (!color) return;
      if (this.highContrast) shape.style.fill = color;
      else shape.style.stroke = color;
    }

    drawCluster(parent, frame) {
      const cluster = this.graph.clusters.get(frame.id);
      const group = svg("g", {"class": "cluster kind-" + cluster.kind, "data-id": cluster.id},
                        parent);
      svg("title", {}, group).textContent = tooltip(cluster.label, cluster.details);
      const rect = svg("rect", {x: frame.x, y: frame.y, width: frame.w, height: frame.h,
                                rx: 6, ry: 6}, group);
      if (cluster.color) rect.style.fill = cluster.color;
      const label = svg("text", {"class": "cluster-label", x: frame.x + 8, y: frame.y + 6},
                        group);
      lines(cluster.label + "  [-]").forEach((line, i) => {
        const span = svg("tspan", {x: frame.x + 8, y: frame.y + 8 + i * CLUSTER_LABEL_LINE,
                                   "dominant-baseline": "hanging"}, label);
        span.textContent = line;
      });
      label.addEventListener("click", (event) => {
        event.stopPropagation();
        if (!this.dragged) this.toggle(cluster.id);
      });
      group.addEventListener("click", (event) => {
        event.stopPropagation();
        if (!this.dragged) this.show(cluster.label, cluster.details);
      });
    }

    drawNode(parent, node, box) {
      const group = svg("g", {"class": "node kind-" + node.kind, "data-id": node.id}, parent);
      svg("title", {}, group).textContent = tooltip(node.label, node.details);
      let shape;
      if (node.shape === "ellipse") {
        shape = svg("ellipse", {cx: box.x, cy: box.y, rx: box.w / 2, ry: box.h / 2}, group);
      } else {
        shape = svg("rect", {x: box.x - box.w / 2, y: box.y - box.h / 2, width: box.w,
                             height: box.h, rx: 3, ry: 3}, group);
      }
      this.paint(shape, node.color);
      addText(group, node.label, box.x, box.y, "label");
      group.addEventListener("click", (event) => {
        event.stopPropagation();
        if (!this.dragged) this.show(node.label, node.details);
      });
    }

    drawCollapsed(parent, cluster, box) {
      const group = svg("g", {"class": "node collapsed kind-" + cluster.kind,
                              "data-cluster": cluster.id}, parent);
      svg("title", {}, group).textContent = tooltip(cluster.label, cluster.details);
      const rect = svg("rect", {x: box.x - box.w / 2, y: box.y - box.h / 2, width: box.w,
                                height: box.h, rx: 6, ry: 6}, group);
      if (cluster.color) rect.style.fill = cluster.color;
      addText(group, collapsedLabel(cluster), box.x, box.y, "label");
      group.addEventListener("click", (event) => {
        event.stopPropagation();
        if (!this.dragged) this.toggle(cluster.id);
      });
    }

    drawEdge(parent, edge, index) {
      const from = this.graph.visible(edge.source);
      const to = this.graph.visible(edge.target);
      if (from === to) return;    // inside one collapsed cluster
      const a = this.geometry.boxes.get(from);
      const b = this.geometry.boxes.get(to);
      const group = svg("g", {"class": "edge kind-" + edge.kind, "data-source": edge.source,
                              "data-target": edge.target}, parent);
      let d;
      let labelAt;
      if (edge.kind !== "data") {
        const right = Math.max(a.x + a.w / 2, b.x + b.w / 2) + 30;
        d = "M" + (a.x + a.w / 2) + "," + a.y + " C" + right + "," + a.y + " " + right +
          "," + b.y + " " + (b.x + b.w / 2) + "," + b.y;
        labelAt = {x: right - 8, y: (a.y + b.y) / 2};
      } else {
        const via = this.geometry.routes.get(index) || [];
        const downwards = b.y >= a.y;
        const start = {x: a.x, y: downwards ? a.y + a.h / 2 : a.y - a.h / 2};
        const end = {x: b.x, y: downwards ? b.y - b.h / 2 : b.y + b.h / 2};
        const points = [start, ...via, end];
        d = curve(points);
        labelAt = via.length ? via[Math.floor(via.length / 2)]
          : {x: (start.x + end.x) / 2, y: (start.y + end.y) / 2};
      }
      svg("path", {d, "class": "edge-line", "marker-end": "url(#arrow)"}, group);
      if (edge.label) {
        const text = svg("text", {"class": "edge-label", x: labelAt.x + 4, y: labelAt.y,
                                  "dominant-baseline": "central"}, group);
        text.textContent = edge.label;
      }
    }

    show(label, details) {
      this.info.replaceChildren();
      const title = document.createElement("h2");
      title.textContent = label;
      this.info.appendChild(title);
      const table = document.createElement("table");
      for (const [k, v] of Object.entries(details || {})) {
        const row = table.insertRow();
        row.insertCell().textContent = k;
        row.insertCell().textContent = v;
      }
      this.info.appendChild(table);
      this.info.hidden = false;
    }

    apply() {
      const t = this.transform;
      this.viewport.setAttribute("transform",
                                 "translate(" + t.x + "," + t.y + ") scale(" + t.k + ")");
    }

    // The whole graph in the window; a graph too big to read that way is shown from its
    // top at the smallest readable scale instead (wheel and drag reach the rest).
    fit() {
      const rect = this.svg.getBoundingClientRect();
      const width = rect.width || 800;
      const height = rect.height || 600;
      const g = this.geometry;
      let k = Math.min(width / g.width, height / g.height, 1.5) * 0.96;
      if (k >= MIN_READABLE_SCALE) {
        this.transform = {k, x: (width - g.width * k) / 2, y: (height - g.height * k) / 2};
      } else {
        k = Math.max(Math.min(width / g.width, 1) * 0.96, MIN_READABLE_SCALE);
        this.transform = {k, x: Math.max((width - g.width * k) / 2, 0), y: 8};
      }
      this.apply();
    }

    enablePanZoom() {
      const target = this.svg;
      target.addEventListener("wheel", (event) => {
        event.preventDefault();
        const rect = target.getBoundingClientRect();
        const px = event.clientX - rect.left;
        const py = event.clientY - rect.top;
        const t = this.transform;
        const k = Math.min(Math.max(t.k * Math.exp(-event.deltaY * 0.0015), 0.02), 20);
        t.x = px - ((px - t.x) * k) / t.k;
        t.y = py - ((py - t.y) * k) / t.k;
        t.k = k;
        this.apply();
      }, {passive: false});
      let start = null;
      target.addEventListener("pointerdown", (event) => {
        start = {x: event.clientX, y: event.clientY, tx: this.transform.x, ty: this.transform.y};
        this.dragged = false;
      });
      target.addEventListener("pointermove", (event) => {
        if (start === null) return;
        const dx = event.clientX - start.x;
        const dy = event.clientY - start.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) {
          if (!this.dragged) target.setPointerCapture(event.pointerId);
          this.dragged = true;
        }
        if (this.dragged) {
          this.transform.x = start.tx + dx;
          this.transform.y = start.ty + dy;
          this.apply();
        }
      });
      const stop = () => {
        start = null;
      };
      target.addEventListener("pointerup", stop);
      target.addEventListener("pointercancel", stop);
      target.addEventListener("click", () => {
        if (!this.dragged) this.info.hidden = true;
      });
    }
  }

  // The page's address may choose which clusters start closed: "#collapse=kernel" (a
  // cluster kind), "#collapse=all", "#collapse=none" or "#collapse=c1,c4" (cluster ids).
  function collapseFromAddress(view) {
    const match = /(?:^#|&)collapse=([^&]*)/.exec(window.location.hash);
    if (!match) return;
    const value = decodeURIComponent(match[1]);
    view.graph.collapsed.clear();
    if (value === "none") return;
    if (value === "all") view.collapseKind(null);
    else if (/^[a-z]+$/.test(value)) view.collapseKind(value);
    else {
      for (const id of value.split(",")) {
        if (view.graph.clusters.has(id)) view.graph.collapsed.add(id);
      }
    }
  }

  function main() {
    const data = JSON.parse(document.getElementById("graph-data").textContent);
    const view = new View(data, document.getElementById("canvas"),
                          document.getElementById("info"), document.getElementById("status"));
    collapseFromAddress(view);
    view.render();
    view.fit();
    document.getElementById("fit").addEventListener("click", () => view.fit());
    document.getElementById("expand").addEventListener("click", () => {
      view.graph.collapsed.clear();
      view.render();
      view.fit();
    });
    document.getElementById("collapse").addEventListener("click", () => {
      view.collapseKind("kernel");
      view.render();
      view.fit();
    });
    window.theonGraphView = view;
  }

  window.addEventListener("error", (event) => {
    document.body.setAttribute("data-status", "error: " + event.message);
  });
  try {
    main();
    document.body.setAttribute("data-status", "ok");
  } catch (error) {
    document.body.setAttribute("data-status", "error: " + error.message);
    throw error;
  }
}());
