// Floating IP: from a pool, for a project, optionally on a port; the address is allocated
// unless one is asked for.

import { useState } from 'preact/hooks';
import type { Obj } from '../api';
import { Field, FormFrame, fq, ProjectField, Select, Text, useObjects, useSubmit } from './common';

export function FloatingIpForm({ obj }: { obj?: Obj }) {
  const pools = useObjects('floating-ip-pool');
  const ports = useObjects('virtual-machine-interface');
  const [pool, setPool] = useState(obj ? obj.fq_name.slice(0, -1).join(':') : '');
  const [name, setName] = useState(obj?.fq_name.at(-1) ?? '');
  const [address, setAddress] = useState(obj?.floating_ip_address ?? '');
  const [project, setProject] = useState(obj?.project_refs?.[0]?.to.join(':') ?? 'default-domain:default-project');
  const [port, setPort] = useState(obj?.virtual_machine_interface_refs?.[0]?.to.join(':') ?? '');
  const { error, busy, submit } = useSubmit();
  const chosenPool = pool || (pools?.[0] ? fq(pools[0]) : '');
  const save = () => {
    const body: Record<string, unknown> = {
      project_refs: [{ to: project.split(':') }],
      virtual_machine_interface_refs: port ? [{ to: port.split(':') }] : [],
    };
    if (!obj && address.trim()) body.floating_ip_address = address.trim();
    submit({ type: 'floating-ip', uuid: obj?.uuid, fqName: [...chosenPool.split(':'), name.trim()], parentType: 'floating-ip-pool', body });
  };
  return (
    <FormFrame title={obj ? `Edit floating IP ${name}` : 'New floating IP'} error={error} busy={busy} onSubmit={save}>
      <Field id="f-pool" label="Pool">
        <Select id="f-pool" value={chosenPool} set={setPool} disabled={!!obj}
          options={(pools ?? []).map((p) => [fq(p), fq(p)])} />
      </Field>
      {pools && pools.length === 0 && <p class="muted">No floating-IP pool yet: add one in a network's form.</p>}
      <Field id="f-name" label="Name"><Text id="f-name" value={name} set={setName} required disabled={!!obj} /></Field>
      <Field id="f-address" label="Address (optional: allocated from the pool)">
        <Text id="f-address" value={address} set={setAddress} disabled={!!obj} />
      </Field>
      <ProjectField value={project} set={setProject} />
      <Field id="f-port" label="Port (optional)">
        <Select id="f-port" value={port} set={setPort} options={[['', 'none'], ...(ports ?? []).map((p) => [fq(p), fq(p)] as [string, string])]} />
      </Field>
    </FormFrame>
  );
}
