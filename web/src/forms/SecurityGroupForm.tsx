// Security group: ingress and egress rules, each to or from a CIDR or a security group.

import { useState } from 'preact/hooks';
import type { Obj } from '../api';
import { Field, FormFrame, fq, parsePorts, ProjectField, showPorts, Text, useObjects, useSubmit } from './common';
import { PROTOCOLS, RulesEditor, type Rule } from './RulesEditor';

function remoteOf(a: any): string {
  if (a?.subnet) return `${a.subnet.ip_prefix}/${a.subnet.ip_prefix_len}`;
  return a?.security_group ?? '0.0.0.0/0';
}

function remoteAddr(s: string): object {
  if (/^[0-9a-f.:]+\/\d+$/i.test(s)) {
    const [p, l] = s.split('/');
    return { subnet: { ip_prefix: p, ip_prefix_len: Number(l) } };
  }
  return { security_group: s };
}

export function SecurityGroupForm({ obj }: { obj?: Obj }) {
  const [project, setProject] = useState(obj ? obj.fq_name.slice(0, -1).join(':') : 'default-domain:default-project');
  const [name, setName] = useState(obj?.fq_name.at(-1) ?? '');
  const [rules, setRules] = useState<Rule[]>(
    (obj?.security_group_entries?.policy_rule ?? []).map((r: any) => {
      const ingress = r.dst_addresses?.[0]?.security_group === 'local';
      return {
        dir: ingress ? 'ingress' : 'egress',
        ethertype: r.ethertype ?? 'IPv4',
        protocol: r.protocol ?? 'any',
        ports: showPorts(r.dst_ports?.[0]),
        remote: remoteOf(ingress ? r.src_addresses?.[0] : r.dst_addresses?.[0]),
      };
    }),
  );
  const groups = useObjects('security-group');
  const { error, busy, submit } = useSubmit();
  const remotes: [string, string][] = [['0.0.0.0/0', '0.0.0.0/0 (any IPv4)'], ['::/0', '::/0 (any IPv6)'], ...(groups ?? []).map((g) => [fq(g), `group ${fq(g)}`] as [string, string])];
  for (const r of rules) if (!remotes.some(([x]) => x === r.remote)) remotes.push([r.remote, r.remote]);
  const save = () => {
    const policy_rule = rules.map((r) => {
      const local = { security_group: 'local' };
      const remote = remoteAddr(r.remote);
      const ingress = r.dir === 'ingress';
      return {
        direction: '>',
        protocol: r.protocol,
        ethertype: r.ethertype,
        src_addresses: [ingress ? remote : local],
        src_ports: [{ start_port: 0, end_port: 65535 }],
        dst_addresses: [ingress ? local : remote],
        dst_ports: [r.ports.trim() === 'any' ? { start_port: 0, end_port: 65535 } : parsePorts(r.ports)],
      };
    });
    submit({ type: 'security-group', uuid: obj?.uuid, fqName: [...project.split(':'), name.trim()], parentType: 'project', body: { security_group_entries: { policy_rule } } });
  };
  return (
    <FormFrame title={obj ? `Edit security group ${name}` : 'New security group'} error={error} busy={busy} onSubmit={save}>
      <ProjectField value={project} set={setProject} disabled={!!obj} />
      <Field id="f-name" label="Name"><Text id="f-name" value={name} set={setName} required disabled={!!obj} /></Field>
      <RulesEditor rules={rules} set={setRules}
        blank={{ dir: 'ingress', ethertype: 'IPv4', protocol: 'tcp', ports: '22', remote: '0.0.0.0/0' }}
        columns={[
          { key: 'dir', label: 'Direction', options: [['ingress', 'ingress'], ['egress', 'egress']] },
          { key: 'ethertype', label: 'Ether type', options: [['IPv4', 'IPv4'], ['IPv6', 'IPv6']] },
          { key: 'protocol', label: 'Protocol', options: PROTOCOLS },
          { key: 'ports', label: 'Ports' },
          { key: 'remote', label: 'Remote', options: remotes },
        ]} />
    </FormFrame>
  );
}
