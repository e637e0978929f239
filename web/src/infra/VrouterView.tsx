// One vrouter, read from its own introspect through the controller (/ui/vrouter/<host>/...):
// its ports, the routes of one VRF, its flow table and its drop counters. The tab and the VRF
// are kept in the URL (?tab=routes&vrf=2), so every part is a deep link.

import { useEffect, useState } from 'preact/hooks';
import { go, href } from '../route';
import { JsonTable } from './JsonTable';
import { usePoll } from './poll';
import { ruleNames, type RuleName } from '../flows/rules';

export const TABS = ['ports', 'routes', 'flows', 'drops'] as const;
export type Tab = (typeof TABS)[number];
const TITLES: Record<Tab, string> = { ports: 'Ports', routes: 'Routes', flows: 'Flows', drops: 'Drops' };
const NOT_CONNECTED = 'This vrouter is not connected to this control node (or the controller runs without the control role).';

export function VrouterView({ host, tab, vrf }: { host: string; tab: Tab; vrf: string }) {
  const base = `/ui/vrouter/${encodeURIComponent(host)}`;
  return (
    <>
      <h1>vRouter {host}</h1>
      <p><a href={href.vrouters()}>All vrouters</a></p>
      <nav aria-label="vRouter views" class="tabs">
        <ul class="toolbar">
          {TABS.map((t) => (
            <li><a class="button" href={href.vrouter(host, t)} aria-current={t === tab ? 'page' : undefined}>{TITLES[t]}</a></li>
          ))}
        </ul>
      </nav>
      <section aria-labelledby="tab-h">
        <h2 id="tab-h">{TITLES[tab]}</h2>
        {tab === 'ports' && <Ports base={base} />}
        {tab === 'routes' && <Routes base={base} host={host} vrf={vrf} />}
        {tab === 'flows' && <Flows base={base} />}
        {tab === 'drops' && <Drops base={base} />}
      </section>
    </>
  );
}

function Problem({ error, loading }: { error: string; loading: boolean }) {
  if (error) return <p role="alert" class="error">{error}</p>;
  return loading ? <p role="status">Loading…</p> : null;
}

function Ports({ base }: { base: string }) {
  const { data, error } = usePoll<{ ports: Record<string, unknown>[] }>(`${base}/ports`, 3000, NOT_CONNECTED);
  return (
    <>
      <Problem error={error} loading={!data} />
      {data && (
        <JsonTable rows={data.ports} label="Ports" testid="vr-ports" varies={['uuid', 'device', 'ifindex', 'label', 'mac', 'vrf']}
          columns={['device', 'network', 'addresses', 'floating_ips', 'mac', 'vrf', 'label', 'enabled', 'attached', 'security_groups', 'uuid']} />
      )}
    </>
  );
}

function Routes({ base, host, vrf }: { base: string; host: string; vrf: string }) {
  const vrfs = usePoll<{ vrfs: { id: number; instance: string; routes: number }[] }>(`${base}/vrfs`, 0, NOT_CONNECTED);
  const list = vrfs.data?.vrfs ?? [];
  const chosen = vrf || (list[0] ? String(list[0].id) : '');
  const routes = usePoll<{ instance: string; routes: Record<string, unknown>[] }>(chosen ? `${base}/routes?vrf=${chosen}` : null, 3000);
  return (
    <>
      <Problem error={vrfs.error} loading={!vrfs.data} />
      {vrfs.data && (
        <div class="toolbar">
          <label for="vr-vrf">VRF</label>
          <select id="vr-vrf" value={chosen} onChange={(e) => go(href.vrouter(host, 'routes', (e.target as HTMLSelectElement).value))}>
            {list.map((v) => <option value={String(v.id)}>{v.instance} ({v.routes} routes)</option>)}
          </select>
        </div>
      )}
      {vrfs.data && list.length === 0 && <p>No VRF is programmed on this vrouter yet.</p>}
      <Problem error={routes.error} loading={false} />
      {routes.data && <JsonTable rows={routes.data.routes} label="Routes" testid="vr-routes" columns={['prefix', 'nexthop']} varies={['nexthop', 'nexthop_id']} />}
    </>
  );
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6' };

function Flows({ base }: { base: string }) {
  const { data, error } = usePoll<{ matched: number; flows: Record<string, unknown>[] }>(`${base}/flows?limit=500`, 3000, NOT_CONNECTED);
  return (
    <>
      <Problem error={error} loading={!data} />
      {data && <p data-testid="vr-flows-matched">{data.matched} flow entries in the table.</p>}
      {data && (
        <JsonTable rows={data.flows} label="Flow entries" testid="vr-flows"
          columns={['action', 'proto', 'src', 'sport', 'dst', 'dport', 'vrf', 'packets', 'bytes', 'nat_src', 'nat_dst']}
          varies={['index', 'worker', 'sport', 'last_seen', 'reverse', 'packets', 'bytes', 'interface', 'out_interface', 'nexthop', 'tcp_flags']}
          render={{ proto: (p) => PROTO[p as number] ?? String(p) }} />
      )}
    </>
  );
}

type DropsAnswer = {
  pipeline: Record<string, number>;
  handoff_lost: number;
  flow_setup: { decided: number; allowed: number; translated: number; refused: number; by_reason: Record<string, number>; by_rule: Record<string, unknown> };
};

function Drops({ base }: { base: string }) {
  const { data, error } = usePoll<DropsAnswer>(`${base}/drops`, 3000, NOT_CONNECTED);
  const [names, setNames] = useState<Record<string, RuleName>>({});
  useEffect(() => {
    ruleNames().then(setNames).catch(() => {});
  }, []);
  if (!data) return <Problem error={error} loading />;
  const pairs = (m: Record<string, unknown>) => Object.entries(m ?? {}).map(([k, v]) => ({ reason: k, count: v }));
  const f = data.flow_setup;
  return (
    <>
      <Problem error={error} loading={false} />
      <p data-testid="vr-flow-setup">Flow setup: {f.decided} decided, {f.allowed} allowed, {f.translated} translated, {f.refused} refused; {data.handoff_lost} lost on the way to the agent.</p>
      <h3>Pipeline drops by reason</h3>
      <JsonTable rows={pairs(data.pipeline)} label="Pipeline drop reasons" testid="vr-drops-pipeline" />
      <h3>Flows refused by reason</h3>
      <JsonTable rows={pairs(f.by_reason)} label="Refusal reasons" testid="vr-drops-reasons" />
      <h3>Flows refused by rule</h3>
      <JsonTable
        rows={Object.entries(f.by_rule ?? {}).map(([uuid, v]) => ({ rule: names[uuid]?.label ?? '—', uuid, ...(typeof v === 'object' && v ? v : { count: v }) }))}
        label="Rules" testid="vr-drops-rules" varies={['uuid']} />
    </>
  );
}
