// Virtual network: subnets on an IPAM, route targets, policies in order, floating-IP pools.

import { useEffect, useState } from 'preact/hooks';
import { create, type Obj } from '../api';
import { Check, Field, FormFrame, fq, lines, ProjectField, Select, Text, useObjects, useSubmit } from './common';

type Subnet = { cidr: string; gateway: string; orig?: any };

const DEFAULT_IPAM = 'default-domain:default-project:default-network-ipam';

export function NetworkForm({ obj }: { obj?: Obj }) {
  const ipamRef = obj?.network_ipam_refs?.[0];
  const [project, setProject] = useState(obj ? obj.fq_name.slice(0, -1).join(':') : 'default-domain:default-project');
  const [name, setName] = useState(obj?.fq_name.at(-1) ?? '');
  const [ipam, setIpam] = useState(ipamRef ? ipamRef.to.join(':') : DEFAULT_IPAM);
  const [subnets, setSubnets] = useState<Subnet[]>(
    (ipamRef?.attr?.ipam_subnets ?? []).map((s: any) => ({
      cidr: `${s.subnet.ip_prefix}/${s.subnet.ip_prefix_len}`, gateway: s.default_gateway ?? '', orig: s,
    })),
  );
  const [targets, setTargets] = useState((obj?.route_target_list?.route_target ?? []).join('\n'));
  const [policies, setPolicies] = useState<string[]>((obj?.network_policy_refs ?? []).map((r: any) => r.to.join(':')));
  const [pools, setPools] = useState('');
  const [external, setExternal] = useState(!!obj?.router_external);
  const [shared, setShared] = useState(!!obj?.is_shared);
  // A subnet row added from the keyboard takes the focus.
  const [focusRow, setFocusRow] = useState(-1);
  useEffect(() => {
    if (focusRow >= 0) document.getElementById(`f-subnet-${focusRow}`)?.focus();
  }, [focusRow]);
  const ipams = useObjects('network-ipam');
  const allPolicies = useObjects('network-policy');
  const { error, busy, submit } = useSubmit();
  const setSubnet = (i: number, s: Partial<Subnet>) => setSubnets(subnets.map((x, j) => (j === i ? { ...x, ...s } : x)));

  const save = () => {
    const ipamSubnets = subnets.filter((s) => s.cidr.trim()).map((s) => {
      const [prefix, len] = s.cidr.trim().split('/');
      const base = s.orig && `${s.orig.subnet.ip_prefix}/${s.orig.subnet.ip_prefix_len}` === s.cidr.trim() ? { ...s.orig } : {};
      const out: any = { ...base, subnet: { ip_prefix: prefix, ip_prefix_len: Number(len) } };
      if (s.gateway.trim()) out.default_gateway = s.gateway.trim();
      else if (!s.orig) delete out.default_gateway;
      return out;
    });
    const body: Record<string, unknown> = {
      network_ipam_refs: ipamSubnets.length ? [{ to: ipam.split(':'), attr: { ipam_subnets: ipamSubnets } }] : [],
      route_target_list: { route_target: lines(targets) },
      network_policy_refs: policies.map((p, i) => ({ to: p.split(':'), attr: { sequence: { major: i, minor: 0 } } })),
      router_external: external,
      is_shared: shared,
    };
    const poolNames = lines(pools);
    submit(
      { type: 'virtual-network', uuid: obj?.uuid, fqName: [...project.split(':'), name.trim()], parentType: 'project', body },
      async (made) => {
        for (const p of poolNames)
          await create('floating-ip-pool', 'floating-ip-pools', { fq_name: [...made.fq_name, p], parent_type: 'virtual-network' });
      },
    );
  };

  return (
    <FormFrame title={obj ? `Edit network ${name}` : 'New network'} error={error} busy={busy} onSubmit={save}>
      <ProjectField value={project} set={setProject} disabled={!!obj} />
      <Field id="f-name" label="Name">
        <Text id="f-name" value={name} set={setName} required disabled={!!obj} />
      </Field>
      <fieldset>
        <legend>Subnets</legend>
        <Field id="f-ipam" label="IPAM">
          <Select id="f-ipam" value={ipam} set={setIpam} options={(ipams ?? [{ fq_name: ipam.split(':'), uuid: '' }]).map((i) => [fq(i), fq(i)])} />
        </Field>
        {subnets.map((s, i) => (
          <div class="row" role="group" aria-label={`Subnet ${i + 1}`}>
            <Field id={`f-subnet-${i}`} label={`Subnet ${i + 1} (CIDR)`}>
              <Text id={`f-subnet-${i}`} value={s.cidr} set={(v) => setSubnet(i, { cidr: v })} placeholder="10.0.0.0/24" />
            </Field>
            <Field id={`f-gw-${i}`} label="Gateway (optional)">
              <Text id={`f-gw-${i}`} value={s.gateway} set={(v) => setSubnet(i, { gateway: v })} />
            </Field>
            <button type="button" onClick={() => setSubnets(subnets.filter((_, j) => j !== i))}>Remove subnet {i + 1}</button>
          </div>
        ))}
        <button type="button" onClick={() => { setSubnets([...subnets, { cidr: '', gateway: '' }]); setFocusRow(subnets.length); }}>Add subnet</button>
      </fieldset>
      <Field id="f-rt" label="Route targets" hint="One per line, e.g. target:64512:100">
        <textarea id="f-rt" rows={2} value={targets} aria-describedby="f-rt-hint" onInput={(e) => setTargets((e.target as HTMLTextAreaElement).value)} />
      </Field>
      <fieldset>
        <legend>Policies (applied in the order ticked)</legend>
        {(allPolicies ?? []).length === 0 && <p class="muted">No network policies yet.</p>}
        {(allPolicies ?? []).map((p, i) => (
          <Check id={`f-pol-${i}`} label={fq(p)} checked={policies.includes(fq(p))}
            set={(on) => setPolicies(on ? [...policies, fq(p)] : policies.filter((x) => x !== fq(p)))} />
        ))}
      </fieldset>
      {!obj && (
        <Field id="f-pools" label="Floating-IP pools" hint="Names, one per line; each becomes a floating-ip-pool of this network">
          <textarea id="f-pools" rows={1} value={pools} aria-describedby="f-pools-hint" onInput={(e) => setPools((e.target as HTMLTextAreaElement).value)} />
        </Field>
      )}
      <Check id="f-external" label="Router external (reachable for floating IPs)" checked={external} set={setExternal} />
      <Check id="f-shared" label="Shared with every project" checked={shared} set={setShared} />
    </FormFrame>
  );
}
