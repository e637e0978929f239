// Routes per instance, from the control node's introspect (/ui/control/routes): the global VPN
// tables or one routing instance's, each route's fields as the control node reports them.

import { useEffect, useState } from 'preact/hooks';
import { call, list, message } from '../api';
import { JsonTable } from '../infra/JsonTable';

type Answer = { instance: string | null; routes: Record<string, unknown>[]; vrouter_routes?: Record<string, unknown>[] };

function cell(v: unknown): string {
  if (v == null) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function RoutesPanel() {
  const [instances, setInstances] = useState<string[]>([]);
  const [chosen, setChosen] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    list('routing-instances').then((xs) => setInstances(xs.map((x) => x.fq_name.join(':')).sort())).catch(() => {});
  }, []);
  useEffect(() => {
    setAnswer(null);
    call('GET', `/ui/control/routes${chosen ? `?instance=${encodeURIComponent(chosen)}` : ''}`)
      .then((a) => { setAnswer(a); setError(''); })
      .catch((e) => setError(message(e)));
  }, [chosen]);
  const columns = [...new Set((answer?.routes ?? []).flatMap((r) => Object.keys(r)))];
  return (
    <section aria-labelledby="routes-h">
      <h2 id="routes-h">Routes</h2>
      <div class="toolbar">
        <label for="routes-instance">Table</label>
        <select id="routes-instance" value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
          <option value="">global VPN tables</option>
          {instances.map((i) => <option value={i}>{i}</option>)}
        </select>
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      {answer && (
        <>
          <p data-testid="routes-count" data-count={answer.routes.length}>{answer.routes.length} routes in {answer.instance ?? 'the global VPN tables'}</p>
          {answer.routes.length > 0 && (
            <div class="graph-wrap" tabIndex={0} role="region" aria-label="Routes (scrolls)">
              <table class="grid" data-testid="routes">
                <thead><tr>{columns.map((c) => <th scope="col">{c}</th>)}</tr></thead>
                <tbody>
                  {answer.routes.map((r) => <tr>{columns.map((c) => <td>{cell(r[c])}</td>)}</tr>)}
                </tbody>
              </table>
            </div>
          )}
          {Array.isArray(answer.vrouter_routes) && (
            <>
              <h3>As its vrouters receive it</h3>
              <p class="muted">The route server's table of this instance: every prefix with its next hops, from vrouters and BGP.</p>
              <JsonTable rows={answer.vrouter_routes} label="Routes from vrouters and BGP" testid="vrouter-routes" />
            </>
          )}
        </>
      )}
    </section>
  );
}
