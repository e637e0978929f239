// The VNC REST API, called from the browser on the same origin with the signed-in token
// (X-Auth-Token), so the console has exactly the API's auth and tenancy.

const TOKEN_KEY = 'cirrus.token';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(t: string | null) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A refused request: the HTTP status and the API's message, shown as it is. */
export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

export type Obj = Record<string, any> & { uuid: string; fq_name: string[] };

export async function call(method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const t = token();
  if (t) headers['X-Auth-Token'] = t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status === 401) dispatchEvent(new Event('cirrus-unauthorized'));
  if (!r.ok) throw new ApiError(r.status, text.trim() || r.statusText);
  return text ? JSON.parse(text) : null;
}

/** Summary list of a type: [{uuid, fq_name, href}], or full objects with `detail`. */
export async function list(collection: string, detail = false, extra = ''): Promise<Obj[]> {
  const q = detail ? `?detail=true${extra}` : extra ? `?${extra.slice(1)}` : '';
  const r = await call('GET', `/${collection}${q}`);
  const items: any[] = r[collection] ?? [];
  // A detailed list wraps each object in {type: {...}}.
  return items.map((i) => (detail && !i.uuid ? (Object.values(i)[0] as Obj) : i));
}

export async function read(type: string, uuid: string): Promise<Obj> {
  const r = await call('GET', `/${type}/${uuid}`);
  return r[type];
}

export async function create(type: string, collection: string, body: object): Promise<Obj> {
  const r = await call('POST', `/${collection}`, { [type]: body });
  return r[type];
}

export async function update(type: string, uuid: string, body: object): Promise<void> {
  await call('PUT', `/${type}/${uuid}`, { [type]: body });
}

export async function remove(type: string, uuid: string): Promise<void> {
  await call('DELETE', `/${type}/${uuid}`);
}

export async function idToName(uuid: string): Promise<{ type: string; fq_name: string[] } | null> {
  try {
    return await call('POST', '/id-to-fqname', { uuid });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** A call every caller may make only when signed in (the homepage is open to all). */
export async function probe(): Promise<void> {
  await call('GET', '/domains');
}

export function message(e: unknown): string {
  if (e instanceof ApiError) return `${e.status}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
