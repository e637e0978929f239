// A deterministic layout: one box per project (projects in name order, wrapped in rows), its
// networks on a grid in name order and its logical routers in a row below them. The same
// config always gives the same picture.

import type { Graph, Node } from './model';

export type Box = { project: string; x: number; y: number; w: number; h: number };
export type Placed = { node: Node; x: number; y: number };
export type Layout = { boxes: Box[]; at: Map<string, Placed>; width: number; height: number };

const CELL_W = 150;
const CELL_H = 64;
const PAD = 16;
const HEAD = 28;
const MAX_W = 1100;

export function layout(g: Graph): Layout {
  const projects = new Map<string, Node[]>();
  for (const n of g.nodes) projects.set(n.project, [...(projects.get(n.project) ?? []), n]);
  const names = [...projects.keys()].sort();
  const boxes: Box[] = [];
  const at = new Map<string, Placed>();
  let x = 0;
  let y = 0;
  let rowH = 0;
  let width = 0;
  for (const p of names) {
    const nodes = projects.get(p)!;
    const nets = nodes.filter((n) => n.kind === 'network');
    const routers = nodes.filter((n) => n.kind === 'router');
    const cols = Math.max(1, Math.min(Math.ceil(Math.sqrt(nets.length || 1)), Math.floor((MAX_W - 2 * PAD) / CELL_W)), routers.length ? Math.min(routers.length, 6) : 1);
    const netRows = Math.ceil(nets.length / cols);
    const routerRows = Math.ceil(routers.length / cols);
    const w = cols * CELL_W + 2 * PAD;
    const h = HEAD + (netRows + routerRows) * CELL_H + PAD;
    if (x > 0 && x + w > MAX_W) {
      x = 0;
      y += rowH + PAD;
      rowH = 0;
    }
    boxes.push({ project: p, x, y, w, h });
    const place = (list: Node[], row0: number) =>
      list.forEach((n, i) => {
        at.set(n.id, { node: n, x: x + PAD + (i % cols) * CELL_W + CELL_W / 2, y: y + HEAD + (row0 + Math.floor(i / cols)) * CELL_H + CELL_H / 2 });
      });
    place(nets, 0);
    place(routers, netRows);
    x += w + PAD;
    rowH = Math.max(rowH, h);
    width = Math.max(width, x);
  }
  return { boxes, at, width: Math.max(width, 200), height: y + rowH + PAD };
}
