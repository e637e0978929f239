// The VNC schema served by the controller at /ui/schema.json (from cirrus-model): the object
// browser and the generic parts of the forms read every type's shape from it.

export type Prop = {
  name: string;
  type: string;
  presence: 'optional' | 'required' | 'system-only' | 'admin-only';
  create: boolean;
  update: boolean;
  default: unknown;
};
export type RefDef = { to: string; field: string; attr: string | null };
export type TypeDef = {
  collection: string;
  parents: string[];
  children: string[];
  children_field: string;
  back_refs: string[];
  back_ref_field: string;
  props: Prop[];
  refs: RefDef[];
};
export type Schema = {
  types: Record<string, TypeDef>;
  structs: Record<string, { name: string; type: string }[]>;
};

let loaded: Schema | null = null;

export async function loadSchema(): Promise<Schema> {
  if (!loaded) {
    const r = await fetch('/ui/schema.json');
    if (!r.ok) throw new Error(`schema: ${r.status}`);
    loaded = (await r.json()) as Schema;
  }
  return loaded;
}

export function schema(): Schema {
  if (!loaded) throw new Error('schema not loaded');
  return loaded;
}

export function typeDef(type: string): TypeDef | undefined {
  return schema().types[type];
}

/** The resource type a `<x>_refs` / `<x>_back_refs` / children field names. */
export function fieldTarget(type: string, field: string):
  | { kind: 'ref' | 'back_ref' | 'child'; to: string }
  | null {
  const t = typeDef(type);
  if (!t) return null;
  const r = t.refs.find((r) => r.field === field);
  if (r) return { kind: 'ref', to: r.to };
  for (const b of t.back_refs) {
    if (typeDef(b)?.back_ref_field === field) return { kind: 'back_ref', to: b };
  }
  for (const c of t.children) {
    if (typeDef(c)?.children_field === field) return { kind: 'child', to: c };
  }
  return null;
}

/** Fields the system keeps for itself, left out of copied YAML. */
export const SYSTEM_FIELDS = new Set([
  'uuid', 'href', 'fq_name', 'name', 'parent_type', 'parent_uuid', 'parent_href', 'id_perms', 'perms2',
]);
