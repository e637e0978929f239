// Debian's chromium driven by playwright-core. Every request that is not to loopback is
// aborted and recorded (the test that made it fails); console errors and page errors are
// recorded per page.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOOPBACK = /^(https?|wss?):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//;

export async function launch(executablePath) {
  const profile = mkdtempSync(join(tmpdir(), 'cirrus-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
      '--metrics-recording-only', '--no-pings', '--disable-domain-reliability', '--disable-breakpad',
      '--font-render-hinting=none',
    ],
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (LOOPBACK.test(url) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    outside.push(url);
    return route.abort('blockedbyclient');
  });
  return {
    context,
    outside,
    async newPage() {
      const page = await context.newPage();
      page.errors = [];
      page.on('console', (m) => {
        if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => page.errors.push(`page error: ${e.message}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
