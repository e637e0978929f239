// Picks the configure form of a type, with the object to edit when there is one.

import { useEffect, useState } from 'preact/hooks';
import { message, read, type Obj } from '../api';
import { href } from '../route';
import { NetworkForm } from './NetworkForm';
import { PolicyForm } from './PolicyForm';
import { SecurityGroupForm } from './SecurityGroupForm';
import { FloatingIpForm } from './FloatingIpForm';
import { LogicalRouterForm } from './LogicalRouterForm';
import { BgpRouterForm } from './BgpRouterForm';

const FORMS: Record<string, (p: { obj?: Obj }) => any> = {
  'virtual-network': NetworkForm,
  'network-policy': PolicyForm,
  'security-group': SecurityGroupForm,
  'floating-ip': FloatingIpForm,
  'logical-router': LogicalRouterForm,
  'bgp-router': BgpRouterForm,
};

export function FormView({ type, uuid }: { type: string; uuid?: string }) {
  const [obj, setObj] = useState<Obj | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    if (uuid) read(type, uuid).then(setObj).catch((e) => setError(message(e)));
  }, [type, uuid]);
  const Form = FORMS[type];
  if (!Form)
    return <><h1>No form for {type}</h1><p>Edit it with <code>cirrusctl apply</code>; its page is in the <a href={href.list(type)}>list</a>.</p></>;
  if (uuid && !obj) return <><h1>Edit {type}</h1>{error ? <p role="alert" class="error">{error}</p> : <p role="status">Loading…</p>}</>;
  return <Form obj={obj ?? undefined} />;
}
