// A real sandbox (`cirrusctl sandbox up`: a controller with every role, vrouters in network
// namespaces, DHCP'd workloads), driven as a user drives it, and removed with `sandbox down`
// when the suite ends, also when it fails or is interrupted.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './controller.mjs';

const ups = [];

/** Why a sandbox cannot run here, or null. */
export function sandboxMissing(cirrusctl) {
  if (process.getuid?.() !== 0) return 'the sandbox makes network namespaces: run as root';
  for (const p of ['cirrus-controller', 'cirrus-vrouter']) {
    if (!existsSync(join(dirname(cirrusctl), p))) return `${p} is not built beside ${cirrusctl}`;
  }
  for (const t of ['ip', 'nft', 'busybox', 'ethtool']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} is not installed`;
  }
  return null;
}

export async function sandboxUp(cirrusctl, computes = 2) {
  const prefix = `tcon${(process.pid & 0xfffff).toString(16)}`;
  const dir = mkdtempSync(join(tmpdir(), 'cirrus-console-sandbox-'));
  const api = `127.0.0.1:${await freePort()}`;
  const sb = {
    prefix,
    dir,
    api,
    url: `http://${api}`,
    run(args, input) {
      const env = { ...process.env, CIRRUS_API: `http://${api}` };
      delete env.CIRRUS_SANDBOX_DIR;
      delete env.CIRRUS_SANDBOX_PREFIX;
      const r = spawnSync(cirrusctl, ['sandbox', '--prefix', prefix, '--state-dir', dir, ...args], { env, input: input ?? '', encoding: 'utf8', timeout: 120000 });
      return r;
    },
    ok(args) {
      const r = this.run(args);
      if (r.status !== 0) throw new Error(`cirrusctl sandbox ${args.join(' ')}: ${r.status}\n${r.stdout}\n${r.stderr}\n${this.logs()}`);
      return r.stdout;
    },
    apply(yaml) {
      return execFileSync(cirrusctl, ['--api', `http://${api}`, 'apply', '-f', '-'], { input: yaml, encoding: 'utf8' });
    },
    /** `workload add`: the address DHCP gave. */
    workload(name, compute, network) {
      const out = this.ok(['workload', 'add', name, '--compute', compute, '--network', network]);
      const m = /: (\d+\.\d+\.\d+\.\d+)\/\d+ from DHCP/.exec(out);
      if (!m) throw new Error(`no DHCP address in: ${out}`);
      return m[1];
    },
    exec(name, argv) {
      return this.run(['exec', name, '--', ...argv]);
    },
    logs() {
      const d = join(dir, 'logs');
      if (!existsSync(d)) return '';
      return readdirSync(d).map((f) => `--- ${f}\n${readFileSync(join(d, f), 'utf8').split('\n').slice(-20).join('\n')}`).join('\n');
    },
    down() {
      if (existsSync(join(dir, 'lab.json'))) {
        const r = this.run(['down']);
        if (r.status !== 0) console.log(`  sandbox ${prefix} was not removed completely: ${r.stdout}${r.stderr}`);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  ups.push(sb);
  sb.ok(['up', '--computes', String(computes), '--api-listen', api, '--introspect-listen', `127.0.0.1:${await freePort()}`,
    '--analytics-listen', `127.0.0.1:${await freePort()}`, '--timeout', '60']);
  return sb;
}

/** Every sandbox still up is taken down (also on an abrupt end of the runner). */
export function sandboxesDown() {
  for (const sb of ups.splice(0)) sb.down();
}
