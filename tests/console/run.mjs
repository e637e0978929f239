// The console's browser suite: a real cirrus-controller on loopback (temporary store),
// Debian's chromium through playwright-core, the vnc_api client and cirrusctl as the other
// sides. Prints each scenario, the measured figures, and a closing `N passed, N failed` line.
//
// Env: CIRRUS_CONTROLLER_BIN, CIRRUS_CLI_BIN (cirrusctl), CIRRUS_TEST_VENV (python with
// vnc_api), CHROMIUM (default /usr/bin/chromium), CIRRUS_SKIP_LOG, CI,
// CIRRUS_CONSOLE_BASELINE=1 to write the screenshots into baseline/ instead of out/ (the way to
// refresh the baselines after a change to a view: run it, look at the new PNGs, commit them).
// Otherwise every screenshot is compared pixel by pixel with its baseline: at most
// CIRRUS_CONSOLE_PIXELS (default 0.01, a fraction of the page) may move by more than a faint
// anti-aliasing shade; a page of another size or past that fails, with a diff image in out/diffs.

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import infra from './scenarios/infra.mjs';
import { sandboxesDown } from './lib/sandbox.mjs';
import { compare, decode, encode } from './lib/png.mjs';

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

process.on('exit', () => {
  sandboxesDown();
  killAllNow();
});
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
  for (const t of [...browse, ...forms, ...graph, ...signin, ...bgp, ...infra, ...scale].filter((t) => !only || only.test(t.name))) {
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
  sandboxesDown();
}
// Each screenshot against its baseline, pixel by pixel (masked parts are painted alike).
const baseline = join(here, 'baseline');
if (shots !== baseline) {
  const tolerance = Number(process.env.CIRRUS_CONSOLE_PIXELS ?? '0.01');
  const started = Date.now();
  mkdirSync(join(out, 'diffs'), { recursive: true });
  for (const f of readdirSync(shots).sort()) {
    const base = join(baseline, f);
    const name = `screenshot ${f} matches its baseline`;
    if (!existsSync(base)) {
      failed++;
      console.log(`FAIL ${name}: no baseline yet (CIRRUS_CONSOLE_BASELINE=1 writes them)`);
      continue;
    }
    const c = compare(decode(readFileSync(base)), decode(readFileSync(join(shots, f))));
    if (c.sameSize && c.ratio <= tolerance) {
      passed++;
      console.log(`ok   ${name} (${(c.ratio * 100).toFixed(2)}% of pixels moved)`);
    } else {
      failed++;
      const why = c.sameSize ? `${(c.ratio * 100).toFixed(2)}% of pixels moved (at most ${tolerance * 100}%)` : `size ${c.size}`;
      if (c.diff) writeFileSync(join(out, 'diffs', f), encode(c.diff));
      console.log(`FAIL ${name}: ${why}${c.diff ? `; diff: ${join(out, 'diffs', f)}` : ''}`);
    }
  }
  figures.push(`pixel comparison of ${readdirSync(shots).length} screenshots (ms): ${Date.now() - started}`);
}
if (figures.length) console.log(`figures:\n  ${figures.join('\n  ')}`);
console.log(`screenshots: ${shots}`);
console.log(`console: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
