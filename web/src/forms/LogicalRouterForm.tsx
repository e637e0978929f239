// Logical router: the networks it joins and its external gateway network.

import { useState } from 'preact/hooks';
import type { Obj } from '../api';
import { Check, Field, FormFrame, fq, lines, ProjectField, Select, Text, useObjects, useSubmit } from './common';

const INTERNAL = 'InternalVirtualNetwork';
const GATEWAY = 'ExternalGateway';

export function LogicalRouterForm({ obj }: { obj?: Obj }) {
  const refs: any[] = obj?.virtual_network_refs ?? [];
  const kind = (r: any) => r.attr?.logical_router_virtual_network_type ?? INTERNAL;
  const [project, setProject] = useState(obj ? obj.fq_name.slice(0, -1).join(':') : 'default-domain:default-project');
  const [name, setName] = useState(obj?.fq_name.at(-1) ?? '');
  const [joined, setJoined] = useState<string[]>(refs.filter((r) => kind(r) === INTERNAL).map((r) => r.to.join(':')));
  const [gateway, setGateway] = useState(refs.find((r) => kind(r) === GATEWAY)?.to.join(':') ?? '');
  const [targets, setTargets] = useState((obj?.configured_route_target_list?.route_target ?? []).join('\n'));
  const networks = useObjects('virtual-network', true);
  const { error, busy, submit } = useSubmit();
  const save = () => {
    const virtual_network_refs = [
      ...joined.map((n) => ({ to: n.split(':'), attr: { logical_router_virtual_network_type: INTERNAL } })),
      ...(gateway ? [{ to: gateway.split(':'), attr: { logical_router_virtual_network_type: GATEWAY } }] : []),
    ];
    submit({
      type: 'logical-router', uuid: obj?.uuid, fqName: [...project.split(':'), name.trim()], parentType: 'project',
      body: { virtual_network_refs, configured_route_target_list: { route_target: lines(targets) }, logical_router_gateway_external: !!gateway },
    });
  };
  return (
    <FormFrame title={obj ? `Edit logical router ${name}` : 'New logical router'} error={error} busy={busy} onSubmit={save}>
      <ProjectField value={project} set={setProject} disabled={!!obj} />
      <Field id="f-name" label="Name"><Text id="f-name" value={name} set={setName} required disabled={!!obj} /></Field>
      <fieldset>
        <legend>Networks it joins</legend>
        {(networks ?? []).map((n, i) => (
          <Check id={`f-net-${i}`} label={fq(n)} checked={joined.includes(fq(n))}
            set={(on) => setJoined(on ? [...joined, fq(n)] : joined.filter((x) => x !== fq(n)))} />
        ))}
      </fieldset>
      <Field id="f-gateway" label="External gateway network">
        <Select id="f-gateway" value={gateway} set={setGateway}
          options={[['', 'none'], ...(networks ?? []).filter((n) => n.router_external).map((n) => [fq(n), fq(n)] as [string, string])]} />
      </Field>
      <Field id="f-rt" label="Route targets" hint="One per line, e.g. target:64512:200">
        <textarea id="f-rt" rows={2} value={targets} aria-describedby="f-rt-hint" onInput={(e) => setTargets((e.target as HTMLTextAreaElement).value)} />
      </Field>
    </FormFrame>
  );
}
