// Every resource type of the schema, each a link to its list: the browser is driven by the
// model, not written per type.

import { href } from '../route';
import { schema } from '../schema';

export function TypesView() {
  const names = Object.keys(schema().types).sort();
  return (
    <>
      <h1>All types</h1>
      <p>{names.length} resource types in the VNC schema.</p>
      <ul class="columns">
        {names.map((n) => (
          <li><a href={href.list(n)}>{n}</a></li>
        ))}
      </ul>
    </>
  );
}
