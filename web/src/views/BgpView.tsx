// The control node's BGP peers, live: state, uptime, prefixes, flaps and last error of each
// session, read from the control node's introspect (/ui/control/bgp/neighbors, admins only)
// every 2 s, each peer named by its bgp-router object when the config has one.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, list, message, type Obj } from '../api';
import { href } from '../route';
import { RoutesPanel } from './RoutesPanel';

type Neighbor = {
  address: string;
  port: number;
  asn: number;
  router_type: string;
  state: string;
  uptime_secs: number | null;
  prefixes_received: number;
  prefixes_accepted: number;
  prefixes_advertised: number;
  flaps: number;
  last_error: string | null;
};

const POLL_MS = 2000;

function uptime(s: number | null): string {
  if (s == null) return '—';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

export function BgpView() {
  const [peers, setPeers] = useState<Neighbor[] | null>(null);
  const [routers, setRouters] = useState<Obj[]>([]);
  const [error, setError] = useState('');
  const [at, setAt] = useState('');
  useEffect(() => {
    let stop = false;
    let timer = 0;
    const poll = async () => {
      try {
        const r = await call('GET', '/ui/control/bgp/neighbors');
        if (stop) return;
        setPeers(r.neighbors);
        setError('');
        setAt(new Date().toLocaleTimeString());
      } catch (e) {
        if (stop) return;
        setError(e instanceof ApiError && e.status === 404
          ? 'This controller does not run the control role (--roles config): no BGP speaker to show.'
          : message(e));
      }
      if (!stop) timer = window.setTimeout(poll, POLL_MS);
    };
    poll();
    list('bgp-routers', true).then(setRouters).catch(() => {});
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, []);
  const objectFor = (n: Neighbor) => routers.find((r) => r.bgp_router_parameters?.address === n.address);
  return (
    <>
      <h1>BGP peers</h1>
      <p class="muted">The control node's sessions, refreshed every {POLL_MS / 1000} s{at && <span data-varies> (last {at})</span>}.</p>
      {error && <p role="alert" class="error">{error}</p>}
      {peers === null && !error && <p role="status">Loading…</p>}
      {peers && (
        <table class="grid" data-testid="bgp-peers">
          <caption>{peers.length} peers</caption>
          <thead>
            <tr>
              <th scope="col">Peer</th><th scope="col">Address</th><th scope="col">ASN</th><th scope="col">Type</th>
              <th scope="col">State</th><th scope="col">Up for</th><th scope="col">Prefixes in / accepted / out</th>
              <th scope="col">Flaps</th><th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {peers.map((n) => {
              const o = objectFor(n);
              return (
                <tr data-peer={n.address} data-state={n.state}>
                  <td>{o ? <a href={href.detail('bgp-router', o.uuid)}>{o.fq_name.at(-1)}</a> : '—'}</td>
                  <td data-varies>{n.address}:{n.port}</td>
                  <td>{n.asn}</td>
                  <td>{n.router_type}</td>
                  <td class={n.state === 'Established' ? 'state-up' : 'state-down'}>{n.state}</td>
                  <td data-varies>{uptime(n.uptime_secs)}</td>
                  <td>{n.prefixes_received} / {n.prefixes_accepted} / {n.prefixes_advertised}</td>
                  <td>{n.flaps}</td>
                  <td>{n.last_error ?? '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {peers && peers.length === 0 && <p>No peers: add a BGP router that refers to this control node (or is referred to by it).</p>}
      {!error && <RoutesPanel />}
    </>
  );
}
