// The flow view's filters (kept in the URL's query string) and the analytics queries they
// make: Contrail's POST /analytics/query on FlowSeriesTable or SessionSeriesTable, through the
// controller (/ui/analytics/query), each row brought to one shape for the table.

export type Filters = {
  table: 'flows' | 'sessions';
  minutes: number;
  vn: string;
  ip: string;
  action: '' | 'pass' | 'deny';
  port: string;
  vrouter: string;
};

export const MINUTES = [5, 10, 30, 60];

export function readFilters(search: string): Filters {
  const q = new URLSearchParams(search);
  const minutes = Number(q.get('minutes'));
  const action = q.get('action');
  return {
    table: q.get('table') === 'sessions' ? 'sessions' : 'flows',
    minutes: MINUTES.includes(minutes) ? minutes : 10,
    vn: q.get('vn') ?? '',
    ip: q.get('ip') ?? '',
    action: action === 'pass' || action === 'deny' ? action : '',
    port: q.get('port') ?? '',
    vrouter: q.get('vrouter') ?? '',
  };
}

/** The query string for `f`, without defaults, so links stay short. */
export function writeFilters(f: Filters): string {
  const q = new URLSearchParams();
  if (f.table !== 'flows') q.set('table', f.table);
  if (f.minutes !== 10) q.set('minutes', String(f.minutes));
  for (const k of ['vn', 'ip', 'action', 'port', 'vrouter'] as const) if (f[k].trim()) q.set(k, f[k].trim());
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** One row of the flow table, whichever table it came from. */
export type FlowRow = {
  vrouter: string;
  srcVn: string;
  src: string;
  sport: number | null;
  dstVn: string;
  dst: string;
  dport: number;
  proto: number;
  action: string;
  dropReason: string;
  rules: string[];
  last: number;
  packets: number;
  bytes: number;
};

type Cols = { vrouter: string; srcVn: string; src: string; sport?: string; dstVn: string; dst: string; dport: string; proto: string; action: string; dropReason: string; rules: string[]; packets: string; bytes: string };

const FLOW: Cols = {
  vrouter: 'vrouter', srcVn: 'sourcevn', src: 'sourceip', sport: 'sport', dstVn: 'destvn', dst: 'destip', dport: 'dport', proto: 'protocol',
  action: 'action', dropReason: 'drop_reason', rules: ['nw_ace_uuid', 'sg_rule_uuid', 'security_policy_rule'], packets: 'packets', bytes: 'bytes',
};
const SESSION: Cols = {
  vrouter: 'vrouter', srcVn: 'vn', src: 'local_ip', dstVn: 'remote_vn', dst: 'remote_ip', dport: 'server_port', proto: 'protocol',
  action: 'forward_action', dropReason: 'forward_drop_reason', rules: ['forward_nw_ace_uuid', 'forward_sg_rule_uuid', 'security_policy_rule'],
  packets: 'forward_sampled_pkts', bytes: 'forward_sampled_bytes',
};

function where(f: Filters, c: Cols): unknown[][] {
  const eq = (name: string, value: string | number) => ({ name, value, op: 1 });
  const base: unknown[] = [];
  if (f.vrouter.trim()) base.push(eq(c.vrouter, f.vrouter.trim()));
  if (f.action) base.push(eq(c.action, f.action));
  if (f.port.trim() && Number.isInteger(Number(f.port))) base.push(eq(c.dport, Number(f.port)));
  // A network or an address on either side: OR of the AND lists.
  let lists: unknown[][] = [base];
  for (const [value, a, b] of [[f.vn.trim(), c.srcVn, c.dstVn], [f.ip.trim(), c.src, c.dst]]) {
    if (!value) continue;
    lists = lists.flatMap((l) => [[...l, eq(a, value)], [...l, eq(b, value)]]);
  }
  return lists.filter((l) => l.length);
}

function body(f: Filters, c: Cols, table: string, select: string[], extra: object) {
  const w = where(f, c);
  return { table, start_time: `now-${f.minutes}m`, end_time: 'now', select_fields: select, ...(w.length ? { where: w } : {}), ...extra };
}

export function flowQuery(f: Filters, limit = 200) {
  const c = f.table === 'sessions' ? SESSION : FLOW;
  const table = f.table === 'sessions' ? 'SessionSeriesTable' : 'FlowSeriesTable';
  const cols = [c.vrouter, c.srcVn, c.src, ...(c.sport ? [c.sport] : []), c.dstVn, c.dst, c.dport, c.proto, c.action, c.dropReason, ...c.rules];
  const select = [...cols, 'MAX(T)', `SUM(${c.packets})`, `SUM(${c.bytes})`];
  return body(f, c, table, select, { sort_fields: ['MAX(T)'], sort: 2, limit });
}

export function toRows(f: Filters, value: Record<string, any>[]): FlowRow[] {
  const c = f.table === 'sessions' ? SESSION : FLOW;
  return value.map((r) => ({
    vrouter: r[c.vrouter] ?? '',
    srcVn: r[c.srcVn] ?? '',
    src: r[c.src] ?? '',
    sport: c.sport ? r[c.sport] ?? null : null,
    dstVn: r[c.dstVn] ?? '',
    dst: r[c.dst] ?? '',
    dport: r[c.dport] ?? 0,
    proto: r[c.proto] ?? 0,
    action: r[c.action] ?? '',
    dropReason: r[c.dropReason] ?? '',
    rules: c.rules.map((k) => r[k]).filter((u) => typeof u === 'string' && u && u !== '00000000-0000-0000-0000-000000000000'),
    last: r['MAX(T)'] ?? 0,
    packets: r[`SUM(${c.packets})`] ?? 0,
    bytes: r[`SUM(${c.bytes})`] ?? 0,
  }));
}

/** The sources sending the most bytes under the same filters (FlowSeriesTable). */
export function talkersQuery(f: Filters) {
  return body(f, FLOW, 'FlowSeriesTable', ['sourceip', 'sourcevn', 'SUM(bytes)', 'SUM(packets)', 'COUNT_DISTINCT(destip)'], {
    sort_fields: ['SUM(bytes)'], sort: 2, limit: 10,
  });
}
