// The connectivity graph from config, with its table twin for keyboard and screen-reader
// users: networks grouped by project, policy edges both ways or one way (a warning), logical
// routers and the networks they join.

import { useEffect, useState } from 'preact/hooks';
import { list, message } from '../api';
import { go, href } from '../route';
import { buildGraph, isWarning, type Edge, type Graph } from './model';
import { layout, type Layout } from './layout';

type Loaded = { graph: Graph; lay: Layout; ms: number };

function status(e: Edge): string {
  if (e.kind === 'router') return 'joined by the logical router';
  if (e.aAllowsB && e.bAllowsA) return 'both ways';
  const [from, to] = e.aAllowsB ? [e.a, e.b] : [e.b, e.a];
  return `one way: ${from} allows ${to}, but ${to} has no policy allowing ${from}`;
}

function typeOf(g: Graph, id: string): 'virtual-network' | 'logical-router' {
  return g.nodes.find((n) => n.id === id)?.kind === 'router' ? 'logical-router' : 'virtual-network';
}

export function GraphView() {
  const [data, setData] = useState<Loaded | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const start = performance.now();
    Promise.all([list('virtual-networks', true), list('network-policys', true), list('logical-routers', true)])
      .then(([nets, pols, lrs]) => {
        const graph = buildGraph(nets, pols, lrs);
        const lay = layout(graph);
        const ms = performance.now() - start;
        (window as any).__cirrusGraphMs = ms;
        setData({ graph, lay, ms });
      })
      .catch((e) => setError(message(e)));
  }, []);
  if (error) return <><h1>Connectivity</h1><p role="alert" class="error">{error}</p></>;
  if (!data) return <><h1>Connectivity</h1><p role="status">Loading the config…</p></>;
  const { graph, lay, ms } = data;
  const nets = graph.nodes.filter((n) => n.kind === 'network').length;
  const warnings = graph.edges.filter(isWarning);
  const uuidOf = (id: string) => graph.nodes.find((n) => n.id === id)!.uuid;
  return (
    <>
      <h1>Connectivity</h1>
      <p role="status" data-testid="graph-status" data-nodes={graph.nodes.length} data-edges={graph.edges.length}>
        {nets} networks, {graph.nodes.length - nets} logical routers, {graph.edges.length} connections; laid out in {Math.round(ms)} ms.
      </p>
      {warnings.length > 0 && (
        <div class="warning" role="note" data-testid="graph-warnings">
          <h2>Allowed on one side only</h2>
          <ul>
            {warnings.map((e) => <li>{status(e)} (policy {e.via.join(', ')})</li>)}
          </ul>
        </div>
      )}
      <p class="legend" aria-hidden="true">
        <span class="key both">━ both ways</span> <span class="key oneway">╌ one way (warning)</span> <span class="key router">┄ logical router</span>
      </p>
      <div class="graph-wrap" tabIndex={0} role="region" aria-label="Connectivity graph (scrolls)">
        <svg class="graph" width={lay.width} height={lay.height} viewBox={`0 0 ${lay.width} ${lay.height}`}
          role="img" aria-label={`Connectivity graph: ${nets} networks and ${graph.edges.length} connections; the table below lists them`}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
            </marker>
          </defs>
          {lay.boxes.map((b) => (
            <g>
              <rect class="project" x={b.x} y={b.y} width={b.w} height={b.h} rx={6} />
              <text class="project-name" x={b.x + 8} y={b.y + 18}>{b.project}</text>
            </g>
          ))}
          {graph.edges.map((e) => {
            const p = lay.at.get(e.a)!;
            const q = lay.at.get(e.b)!;
            const cls = e.kind === 'router' ? 'edge router' : isWarning(e) ? 'edge oneway' : 'edge both';
            // A one-way edge points from the side that allows to the side that does not.
            const [s, t] = e.kind === 'policy' && isWarning(e) && !e.aAllowsB ? [q, p] : [p, q];
            return (
              <line class={cls} x1={s.x} y1={s.y} x2={t.x} y2={t.y}
                marker-end={e.kind === 'policy' ? 'url(#arrow)' : undefined}
                marker-start={e.kind === 'policy' && !isWarning(e) ? 'url(#arrow)' : undefined} />
            );
          })}
          {[...lay.at.values()].map(({ node, x, y }) => (
            <g class={`node ${node.kind}`} onClick={() => go(href.detail(node.kind === 'router' ? 'logical-router' : 'virtual-network', node.uuid))}>
              {node.kind === 'router' ? <rect x={x - 60} y={y - 14} width={120} height={28} rx={3} /> : <rect x={x - 60} y={y - 14} width={120} height={28} rx={14} />}
              <text x={x} y={y + 4} text-anchor="middle">{node.name.length > 18 ? node.name.slice(0, 17) + '…' : node.name}</text>
            </g>
          ))}
        </svg>
      </div>
      <table class="grid" data-testid="graph-table">
        <caption>Connections (the graph as a table)</caption>
        <thead>
          <tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Status</th><th scope="col">Through</th></tr>
        </thead>
        <tbody>
          {graph.edges.map((e) => (
            <tr class={isWarning(e) ? 'warn' : undefined} data-status={e.kind === 'router' ? 'router' : isWarning(e) ? 'one-way' : 'two-way'}>
              <td><a href={href.detail(typeOf(graph, e.a), uuidOf(e.a))}>{e.a}</a></td>
              <td><a href={href.detail(typeOf(graph, e.b), uuidOf(e.b))}>{e.b}</a></td>
              <td>{isWarning(e) ? <strong>Warning: {status(e)}</strong> : status(e)}</td>
              <td>{e.via.join(', ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {graph.edges.length === 0 && <p>No connections: no network has a policy naming another, and no logical router joins networks.</p>}
    </>
  );
}
