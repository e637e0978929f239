// The vrouters the control node knows (/ui/control/vrouters, admins only): session state,
// address, when connected, routes published and instances subscribed, each a link to its
// own page (ports, routes, flows and drops read from its introspect).

import { href } from '../route';
import { usePoll } from './poll';

type Vrouter = {
  hostname: string;
  address: string;
  state: string;
  since?: number;
  published?: Record<string, number> | number;
  subscribed?: string[] | number;
  agent_version?: string;
  counters?: { routes_received: number; routes_sent: number; routes_refused: number };
};

export const NO_CONTROL = 'This controller does not run the control role with the vrouter channel: no vrouters to show.';

function count(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.values(v as Record<string, number>).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
  return typeof v === 'number' ? v : 0;
}

export function VroutersView() {
  const { data, error, at } = usePoll<{ vrouters: Vrouter[] }>('/ui/control/vrouters', 2000, NO_CONTROL);
  const rows = data?.vrouters ?? [];
  return (
    <>
      <h1>vRouters</h1>
      <p class="muted">Compute nodes known to this control node, refreshed every 2 s{at && <span data-varies> (last {at})</span>}.</p>
      {error && <p role="alert" class="error">{error}</p>}
      {!data && !error && <p role="status">Loading…</p>}
      {data && (
        <table class="grid" data-testid="vrouters">
          <caption>{rows.length} vrouters</caption>
          <thead>
            <tr>
              <th scope="col">vRouter</th><th scope="col">State</th><th scope="col">Address</th><th scope="col">Connected since</th>
              <th scope="col">Routes published</th><th scope="col">Instances subscribed</th><th scope="col">Routes in / out / refused</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((v) => (
              <tr data-vrouter={v.hostname} data-state={v.state}>
                <td><a href={href.vrouter(v.hostname)}>{v.hostname}</a></td>
                <td class={v.state === 'established' ? 'state-up' : 'state-down'}>{v.state}</td>
                <td data-varies>{v.address}</td>
                <td data-varies>{v.since ? new Date(v.since * 1000).toISOString().replace('T', ' ').slice(0, 19) : '—'}</td>
                <td>{count(v.published)}</td>
                <td>{count(v.subscribed)}</td>
                <td>{v.counters ? `${v.counters.routes_received} / ${v.counters.routes_sent} / ${v.counters.routes_refused}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && rows.length === 0 && <p>No vrouter has connected yet.</p>}
    </>
  );
}
