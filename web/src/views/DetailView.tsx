// One object: identity, properties as JSON, refs / back refs / children as links (read from
// the schema), its `cirrusctl apply` YAML to copy, edit and delete (the API's refusal shown
// as it is, e.g. the 409 of a network still referred to).

import { useEffect, useState } from 'preact/hooks';
import { message, read, remove, type Obj } from '../api';
import { go, href } from '../route';
import { fieldTarget, SYSTEM_FIELDS, typeDef } from '../schema';
import { applyDocument, toYaml } from '../yaml';
import { FORM_TYPES } from './Shell';

/** Values that differ from one run to the next (uuids, timestamps, allocated ids): marked so
 * that screenshots can mask them. */
const IDS = /[0-9a-f]{8}-[0-9a-f]{4}-|\d{4}-\d\d-\d\dT|[0-9a-f]{32}|uuid/;
const varies = (field: string, v: unknown) => /(^|_)id(_|$)|_id$|perms/.test(field) || IDS.test(JSON.stringify(v) ?? '');

type Link = { to: string[]; uuid: string; attr?: unknown };

function Links({ type, items }: { type: string; items: Link[] }) {
  return (
    <ul class="links">
      {items.map((l) => (
        <li>
          <a href={href.detail(type, l.uuid)}>{(l.to ?? []).join(':') || l.uuid}</a>
          {l.attr != null && <code class="attr" data-varies={IDS.test(JSON.stringify(l.attr)) || undefined}>{JSON.stringify(l.attr)}</code>}
        </li>
      ))}
    </ul>
  );
}

export function DetailView({ type, uuid }: { type: string; uuid: string }) {
  const [obj, setObj] = useState<Obj | null>(null);
  const [error, setError] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [copied, setCopied] = useState('');
  useEffect(() => {
    read(type, uuid).then(setObj).catch((e) => setError(message(e)));
  }, [type, uuid]);
  const t = typeDef(type);
  if (!obj) {
    return (
      <>
        <h1>{type}</h1>
        {error ? <p role="alert" class="error">{error}</p> : <p role="status">Loading…</p>}
      </>
    );
  }
  const yaml = toYaml(applyDocument(type, obj));
  const props: [string, unknown][] = [];
  const linkFields: { field: string; kind: string; to: string; items: Link[] }[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (SYSTEM_FIELDS.has(k) && k !== 'id_perms' && k !== 'perms2') continue;
    const target = fieldTarget(type, k);
    if (target && Array.isArray(v)) linkFields.push({ field: k, kind: target.kind, to: target.to, items: v });
    else if (t?.props.some((p) => p.name === k)) props.push([k, v]);
  }
  const section = (kind: string, title: string) => {
    const fs = linkFields.filter((f) => f.kind === kind);
    return (
      <section aria-labelledby={`sec-${kind}`}>
        <h2 id={`sec-${kind}`}>{title}</h2>
        {fs.length === 0 ? <p>None.</p> : fs.map((f) => (
          <div class="linkgroup">
            <h3>{f.field} <span class="muted">({f.to})</span></h3>
            <Links type={f.to} items={f.items} />
          </div>
        ))}
      </section>
    );
  };
  const editable = FORM_TYPES.some(([ft]) => ft === type);
  return (
    <>
      <h1>{type} {obj.fq_name[obj.fq_name.length - 1]}</h1>
      <dl class="identity">
        <dt>fq_name</dt><dd>{obj.fq_name.join(':')}</dd>
        <dt>uuid</dt><dd class="uuid">{obj.uuid}</dd>
        {obj.parent_type && obj.parent_uuid && (
          <>
            <dt>parent</dt>
            <dd><a href={href.detail(obj.parent_type, obj.parent_uuid)}>{obj.parent_type} {obj.fq_name.slice(0, -1).join(':')}</a></dd>
          </>
        )}
      </dl>
      <div class="toolbar">
        {editable && <a class="button" href={href.edit(type, uuid)}>Edit</a>}
        {!confirming ? (
          <button type="button" onClick={() => setConfirming(true)}>Delete</button>
        ) : (
          <span class="confirm">
            Delete {obj.fq_name.join(':')}?{' '}
            <button type="button" class="danger" onClick={async () => {
              try {
                await remove(type, uuid);
                go(href.list(type));
              } catch (e) {
                setError(message(e));
                setConfirming(false);
              }
            }}>Confirm delete</button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
          </span>
        )}
      </div>
      {error && <p role="alert" class="error" data-testid="api-error">{error}</p>}
      <section aria-labelledby="sec-props">
        <h2 id="sec-props">Properties</h2>
        <dl class="props">
          {props.map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd><pre data-varies={varies(k, v) || undefined} tabIndex={0} aria-label={`${k} as JSON`}>{JSON.stringify(v, null, 2)}</pre></dd>
            </>
          ))}
        </dl>
      </section>
      {section('ref', 'References')}
      {section('back_ref', 'Referred to by')}
      {section('child', 'Children')}
      <section aria-labelledby="sec-yaml">
        <h2 id="sec-yaml">As cirrusctl apply YAML</h2>
        <button type="button" onClick={async () => {
          try {
            await navigator.clipboard.writeText(yaml);
            setCopied('Copied to the clipboard.');
          } catch (e) {
            setCopied(`Could not copy (${message(e)}): select the text below.`);
          }
        }}>Copy as cirrusctl apply YAML</button>
        <span role="status" class="muted"> {copied}</span>
        <pre class="yaml" data-testid="yaml" tabIndex={0} aria-label="YAML document">{yaml}</pre>
      </section>
    </>
  );
}
