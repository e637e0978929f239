// An object as a `cirrusctl apply -f` document: kind, fq_name, parent_type, the properties a
// user sets (system fields left out) and refs by fq_name (`to:`), in YAML. Applying it again
// to the same server reports `unchanged`.

import type { Obj } from './api';
import { SYSTEM_FIELDS, typeDef } from './schema';

/** Keys the server fills in by itself inside values, left out of the document. */
const SERVER_FILLED = new Set(['subnet_uuid', 'rule_uuid', 'created', 'last_modified']);

/** The value without nulls and server-filled keys: what the user would write. */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && !SERVER_FILLED.has(k)) out[k] = prune(x);
    return out;
  }
  return v;
}

export function applyDocument(type: string, obj: Obj): Record<string, unknown> {
  const t = typeDef(type);
  const doc: Record<string, unknown> = { kind: type, fq_name: obj.fq_name };
  if (obj.parent_type && obj.parent_type !== 'config-root') doc.parent_type = obj.parent_type;
  const props = new Map(t?.props.map((p) => [p.name, p]) ?? []);
  for (const [k, v] of Object.entries(obj)) {
    if (SYSTEM_FIELDS.has(k) || v === null || v === undefined) continue;
    const p = props.get(k);
    if (p) {
      if (p.presence === 'system-only') continue;
      doc[k] = prune(v);
    } else if (t?.refs.some((r) => r.field === k) && Array.isArray(v)) {
      doc[k] = v.map((r: any) => (r.attr == null ? { to: r.to } : { to: r.to, attr: prune(r.attr) }));
    }
  }
  return doc;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  if (PLAIN.test(s) && !RESERVED.test(s)) return s;
  return JSON.stringify(s);
}

function inline(v: unknown): string | null {
  if (v === null || typeof v !== 'object') return scalar(v);
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return `[${v.map(scalar).join(', ')}]`;
    return null;
  }
  return Object.keys(v).length === 0 ? '{}' : null;
}

/** Lines of a mapping or a block list, at `ind` spaces. */
function block(v: object, ind: number): string[] {
  const pad = ' '.repeat(ind);
  const out: string[] = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      const one = inline(item);
      if (one !== null) {
        out.push(`${pad}- ${one}`);
        continue;
      }
      const lines = block(item, ind + 2);
      out.push(`${pad}- ${lines[0].slice(ind + 2)}`, ...lines.slice(1));
    }
    return out;
  }
  for (const [k, x] of Object.entries(v)) {
    const one = inline(x);
    if (one !== null) out.push(`${pad}${scalar(k)}: ${one}`);
    else out.push(`${pad}${scalar(k)}:`, ...block(x as object, ind + 2));
  }
  return out;
}

export function toYaml(doc: Record<string, unknown>): string {
  return block(doc, 0).join('\n') + '\n';
}
