// Network policy: ordered rules between networks (pass or deny, protocol, ports, one-way or
// both ways).

import { useState } from 'preact/hooks';
import type { Obj } from '../api';
import { Field, FormFrame, fq, parsePorts, ProjectField, showPorts, Text, useObjects, useSubmit } from './common';
import { PROTOCOLS, RulesEditor, type Rule } from './RulesEditor';

function addr(a: any): string {
  return a?.virtual_network ?? 'any';
}

export function PolicyForm({ obj }: { obj?: Obj }) {
  const [project, setProject] = useState(obj ? obj.fq_name.slice(0, -1).join(':') : 'default-domain:default-project');
  const [name, setName] = useState(obj?.fq_name.at(-1) ?? '');
  const [rules, setRules] = useState<Rule[]>(
    (obj?.network_policy_entries?.policy_rule ?? []).map((r: any) => ({
      action: r.action_list?.simple_action ?? 'pass',
      protocol: r.protocol ?? 'any',
      src: addr(r.src_addresses?.[0]),
      src_ports: showPorts(r.src_ports?.[0]),
      direction: r.direction ?? '<>',
      dst: addr(r.dst_addresses?.[0]),
      dst_ports: showPorts(r.dst_ports?.[0]),
    })),
  );
  const networks = useObjects('virtual-network');
  const { error, busy, submit } = useSubmit();
  const nets: [string, string][] = [['any', 'any network'], ['local', 'the network it is attached to'], ...(networks ?? []).map((n) => [fq(n), fq(n)] as [string, string])];
  // Keep values that name networks not (yet) listed.
  for (const r of rules) for (const v of [r.src, r.dst]) if (!nets.some(([x]) => x === v)) nets.push([v, v]);
  const save = () => {
    const policy_rule = rules.map((r) => ({
      direction: r.direction,
      protocol: r.protocol,
      ethertype: 'IPv4',
      src_addresses: [{ virtual_network: r.src }],
      src_ports: [parsePorts(r.src_ports)],
      dst_addresses: [{ virtual_network: r.dst }],
      dst_ports: [parsePorts(r.dst_ports)],
      action_list: { simple_action: r.action },
    }));
    submit({ type: 'network-policy', uuid: obj?.uuid, fqName: [...project.split(':'), name.trim()], parentType: 'project', body: { network_policy_entries: { policy_rule } } });
  };
  return (
    <FormFrame title={obj ? `Edit policy ${name}` : 'New network policy'} error={error} busy={busy} onSubmit={save}>
      <ProjectField value={project} set={setProject} disabled={!!obj} />
      <Field id="f-name" label="Name"><Text id="f-name" value={name} set={setName} required disabled={!!obj} /></Field>
      <RulesEditor rules={rules} set={setRules}
        blank={{ action: 'pass', protocol: 'any', src: 'local', src_ports: 'any', direction: '<>', dst: 'any', dst_ports: 'any' }}
        columns={[
          { key: 'action', label: 'Action', options: [['pass', 'pass'], ['deny', 'deny']] },
          { key: 'protocol', label: 'Protocol', options: PROTOCOLS },
          { key: 'src', label: 'Source', options: nets },
          { key: 'src_ports', label: 'Source ports' },
          { key: 'direction', label: 'Direction', options: [['<>', 'both ways <>'], ['>', 'one way >']] },
          { key: 'dst', label: 'Destination', options: nets },
          { key: 'dst_ports', label: 'Destination ports' },
        ]} />
    </FormFrame>
  );
}
