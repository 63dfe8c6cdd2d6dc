// theon's graph viewer, part 1: the graph and its layout (no drawing).
//
// Needs nothing but a browser: no network, no libraries.
//
// Layout is recursive and layered (Sugiyama style).  Each cluster is laid out on its own,
// then stands in its parent's layout as one block of that size, so clusters never overlap
// and always enclose their members.  Within one level: back edges reversed (depth-first
// search), longest-path layering with sources pulled down next to their first user, dummy
// nodes on long edges, barycentre ordering sweeps keeping the order with the fewest
// crossings, then x positions that move each item towards its neighbours' mean as far as
// the order and spacing allow (isotonic regression, pool adjacent violators).
const theonLayout = (function () {
  "use strict";

  const CHAR_WIDTH = 7.2;       // 12px monospace
  const LINE_HEIGHT = 15;
  const NODE_PAD_X = 10;
  const NODE_PAD_Y = 6;
  const NODE_GAP = 22;
  const LAYER_GAP = 44;
  const CLUSTER_PAD = 12;
  const CLUSTER_LABEL_LINE = 15;
  const DUMMY_WIDTH = 6;
  const ORDER_SWEEPS = 12;
  const POSITION_SWEEPS = 8;
  const ROOT = "";

  // -- the graph ---------------------------------------------------------------------

  class Graph {
    constructor(data) {
      this.data = data;
      this.nodes = new Map(data.nodes.map((n) => [n.id, n]));
      this.clusters = new Map(data.clusters.map((c) => [c.id, c]));
      this.childNodes = new Map([[ROOT, []]]);
      this.childClusters = new Map([[ROOT, []]]);
      for (const c of data.clusters) {
        this.childNodes.set(c.id, []);
        this.childClusters.set(c.id, []);
      }
      for (const n of data.nodes) this.childNodes.get(n.cluster || ROOT).push(n.id);
      for (const c of data.clusters) this.childClusters.get(c.parent || ROOT).push(c.id);
      // path of a node: its enclosing clusters, outermost first
      this.paths = new Map();
      for (const n of data.nodes) {
        const path = [];
        for (let c = n.cluster; c; c = this.clusters.get(c).parent) path.unshift(c);
        this.paths.set(n.id, path);
      }
      this.collapsed = new Set();
    }

    // The item standing for node `id` when everything collapsed is closed: the outermost
    // collapsed cluster around it, else the node itself.
    visible(id) {
      for (const c of this.paths.get(id)) {
        if (this.collapsed.has(c)) return "c:" + c;
      }
      return "n:" + id;
    }

    // For an edge between two visible items: the cluster whose layout holds it (their
    // innermost common cluster) and the two items of that level it joins.
    placeEdge(edge) {
      const a = this.itemPath(edge.source);
      const b = this.itemPath(edge.target);
      let depth = 0;
      while (depth < a.length && depth < b.length && a[depth] === b[depth]) depth += 1;
      if (depth === a.length || depth === b.length) return null;   // same visible item
      return {container: depth === 0 ? ROOT : a[depth - 1].slice(2),
              from: a[depth], to: b[depth]};
    }

    // Item keys from the root down to the visible item of node `id`.
    itemPath(id) {
      const keys = [];
      for (const c of this.paths.get(id)) {
        keys.push("c:" + c);
        if (this.collapsed.has(c)) return keys;
      }
      keys.push("n:" + id);
      return keys;
    }
  }

  // -- sizes -------------------------------------------------------------------------

  function lines(text) {
    return String(text).split("\n");
  }

  function textSize(text) {
    const ls = lines(text);
    const longest = Math.max(...ls.map((l) => l.length));
    return {w: longest * CHAR_WIDTH, h: ls.length * LINE_HEIGHT};
  }

  function nodeSize(node) {
    const t = textSize(node.label);
    if (node.shape === "ellipse") {
      return {w: t.w * 1.2 + 2 * NODE_PAD_X + 8, h: t.h + 2 * NODE_PAD_Y + 6};
    }
    return {w: t.w + 2 * NODE_PAD_X, h: t.h + 2 * NODE_PAD_Y};
  }

  function collapsedLabel(cluster) {
    return cluster.label + "  [+]";
  }

  // -- one level of the layout ------------------------------------------------------

  // Reverse the edges that close a cycle (depth-first search from the items in order).
  function acyclic(keys, edges) {
    const out = new Map(keys.map((k) => [k, []]));
    edges.forEach((e, i) => out.get(e.from).push(i));
    const state = new Map();
    const reversed = new Set();
    for (const start of keys) {
      if (state.has(start)) continue;
      const stack = [[start, 0]];
      state.set(start, 1);
      while (stack.length) {
        const top = stack[stack.length - 1];
        const list = out.get(top[0]);
        if (top[1] >= list.length) {
          state.set(top[0], 2);
          stack.pop();
          continue;
        }
        const i = list[top[1]];
        top[1] += 1;
        const next = edges[i].to;
        if (state.get(next) === 1) reversed.add(i);
        else if (!state.has(next)) {
          state.set(next, 1);
          stack.push([next, 0]);
        }
      }
    }
    return reversed;
  }

  // Longest-path layers; then each source moves down next to its first successor.
  function assignLayers(keys, dag) {
    const indegree = new Map(keys.map((k) => [k, 0]));
    const succ = new Map(keys.map((k) => [k, []]));
    const pred = new Map(keys.map((k) => [k, []]));
    for (const [u, v] of dag) {
      succ.get(u).push(v);
      pred.get(v).push(u);
      indegree.set(v, indegree.get(v) + 1);
    }
    const layer = new Map(keys.map((k) => [k, 0]));
    const queue = keys.filter((k) => indegree.get(k) === 0);
    const order = [];
    while (queue.length) {
      const u = queue.shift();
      order.push(u);
      for (const v of succ.get(u)) {
        layer.set(v, Math.max(layer.get(v), layer.get(u) + 1));
        indegree.set(v, indegree.get(v) - 1);
        if (indegree.get(v) === 0) queue.push(v);
      }
    }
    for (const k of keys) {
      if (pred.get(k).length === 0 && succ.get(k).length > 0) {
        layer.set(k, Math.min(...succ.get(k).map((v) => layer.get(v))) - 1);
      }
    }
    return {layer, order};
  }

  // Crossings between two adjacent layers (edges as [upper position, lower position]).
  function crossingsBetween(pairs, size) {
    pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    const tree = new Array(size + 1).fill(0);
    let count = 0;
    pairs.forEach((p, seen) => {
      let below = 0;
      for (let i = p[1] + 1; i > 0; i -= i & -i) below += tree[i];
      count += seen - below;
      for (let i = p[1] + 1; i <= size; i += i & -i) tree[i] += 1;
    });
    return count;
  }

  function totalCrossings(layers, succ) {
    let count = 0;
    for (let l = 0; l + 1 < layers.length; l += 1) {
      const position = new Map(layers[l + 1].map((k, i) => [k, i]));
      const pairs = [];
      layers[l].forEach((u, i) => {
        for (const v of succ.get(u)) pairs.push([i, position.get(v)]);
      });
      count += crossingsBetween(pairs, layers[l + 1].length);
    }
    return count;
  }

  function orderLayers(layers, pred, succ) {
    let best = layers.map((l) => l.slice());
    let bestCount = totalCrossings(best, succ);
    for (let sweep = 0; sweep < ORDER_SWEEPS && bestCount > 0; sweep += 1) {
      const down = sweep % 2 === 0;
      const range = down ? [...layers.keys()].slice(1) : [...layers.keys()].reverse().slice(1);
      for (const l of range) {
        const fixed = layers[down ? l - 1 : l + 1];
        const position = new Map(fixed.map((k, i) => [k, i]));
        const neighbours = down ? pred : succ;
        const keyOf = new Map();
        layers[l].forEach((k, i) => {
          const ps = neighbours.get(k).filter((v) => position.has(v)).map((v) => position.get(v));
          keyOf.set(k, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : i);
        });
        layers[l].sort((a, b) => keyOf.get(a) - keyOf.get(b));
      }
      const count = totalCrossings(layers, succ);
      if (count < bestCount) {
        bestCount = count;
        best = layers.map((l) => l.slice());
      }
    }
    return best;
  }

  // Centres as close to `desired` as the order and the spacing allow (least squares).
  function placeInOrder(widths, desired) {
    const n = widths.length;
    const offset = [0];
    for (let i = 1; i < n; i += 1) {
      offset.push(offset[i - 1] + (widths[i - 1] + widths[i]) / 2 + NODE_GAP);
    }
    const blocks = [];   // [mean, weight, count]
    for (let i = 0; i < n; i += 1) {
      blocks.push([desired[i] - offset[i], 1, 1]);
      while (blocks.length > 1 && blocks[blocks.length - 2][0] > blocks[blocks.length - 1][0]) {
        const b = blocks.pop();
        const a = blocks[blocks.length - 1];
        a[0] = (a[0] * a[1] + b[0] * b[1]) / (a[1] + b[1]);
        a[1] += b[1];
        a[2] += b[2];
      }
    }
    const x = [];
    for (const [mean, , count] of blocks) {
      for (let j = 0; j < count; j += 1) x.push(mean + offset[x.length]);
    }
    return x;
  }

  function positionLayers(layers, size, pred, succ) {
    const x = new Map();
    for (const layer of layers) {
      const start = layer.map((k) => size.get(k).w);
      placeInOrder(start, start.map(() => 0)).forEach((v, i) => x.set(layer[i], v));
    }
    const mean = (keys) => keys.reduce((a, k) => a + x.get(k), 0) / keys.length;
    for (let sweep = 0; sweep <= POSITION_SWEEPS; sweep += 1) {
      const down = sweep % 2 === 0;
      const order = down ? layers : layers.slice().reverse();
      for (const layer of order) {
        const desired = layer.map((k) => {
          let ns = sweep === POSITION_SWEEPS ? pred.get(k).concat(succ.get(k))
            : (down ? pred : succ).get(k);
          if (!ns.length) ns = pred.get(k).concat(succ.get(k));
          return ns.length ? mean(ns) : x.get(k);
        });
        const placed = placeInOrder(layer.map((k) => size.get(k).w), desired);
        placed.forEach((v, i) => x.set(layer[i], v));
      }
    }
    return x;
  }

  // Lay out the items directly inside `container` (ROOT or a cluster id).
  function layoutLevel(graph, container, edgesByContainer) {
    const size = new Map();
    const blocks = new Map();
    const keys = [];
    for (const id of graph.childNodes.get(container)) {
      keys.push("n:" + id);
      size.set("n:" + id, nodeSize(graph.nodes.get(id)));
    }
    for (const id of graph.childClusters.get(container)) {
      const key = "c:" + id;
      keys.push(key);
      if (graph.collapsed.has(id)) {
        size.set(key, nodeSize({label: collapsedLabel(graph.clusters.get(id)), shape: "box"}));
      } else {
        const block = layoutLevel(graph, id, edgesByContainer);
        blocks.set(key, block);
        size.set(key, {w: block.w, h: block.h});
      }
    }
    // one layout edge per pair of items; every drawn edge between them follows it
    const edges = [];
    const edgeIndex = new Map();
    const routed = [];
    for (const placed of edgesByContainer.get(container) || []) {
      const pair = placed.from + "\u0000" + placed.to;
      if (!edgeIndex.has(pair)) {
        edgeIndex.set(pair, edges.length);
        edges.push({from: placed.from, to: placed.to});
      }
      routed.push([placed.edge, edgeIndex.get(pair)]);
    }
    const reversed = acyclic(keys, edges);
    const dag = edges.map((e, i) => (reversed.has(i) ? [e.to, e.from] : [e.from, e.to]))
      .filter(([u, v]) => u !== v);
    const {layer} = assignLayers(keys, dag);
    // dummy items on edges spanning several layers
    const allKeys = keys.slice();
    const chains = new Map();   // layout edge index -> keys from its upper to lower end
    const pred = new Map(keys.map((k) => [k, []]));
    const succ = new Map(keys.map((k) => [k, []]));
    edges.forEach((e, i) => {
      const [u, v] = reversed.has(i) ? [e.to, e.from] : [e.from, e.to];
      if (u === v) return;
      let previous = u;
      const chain = [u];
      for (let l = layer.get(u) + 1; l < layer.get(v); l += 1) {
        const dummy = "d:" + i + ":" + l;
        allKeys.push(dummy);
        layer.set(dummy, l);
        size.set(dummy, {w: DUMMY_WIDTH, h: 0});
        pred.set(dummy, []);
        succ.set(dummy, []);
        succ.get(previous).push(dummy);
        pred.get(dummy).push(previous);
        previous = dummy;
        chain.push(dummy);
      }
      succ.get(previous).push(v);
      pred.get(v).push(previous);
      chain.push(v);
      chains.set(i, chain);
    });
    const depth = allKeys.length ? Math.max(...allKeys.map((k) => layer.get(k))) + 1 : 0;
    const minLayer = allKeys.length ? Math.min(...allKeys.map((k) => layer.get(k))) : 0;
    let layers = [];
    for (let l = minLayer; l < depth; l += 1) layers.push([]);
    for (const k of allKeys) layers[layer.get(k) - minLayer].push(k);
    layers = layers.filter((l) => l.length);
    layers = orderLayers(layers, pred, succ);
    const x = positionLayers(layers, size, pred, succ);
    // y: each layer as tall as its tallest item
    const y = new Map();
    let top = 0;
    for (const l of layers) {
      const height = Math.max(...l.map((k) => size.get(k).h));
      for (const k of l) y.set(k, top + height / 2);
      top += height + LAYER_GAP;
    }
    let minX = Infinity;
    let maxX = -Infinity;
    let maxY = 0;
    for (const k of allKeys) {
      minX = Math.min(minX, x.get(k) - size.get(k).w / 2);
      maxX = Math.max(maxX, x.get(k) + size.get(k).w / 2);
      maxY = Math.max(maxY, y.get(k) + size.get(k).h / 2);
    }
    if (!allKeys.length) {
      minX = 0;
      maxX = 0;
    }
    const label = container === ROOT ? null : graph.clusters.get(container).label;
    const labelHeight = label === null ? 0 : lines(label).length * CLUSTER_LABEL_LINE + 6;
    const labelWidth = label === null ? 0 : textSize(label + "  [-]").w;
    const contentWidth = maxX - minX;
    const width = Math.max(contentWidth, labelWidth) + 2 * CLUSTER_PAD;
    const shiftX = CLUSTER_PAD - minX + (width - 2 * CLUSTER_PAD - contentWidth) / 2;
    const shiftY = CLUSTER_PAD + labelHeight;
    const position = new Map();
    for (const k of allKeys) position.set(k, {x: x.get(k) + shiftX, y: y.get(k) + shiftY});
    return {
      container, width, w: width, h: maxY + shiftY + CLUSTER_PAD, size, position, blocks,
      routes: routed.map(([edge, i]) => ({edge, reversed: reversed.has(i),
                                          via: (chains.get(i) || []).slice(1, -1)})),
    };
  }

  // -- absolute geometry ---------------------------------------------------------------

  function place(graph) {
    const edgesByContainer = new Map();
    graph.data.edges.forEach((edge, index) => {
      if (edge.kind !== "data") return;     // feedback and updates point backwards
      const placed = graph.placeEdge(edge);
      if (placed === null) return;
      placed.edge = index;
      if (!edgesByContainer.has(placed.container)) edgesByContainer.set(placed.container, []);
      edgesByContainer.get(placed.container).push(placed);
    });
    const root = layoutLevel(graph, ROOT, edgesByContainer);
    const boxes = new Map();      // item key -> {x, y, w, h} (centre, size)
    const frames = [];            // expanded clusters: {id, x, y, w, h, depth}
    const routes = new Map();     // edge index -> {reversed, points}
    const walk = (block, originX, originY, depth) => {
      for (const [key, p] of block.position) {
        const s = block.size.get(key);
        boxes.set(key, {x: originX + p.x, y: originY + p.y, w: s.w, h: s.h});
        const inner = block.blocks.get(key);
        if (inner) {
          const left = originX + p.x - s.w / 2;
          const top = originY + p.y - s.h / 2;
          frames.push({id: key.slice(2), x: left, y: top, w: s.w, h: s.h, depth});
          walk(inner, left, top, depth + 1);
        }
      }
      for (const route of block.routes) {
        const points = route.via.map((k) => ({x: originX + block.position.get(k).x,
                                               y: originY + block.position.get(k).y}));
        if (route.reversed) points.reverse();
        routes.set(route.edge, points);
      }
    };
    walk(root, 0, 0, 0);
    return {width: root.w, height: root.h, boxes, frames, routes};
  }

  return {Graph, place, lines, collapsedLabel, LINE_HEIGHT, CLUSTER_LABEL_LINE};
}());
