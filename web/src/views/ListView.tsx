// The list of one type: name, parent and uuid of each object, filtered as you type.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { list, message, type Obj } from '../api';
import { href } from '../route';
import { typeDef } from '../schema';
import { FORM_TYPES } from './Shell';

export function ListView({ type }: { type: string }) {
  const t = typeDef(type);
  const [items, setItems] = useState<Obj[] | null>(null);
  const [error, setError] = useState('');
  const [filter, setFilter] = useState('');
  useEffect(() => {
    if (!t) return;
    const start = performance.now();
    list(t.collection)
      .then((xs) => {
        xs.sort((a, b) => a.fq_name.join(':').localeCompare(b.fq_name.join(':')));
        setItems(xs);
        (window as any).__cirrusListMs = performance.now() - start;
      })
      .catch((e) => setError(message(e)));
  }, [type]);
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    if (!items || !f) return items ?? [];
    return items.filter((o) => o.fq_name.join(':').toLowerCase().includes(f) || o.uuid.includes(f));
  }, [items, filter]);
  if (!t) return <><h1>Unknown type</h1><p role="alert">The schema has no type {type}.</p></>;
  const formLabel = FORM_TYPES.find(([ft]) => ft === type)?.[1];
  return (
    <>
      <h1>{formLabel ?? type}</h1>
      <div class="toolbar">
        <label for="list-filter">Filter</label>
        <input id="list-filter" type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        {formLabel && <a class="button" href={href.create(type)}>New {type}</a>}
      </div>
      {error && <p role="alert" class="error">{error}</p>}
      {items === null && !error && <p role="status">Loading {t.collection}…</p>}
      {items !== null && (
        <>
          <p role="status" data-count={items.length}>
            {shown.length === items.length ? `${items.length} objects` : `${shown.length} of ${items.length} objects`}
          </p>
          <table class="grid" data-testid="object-list">
            <caption class="visually-hidden">{type} objects</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Parent</th><th scope="col">UUID</th></tr>
            </thead>
            <tbody>
              {shown.map((o) => (
                <tr>
                  <td><a href={href.detail(type, o.uuid)}>{o.fq_name[o.fq_name.length - 1]}</a></td>
                  <td>{o.fq_name.slice(0, -1).join(':')}</td>
                  <td class="uuid">{o.uuid}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
