// Connectivity from config alone: which networks each network's attached policies allow, as
// Contrail's schema transformer reads them (a pass rule naming the network itself, or
// `local`, on one side and the other network by name on the other side), and which networks
// each logical router joins. A pair of networks is connected both ways only when each side's
// policies allow the other; one side alone is a warning (routes are not exchanged).

import type { Obj } from '../api';

export type Node = { id: string; kind: 'network' | 'router'; fq: string; name: string; project: string; uuid: string };
export type Edge = {
  kind: 'policy' | 'router';
  a: string;
  b: string;
  /** For policy edges: whether a's policies allow b and b's allow a. */
  aAllowsB: boolean;
  bAllowsA: boolean;
  /** Policies that make the connection, by fq_name. */
  via: string[];
};
export type Graph = { nodes: Node[]; edges: Edge[] };

const fq = (o: { fq_name: string[] }) => o.fq_name.join(':');

function node(o: Obj, kind: Node['kind']): Node {
  return { id: fq(o), kind, fq: fq(o), name: o.fq_name.at(-1)!, project: o.fq_name.slice(0, -1).join(':'), uuid: o.uuid };
}

/** The networks (other than `self`) a policy's pass rules allow `self` to reach. */
function allowed(policy: Obj, self: string, known: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const r of policy.network_policy_entries?.policy_rule ?? []) {
    const action = r.action_list?.simple_action ?? (r.action_list?.apply_service?.length ? 'pass' : undefined);
    if (action !== 'pass') continue;
    const names = (list: any[] | undefined) =>
      (list ?? []).map((a) => (a?.virtual_network === 'local' ? self : a?.virtual_network)).filter((n): n is string => !!n);
    const src = names(r.src_addresses);
    const dst = names(r.dst_addresses);
    const pairs: [string[], string[]][] = [[src, dst], [dst, src]];
    for (const [mine, theirs] of pairs) {
      if (!mine.includes(self)) continue;
      for (const t of theirs) if (t !== self && known.has(t)) out.add(t);
    }
  }
  return out;
}

export function buildGraph(networks: Obj[], policies: Obj[], routers: Obj[]): Graph {
  const nodes = [...networks.map((n) => node(n, 'network')), ...routers.map((r) => node(r, 'router'))];
  nodes.sort((x, y) => x.fq.localeCompare(y.fq));
  const known = new Set(networks.map(fq));
  const byFq = new Map(policies.map((p) => [fq(p), p]));
  // allows.get(a).get(b) = the policies of a that allow b.
  const allows = new Map<string, Map<string, string[]>>();
  for (const n of networks) {
    const self = fq(n);
    const m = new Map<string, string[]>();
    for (const ref of n.network_policy_refs ?? []) {
      const pname = ref.to.join(':');
      const p = byFq.get(pname);
      if (!p) continue;
      for (const other of allowed(p, self, known)) m.set(other, [...(m.get(other) ?? []), pname]);
    }
    allows.set(self, m);
  }
  const edges: Edge[] = [];
  const seen = new Set<string>();
  for (const [a, m] of allows) {
    for (const b of m.keys()) {
      const [x, y] = a < b ? [a, b] : [b, a];
      const key = `${x}\n${y}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const xy = allows.get(x)?.get(y) ?? [];
      const yx = allows.get(y)?.get(x) ?? [];
      edges.push({ kind: 'policy', a: x, b: y, aAllowsB: xy.length > 0, bAllowsA: yx.length > 0, via: [...new Set([...xy, ...yx])].sort() });
    }
  }
  for (const r of routers) {
    for (const ref of r.virtual_network_refs ?? []) {
      const n = ref.to.join(':');
      if (known.has(n)) edges.push({ kind: 'router', a: fq(r), b: n, aAllowsB: true, bAllowsA: true, via: [] });
    }
  }
  edges.sort((e, f) => (e.a + '\n' + e.b).localeCompare(f.a + '\n' + f.b));
  return { nodes, edges };
}

export function isWarning(e: Edge): boolean {
  return e.kind === 'policy' && !(e.aAllowsB && e.bAllowsA);
}
