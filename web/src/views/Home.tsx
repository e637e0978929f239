// The overview: how many objects of the configurable types exist, each a link to its list.

import { useEffect, useState } from 'preact/hooks';
import { list, message } from '../api';
import { href } from '../route';
import { typeDef } from '../schema';
import { FORM_TYPES } from './Shell';

const MORE = ['project', 'virtual-machine-interface', 'instance-ip', 'network-ipam', 'floating-ip-pool', 'routing-instance'];

export function Home() {
  const [counts, setCounts] = useState<Record<string, number | string>>({});
  const types = [...FORM_TYPES.map(([t]) => t), ...MORE];
  useEffect(() => {
    for (const t of types) {
      list(typeDef(t)!.collection)
        .then((items) => setCounts((c) => ({ ...c, [t]: items.length })))
        .catch((e) => setCounts((c) => ({ ...c, [t]: message(e) })));
    }
  }, []);
  return (
    <>
      <h1>Overview</h1>
      <table class="grid">
        <caption>Objects by type</caption>
        <thead>
          <tr><th scope="col">Type</th><th scope="col">Objects</th></tr>
        </thead>
        <tbody>
          {types.map((t) => (
            <tr>
              <td><a href={href.list(t)}>{t}</a></td>
              <td>{counts[t] ?? '…'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p><a href={href.graph()}>Connectivity graph</a> · <a href={href.types()}>every type of the schema</a></p>
    </>
  );
}
