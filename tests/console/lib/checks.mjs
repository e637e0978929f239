// Checks every view gets: axe-core (no serious or critical violation) and a screenshot with
// ids and timings masked.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axe = require('axe-core');

/** Runs axe-core in the page (through the debugger, so the page's CSP is kept as it is). */
export async function checkA11y(page, view) {
  await page.evaluate(axe.source);
  const result = await page.evaluate(async () => {
    const r = await globalThis.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    throw new Error(`axe-core on ${view}: ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`).join('; ')}`);
  }
  return result;
}

/** Masked: uuids, values the console marks as varying (ids, timestamps), timings. */
export const MASKS = ['.uuid', '[data-varies]', '[data-testid=graph-status]'];

export async function screenshot(page, path, masks = MASKS) {
  await page.screenshot({ path, fullPage: true, mask: masks.map((m) => page.locator(m)), animations: 'disabled' });
}
