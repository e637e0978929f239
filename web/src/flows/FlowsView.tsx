// Flows, live: what the vrouters recorded (the analytics role's FlowSeriesTable or
// SessionSeriesTable through /ui/analytics/query), newest first, with the verdict, the drop
// reason and the rule that decided (named from the config when it can be), re-read every 3 s
// until paused; the filters live in the URL, so a filtered view is a link; top talkers below.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, message } from '../api';
import { go, href } from '../route';
import { flowQuery, MINUTES, readFilters, talkersQuery, toRows, writeFilters, type Filters, type FlowRow } from './query';
import { ruleNames, type RuleName } from './rules';
import { clock } from '../infra/poll';

const POLL_MS = 3000;
const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6' };
const NO_ANALYTICS = 'This controller does not run the analytics role (--roles analytics): no flows to show.';

type Talker = { sourceip: string; sourcevn: string; 'SUM(bytes)': number; 'SUM(packets)': number; 'COUNT_DISTINCT(destip)': number };

function when(us: number): string {
  return us ? clock(new Date(us / 1000)) : '—';
}

export function FlowsView({ search }: { search: string }) {
  const filters = readFilters(search);
  const [draft, setDraft] = useState<Filters>(filters);
  const [paused, setPaused] = useState(false);
  const [rows, setRows] = useState<FlowRow[] | null>(null);
  const [talkers, setTalkers] = useState<Talker[]>([]);
  const [bounded, setBounded] = useState<string[]>([]);
  const [names, setNames] = useState<Record<string, RuleName>>({});
  const [error, setError] = useState('');
  const [at, setAt] = useState('');
  useEffect(() => setDraft(filters), [search]);
  useEffect(() => {
    if (paused) return;
    let stop = false;
    let timer = 0;
    const poll = async () => {
      try {
        const [f, t] = await Promise.all([
          call('POST', '/ui/analytics/query', flowQuery(filters)),
          call('POST', '/ui/analytics/query', talkersQuery(filters)),
        ]);
        if (stop) return;
        setRows(toRows(filters, f.value ?? []));
        setTalkers(t.value ?? []);
        setBounded([...(f.bounded ?? []), ...(t.bounded ?? [])]);
        setError('');
        setAt(clock(new Date()));
        ruleNames().then((n) => !stop && setNames(n)).catch(() => {});
      } catch (e) {
        if (stop) return;
        setError(e instanceof ApiError && e.status === 404 ? NO_ANALYTICS : message(e));
      }
      if (!stop) timer = window.setTimeout(poll, POLL_MS);
    };
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [search, paused]);

  const set = (k: keyof Filters, v: string) => setDraft({ ...draft, [k]: k === 'minutes' ? Number(v) : v } as Filters);
  const apply = (f: Filters) => go(href.flows(writeFilters(f)));
  const rule = (uuids: string[]) =>
    uuids.length === 0 ? '—' : uuids.map((u) => {
      const n = names[u];
      return (
        <div>
          {n ? <a href={href.detail(n.type, n.uuid)}>{n.label}</a> : <span>unnamed rule</span>}{' '}
          <span class="uuid" data-rule-uuid={u}>{u}</span>
        </div>
      );
    });
  return (
    <>
      <h1>Flows</h1>
      <p class="muted">
        What the vrouters recorded in the last {filters.minutes} minutes, newest first,{' '}
        {paused ? <strong data-testid="flows-paused">paused</strong> : <>re-read every {POLL_MS / 1000} s</>}
        {at && <span data-varies> (last {at})</span>}.
      </p>
      <form class="toolbar" aria-label="Flow filters" onSubmit={(e) => { e.preventDefault(); apply(draft); }}>
        <label for="f-table">Table</label>
        <select id="f-table" value={draft.table} onChange={(e) => apply({ ...draft, table: (e.target as HTMLSelectElement).value as Filters['table'] })}>
          <option value="flows">flows (FlowSeriesTable)</option>
          <option value="sessions">sessions (SessionSeriesTable)</option>
        </select>
        <label for="f-minutes">Last</label>
        <select id="f-minutes" value={String(draft.minutes)} onChange={(e) => apply({ ...draft, minutes: Number((e.target as HTMLSelectElement).value) })}>
          {MINUTES.map((m) => <option value={String(m)}>{m} minutes</option>)}
        </select>
        <label for="f-action">Verdict</label>
        <select id="f-action" value={draft.action} onChange={(e) => apply({ ...draft, action: (e.target as HTMLSelectElement).value as Filters['action'] })}>
          <option value="">any</option>
          <option value="pass">pass</option>
          <option value="deny">deny</option>
        </select>
        <label for="f-vn">Network</label>
        <input id="f-vn" size={22} value={draft.vn} placeholder="domain:project:name" onInput={(e) => set('vn', (e.target as HTMLInputElement).value)} />
        <label for="f-ip">Address</label>
        <input id="f-ip" size={13} value={draft.ip} onInput={(e) => set('ip', (e.target as HTMLInputElement).value)} />
        <label for="f-port">Port</label>
        <input id="f-port" size={5} inputMode="numeric" value={draft.port} onInput={(e) => set('port', (e.target as HTMLInputElement).value)} />
        <label for="f-vrouter">vRouter</label>
        <input id="f-vrouter" size={8} value={draft.vrouter} onInput={(e) => set('vrouter', (e.target as HTMLInputElement).value)} />
        <button type="submit">Filter</button>
        <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>{paused ? 'Resume' : 'Pause'}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {bounded.length > 0 && <p class="warning">{bounded.join(' ')}</p>}
      {rows === null && !error && <p role="status">Loading…</p>}
      {rows && (
        <div class="graph-wrap" tabIndex={0} role="region" aria-label="Flows (scrolls)">
          <table class="grid" data-testid="flows" data-count={rows.length}>
            <caption>{rows.length} {filters.table}</caption>
            <thead>
              <tr>
                <th scope="col">Last seen</th><th scope="col">vRouter</th><th scope="col">Source</th><th scope="col">Destination</th>
                <th scope="col">Protocol</th><th scope="col">Verdict</th><th scope="col">Drop reason</th><th scope="col">Rule</th>
                <th scope="col">Packets</th><th scope="col">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-action={r.action} data-dport={r.dport} data-src={r.src} data-dst={r.dst}>
                  <td data-varies>{when(r.last)}</td>
                  <td>{r.vrouter}</td>
                  <td><span data-varies>{r.src}{r.sport != null ? `:${r.sport}` : ''}</span><br /><span class="muted">{r.srcVn || '—'}</span></td>
                  <td><span data-varies>{r.dst}:{r.dport}</span><br /><span class="muted">{r.dstVn || '—'}</span></td>
                  <td>{PROTO[r.proto] ?? r.proto}</td>
                  <td class={r.action === 'pass' ? 'state-up' : 'state-down'}>{r.action || '—'}</td>
                  <td>{r.dropReason || '—'}</td>
                  <td>{rule(r.rules)}</td>
                  <td data-varies>{r.packets}</td>
                  <td data-varies>{r.bytes}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows && rows.length === 0 && <p>No {filters.table} recorded{search ? ' under these filters' : ''}.</p>}
      <section aria-labelledby="talkers-h">
        <h2 id="talkers-h">Top talkers</h2>
        <table class="grid" data-testid="talkers">
          <caption>Sources by bytes sent, last {filters.minutes} minutes</caption>
          <thead><tr><th scope="col">Source</th><th scope="col">Network</th><th scope="col">Bytes</th><th scope="col">Packets</th><th scope="col">Destinations</th></tr></thead>
          <tbody>
            {talkers.map((t) => (
              <tr data-src={t.sourceip}>
                <td><a data-varies href={href.flows(writeFilters({ ...filters, ip: t.sourceip }))}>{t.sourceip}</a></td>
                <td>{t.sourcevn || '—'}</td>
                <td data-varies>{t['SUM(bytes)']}</td>
                <td data-varies>{t['SUM(packets)']}</td>
                <td>{t['COUNT_DISTINCT(destip)']}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
