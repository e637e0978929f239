// The console's browser suite: a real cirrus-controller on loopback (temporary store),
// Debian's chromium through playwright-core, the vnc_api client and cirrusctl as the other
// sides. Prints each scenario, the measured figures, and a closing `N passed, N failed` line.
//
// Env: CIRRUS_CONTROLLER_BIN, CIRRUS_CLI_BIN (cirrusctl), CIRRUS_TEST_VENV (python with
// vnc_api), CHROMIUM (default /usr/bin/chromium), CIRRUS_SKIP_LOG, CI,
// CIRRUS_CONSOLE_BASELINE=1 to write the screenshots into baseline/ instead of out/.

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAllNow, startController, stopAll } from './lib/controller.mjs';
import { api } from './lib/api.mjs';
import browse from './scenarios/browse.mjs';
import forms from './scenarios/forms.mjs';
import graph from './scenarios/graph.mjs';
import signin from './scenarios/signin.mjs';
import scale from './scenarios/scale.mjs';
import bgp from './scenarios/bgp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const env = {
  controller: process.env.CIRRUS_CONTROLLER_BIN ?? join(target, 'debug', 'cirrus-controller'),
  cirrusctl: process.env.CIRRUS_CLI_BIN ?? join(target, 'debug', 'cirrusctl'),
  python: join(process.env.CIRRUS_TEST_VENV ?? join(root, 'target', 'test-venv'), 'bin', 'python'),
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
};

function skip(why) {
  const line = `console browser suite: ${why}`;
  if (process.env.CI === 'true') {
    console.error(`${line} (a prerequisite is missing under CI=true: failing)`);
    process.exit(1);
  }
  console.log(`SKIP ${line}`);
  if (process.env.CIRRUS_SKIP_LOG) appendFileSync(process.env.CIRRUS_SKIP_LOG, line + '\n');
  process.exit(0);
}
for (const [what, path] of Object.entries(env)) if (!existsSync(path)) skip(`no ${what} at ${path}`);
for (const m of ['playwright-core', 'axe-core'])
  if (!existsSync(join(here, 'node_modules', m))) skip(`no ${m}: run npm ci in tests/console (scripts/install-test-deps.sh does)`);
// Imported only once they are known to be installed.
const { launch } = await import('./lib/browser.mjs');
const { checkA11y, screenshot } = await import('./lib/checks.mjs');

const out = join(here, 'out');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'failures'), { recursive: true });
const shots = process.env.CIRRUS_CONSOLE_BASELINE === '1' ? join(here, 'baseline') : join(out, 'screenshots');
mkdirSync(shots, { recursive: true });

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const figures = [];
let passed = 0;
let failed = 0;
const controller = await startController(env.controller);
const browser = await launch(env.chromium);
const ctx = {
  env,
  controller,
  api: api(controller.url),
  browser,
  url: (path) => controller.url + path,
  figure: (name, value) => {
    figures.push(`${name}: ${value}`);
    console.log(`  figure ${name}: ${value}`);
  },
  a11y: checkA11y,
  shot: (page, name, masks) => screenshot(page, join(shots, `${name}.png`), masks),
};

try {
  const only = process.env.CIRRUS_CONSOLE_ONLY ? new RegExp(process.env.CIRRUS_CONSOLE_ONLY) : null;
  for (const t of [...browse, ...forms, ...graph, ...signin, ...bgp, ...scale].filter((t) => !only || only.test(t.name))) {
    const page = await browser.newPage();
    page.allowErrors = [];
    const outsideBefore = browser.outside.length;
    const start = Date.now();
    try {
      await t.run({ ...ctx, page });
      const outside = browser.outside.slice(outsideBefore);
      if (outside.length) throw new Error(`requests outside loopback (aborted): ${outside.join(', ')}`);
      const errors = page.errors.filter((e) => !page.allowErrors.some((re) => re.test(e)));
      if (errors.length) throw new Error(`console errors on the page:\n    ${errors.join('\n    ')}`);
      passed++;
      console.log(`ok   ${t.name} (${Date.now() - start} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}: ${e.stack ?? e}`);
      const file = join(out, 'failures', `${t.name.replace(/[^a-z0-9]+/gi, '-')}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.log(`     screenshot: ${file}`);
    } finally {
      await page.close().catch(() => {});
    }
  }
} finally {
  await browser.close().catch(() => {});
  await stopAll();
}
if (figures.length) console.log(`figures:\n  ${figures.join('\n  ')}`);
console.log(`screenshots: ${shots}`);
// The baselines are for people to look at (fonts and chromium versions move pixels); a page
// whose size differs from its baseline is named here, not failed.
const size = (f) => {
  const b = readFileSync(f);
  return `${b.readUInt32BE(16)}x${b.readUInt32BE(20)}`;
};
const baseline = join(here, 'baseline');
if (shots !== baseline) {
  for (const f of readdirSync(shots)) {
    const base = join(baseline, f);
    if (!existsSync(base)) console.log(`  ${f}: no baseline yet`);
    else if (size(base) !== size(join(shots, f))) console.log(`  ${f}: ${size(join(shots, f))}, baseline ${size(base)}`);
  }
}
console.log(`console: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
