// A real cirrus-controller on loopback with a temporary store, stopped (by its pid) and its
// store removed when the suite ends, also when it fails.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const started = [];

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts the controller (API role only unless `args` says otherwise); `tokens` turns on
 * --auth token-file. */
export async function startController(bin, { tokens, args: extra = ['--roles', 'config'] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cirrus-console-'));
  const port = await freePort();
  const args = [...extra, '--api-listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--log', 'warn'];
  if (tokens) {
    const file = join(dir, 'tokens');
    writeFileSync(file, tokens.map((t) => `${t.token} ${t.role} ${t.project}`).join('\n') + '\n');
    args.push('--auth', `token-file=${file}`);
  }
  const proc = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const c = { proc, dir, port, url: `http://127.0.0.1:${port}`, exited: null };
  proc.on('exit', (code, sig) => (c.exited = sig ?? code));
  started.push(c);
  const deadline = Date.now() + 30000;
  for (;;) {
    if (c.exited !== null) throw new Error(`cirrus-controller exited (${c.exited}) before it answered`);
    try {
      const r = await fetch(`${c.url}/ui/schema.json`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('cirrus-controller did not answer within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return c;
}

export async function stopAll() {
  for (const c of started.splice(0)) {
    if (c.exited === null) {
      c.proc.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          c.proc.kill('SIGKILL');
          r();
        }, 5000);
        c.proc.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    rmSync(c.dir, { recursive: true, force: true });
  }
}

/** Kill synchronously on an abrupt exit of the runner. */
export function killAllNow() {
  for (const c of started) if (c.exited === null) c.proc.kill('SIGKILL');
}
