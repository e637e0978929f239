// BGP router: a control node or an external peer in the fabric's routing instance, with its
// address, ASN, families and the routers it peers with.

import { useState } from 'preact/hooks';
import type { Obj } from '../api';
import { Check, Field, FormFrame, fq, Select, Text, useObjects, useSubmit } from './common';

const FABRIC = ['default-domain', 'default-project', 'ip-fabric', '__default__'];
const FAMILIES = ['inet-vpn', 'inet6-vpn', 'e-vpn', 'route-target', 'inet', 'inet6'];

export function BgpRouterForm({ obj }: { obj?: Obj }) {
  const p = obj?.bgp_router_parameters ?? {};
  const [name, setName] = useState(obj?.fq_name.at(-1) ?? '');
  const [address, setAddress] = useState(p.address ?? '');
  const [asn, setAsn] = useState(String(p.autonomous_system ?? 64512));
  const [identifier, setIdentifier] = useState(p.identifier ?? '');
  const [port, setPort] = useState(String(p.port ?? 179));
  const [hold, setHold] = useState(String(p.hold_time ?? 90));
  const [routerType, setRouterType] = useState(p.router_type ?? 'router');
  const [vendor, setVendor] = useState(p.vendor ?? '');
  const [families, setFamilies] = useState<string[]>(p.address_families?.family ?? ['inet-vpn', 'e-vpn', 'route-target']);
  const [peers, setPeers] = useState<string[]>((obj?.bgp_router_refs ?? []).map((r: any) => r.to.join(':')));
  const routers = useObjects('bgp-router');
  const { error, busy, submit } = useSubmit();
  const save = () => {
    const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
    const params: Record<string, unknown> = {
      ...p,
      address: address.trim(),
      identifier: identifier.trim() || address.trim(),
      autonomous_system: num(asn),
      port: num(port),
      hold_time: num(hold),
      router_type: routerType,
      vendor: vendor.trim() || undefined,
      address_families: { family: families },
    };
    submit({
      type: 'bgp-router', uuid: obj?.uuid, fqName: [...FABRIC, name.trim()], parentType: 'routing-instance',
      body: { bgp_router_parameters: params, bgp_router_refs: peers.map((x) => ({ to: x.split(':'), attr: null })) },
    });
  };
  const others = (routers ?? []).filter((r) => r.uuid !== obj?.uuid);
  return (
    <FormFrame title={obj ? `Edit BGP router ${name}` : 'New BGP router'} error={error} busy={busy} onSubmit={save}>
      <Field id="f-name" label="Name"><Text id="f-name" value={name} set={setName} required disabled={!!obj} /></Field>
      <Field id="f-type" label="Router type">
        <Select id="f-type" value={routerType} set={setRouterType}
          options={[['router', 'router (external peer)'], ['control-node', 'control-node'], ['external-control-node', 'external-control-node']]} />
      </Field>
      <Field id="f-address" label="Address"><Text id="f-address" value={address} set={setAddress} required /></Field>
      <Field id="f-asn" label="Autonomous system"><Text id="f-asn" value={asn} set={setAsn} required /></Field>
      <Field id="f-identifier" label="Router ID (default: the address)"><Text id="f-identifier" value={identifier} set={setIdentifier} /></Field>
      <Field id="f-port" label="Port"><Text id="f-port" value={port} set={setPort} /></Field>
      <Field id="f-hold" label="Hold time (s)"><Text id="f-hold" value={hold} set={setHold} /></Field>
      <Field id="f-vendor" label="Vendor"><Text id="f-vendor" value={vendor} set={setVendor} /></Field>
      <fieldset>
        <legend>Address families</legend>
        {FAMILIES.map((f) => (
          <Check id={`f-fam-${f}`} label={f} checked={families.includes(f)}
            set={(on) => setFamilies(on ? [...families, f] : families.filter((x) => x !== f))} />
        ))}
      </fieldset>
      <fieldset>
        <legend>Peers</legend>
        {others.length === 0 && <p class="muted">No other BGP router.</p>}
        {others.map((r, i) => (
          <Check id={`f-peer-${i}`} label={fq(r)} checked={peers.includes(fq(r))}
            set={(on) => setPeers(on ? [...peers, fq(r)] : peers.filter((x) => x !== fq(r)))} />
        ))}
      </fieldset>
    </FormFrame>
  );
}
