// Search by uuid (the API's id-to-fqname), by IP (instance and floating IPs, network subnets)
// or by name (a part of the fq_name of the configurable and common types).

import { useEffect, useState } from 'preact/hooks';
import { idToName, list, message } from '../api';
import { href } from '../route';
import { typeDef } from '../schema';
import { FORM_TYPES } from './Shell';

type Hit = { type: string; uuid: string; fq_name: string[]; why: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const NAME_TYPES = [...FORM_TYPES.map(([t]) => t), 'project', 'virtual-machine-interface', 'network-ipam', 'floating-ip-pool', 'instance-ip', 'virtual-machine', 'virtual-router'];

function v4(a: string): number {
  return a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
}

async function byIp(ip: string): Promise<Hit[]> {
  const hits: Hit[] = [];
  const [iips, fips, vns] = await Promise.all([
    list('instance-ips', true),
    list('floating-ips', true),
    list('virtual-networks', true),
  ]);
  for (const o of iips) if (o.instance_ip_address === ip) hits.push({ type: 'instance-ip', uuid: o.uuid, fq_name: o.fq_name, why: `instance IP ${ip}` });
  for (const o of fips) if (o.floating_ip_address === ip) hits.push({ type: 'floating-ip', uuid: o.uuid, fq_name: o.fq_name, why: `floating IP ${ip}` });
  if (IPV4.test(ip)) {
    for (const vn of vns) {
      for (const r of vn.network_ipam_refs ?? []) {
        for (const s of r.attr?.ipam_subnets ?? []) {
          const p = s.subnet;
          if (!p || !IPV4.test(p.ip_prefix)) continue;
          const mask = p.ip_prefix_len === 0 ? 0 : (~0 << (32 - p.ip_prefix_len)) >>> 0;
          if (((v4(ip) & mask) >>> 0) === ((v4(p.ip_prefix) & mask) >>> 0))
            hits.push({ type: 'virtual-network', uuid: vn.uuid, fq_name: vn.fq_name, why: `subnet ${p.ip_prefix}/${p.ip_prefix_len}` });
        }
      }
    }
  }
  return hits;
}

async function byName(q: string): Promise<Hit[]> {
  const lists = await Promise.all(NAME_TYPES.map((t) => list(typeDef(t)!.collection).then((xs) => xs.map((o) => ({ ...o, type: t })))));
  const needle = q.toLowerCase();
  return lists.flat()
    .filter((o) => o.fq_name.join(':').toLowerCase().includes(needle))
    .map((o) => ({ type: o.type, uuid: o.uuid, fq_name: o.fq_name, why: 'name' }));
}

export function SearchView({ q }: { q: string }) {
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    (async () => {
      if (UUID.test(q)) {
        const r = await idToName(q);
        return r ? [{ type: r.type, uuid: q, fq_name: r.fq_name, why: 'uuid' }] : [];
      }
      if (IPV4.test(q) || q.includes(':') && /^[0-9a-f:]+$/i.test(q)) return byIp(q);
      return byName(q);
    })().then(setHits).catch((e) => setError(message(e)));
  }, [q]);
  return (
    <>
      <h1>Search: {q}</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {hits === null && !error && <p role="status">Searching…</p>}
      {hits && (
        <>
          <p role="status">{hits.length} found</p>
          <ul class="links">
            {hits.map((h) => (
              <li>
                <a href={href.detail(h.type, h.uuid)}>{h.type} {h.fq_name.join(':')}</a> <span class="muted">({h.why})</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
