// Test set-up through the VNC REST API (Node's fetch), and the API's own answers to compare
// the console with.

export function api(base, token) {
  const call = async (method, path, body) => {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers['X-Auth-Token'] = token;
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) };
  };
  const ok = async (method, path, body) => {
    const r = await call(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.text ? r.json() : null;
  };
  return {
    call,
    ok,
    create: async (type, collection, body) => (await ok('POST', `/${collection}`, { [type]: body }))[type],
    read: async (type, uuid) => (await ok('GET', `/${type}/${uuid}`))[type],
    update: (type, uuid, body) => ok('PUT', `/${type}/${uuid}`, { [type]: body }),
    uuidOf: async (type, fq_name) => (await ok('POST', '/fqname-to-id', { type, fq_name })).uuid,
  };
}

/** Runs `f` over `items` with at most `n` at a time. */
export async function pool(items, n, f) {
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const k = i++;
      await f(items[k], k);
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}
