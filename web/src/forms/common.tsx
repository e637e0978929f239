// Pieces every configure form uses: labelled fields, the objects to choose from, the API's
// refusal shown as it is, and the submit that creates or updates.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { create, list, message, update, type Obj } from '../api';
import { go, href } from '../route';
import { typeDef } from '../schema';

export const fq = (o: { fq_name: string[] }) => o.fq_name.join(':');

export function Field({ id, label, hint, children }: { id: string; label: string; hint?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
    </div>
  );
}

export function Text(props: { id: string; value: string; set: (v: string) => void; required?: boolean; placeholder?: string; disabled?: boolean; hint?: boolean }) {
  return (
    <input id={props.id} type="text" value={props.value} required={props.required} placeholder={props.placeholder}
      disabled={props.disabled} aria-describedby={props.hint ? `${props.id}-hint` : undefined}
      onInput={(e) => props.set((e.target as HTMLInputElement).value)} />
  );
}

export function Select(props: { id: string; value: string; set: (v: string) => void; options: [string, string][]; label?: string; disabled?: boolean }) {
  return (
    <select id={props.id} value={props.value} aria-label={props.label} disabled={props.disabled}
      onChange={(e) => props.set((e.target as HTMLSelectElement).value)}>
      {props.options.map(([v, l]) => <option value={v}>{l}</option>)}
    </select>
  );
}

export function Check(props: { id: string; label: string; checked: boolean; set: (v: boolean) => void }) {
  return (
    <div class="check">
      <input id={props.id} type="checkbox" checked={props.checked} onChange={(e) => props.set((e.target as HTMLInputElement).checked)} />
      <label for={props.id}>{props.label}</label>
    </div>
  );
}

/** The objects of a type (full, with `detail`), loaded once. */
export function useObjects(type: string, detail = false): Obj[] | null {
  const [items, setItems] = useState<Obj[] | null>(null);
  useEffect(() => {
    list(typeDef(type)!.collection, detail)
      .then((xs) => setItems(xs.sort((a, b) => fq(a).localeCompare(fq(b)))))
      .catch(() => setItems([]));
  }, [type]);
  return items;
}

/** Project picker for a new object; fixed once the object exists. */
export function ProjectField({ value, set, disabled }: { value: string; set: (v: string) => void; disabled?: boolean }) {
  const projects = useObjects('project');
  return (
    <Field id="f-project" label="Project">
      <Select id="f-project" value={value} set={set} disabled={disabled}
        options={(projects ?? [{ fq_name: value.split(':'), uuid: '' }]).map((p) => [fq(p), fq(p)])} />
    </Field>
  );
}

export type Submit = { type: string; uuid?: string; fqName: string[]; parentType?: string; body: Record<string, unknown> };

/** Creates or updates; on success runs `after` and opens the object's page. */
export function useSubmit() {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (s: Submit, after?: (o: Obj) => Promise<void>) => {
    setBusy(true);
    setError('');
    try {
      let uuid = s.uuid;
      if (uuid) {
        await update(s.type, uuid, s.body);
      } else {
        const made = await create(s.type, typeDef(s.type)!.collection, { fq_name: s.fqName, parent_type: s.parentType, ...s.body });
        uuid = made.uuid;
        if (after) await after(made);
      }
      go(href.detail(s.type, uuid!));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit };
}

export function FormFrame({ title, error, busy, onSubmit, children }: { title: string; error: string; busy: boolean; onSubmit: () => void; children: ComponentChildren }) {
  return (
    <>
      <h1>{title}</h1>
      <form class="form" onSubmit={(e) => { e.preventDefault(); onSubmit(); }}>
        {children}
        {error && <p role="alert" class="error" data-testid="api-error">{error}</p>}
        <div class="actions">
          <button type="submit" disabled={busy}>Save</button>
        </div>
      </form>
    </>
  );
}

/** `80`, `80-90`, or empty/`any` for every port. */
export function parsePorts(s: string): { start_port: number; end_port: number } {
  const t = s.trim();
  if (!t || t === 'any') return { start_port: -1, end_port: -1 };
  const [a, b] = t.split('-').map((x) => Number(x.trim()));
  return { start_port: a, end_port: Number.isFinite(b) ? b : a };
}

export function showPorts(p?: { start_port: number; end_port: number }): string {
  if (!p || p.start_port === -1 || (p.start_port === 0 && p.end_port === 65535)) return 'any';
  return p.start_port === p.end_port ? String(p.start_port) : `${p.start_port}-${p.end_port}`;
}

export function lines(s: string): string[] {
  return s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
}
