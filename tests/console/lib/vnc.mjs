// The real vnc_api Python client (the test venv), through tests/console/vnc_probe.py.

import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function vnc(python, port, ...args) {
  const out = execFileSync(python, [join(here, '..', 'vnc_probe.py'), String(port), ...args], { encoding: 'utf8' });
  return JSON.parse(out);
}
