// Views 4 and 5 against a real sandbox (`cirrusctl sandbox up`: the controller with every role,
// two vrouters in network namespaces, DHCP'd workloads): network left reaches right by ICMP
// (rule 1 of policy web) and is denied the rest (rule 2). Pings and a refused connection make
// real flows; the console shows them from the vrouters' introspect (through the controller)
// and from the analytics query API, which the vrouters' flow export fills.

import assert from 'node:assert/strict';
import { sandboxMissing, sandboxUp } from '../lib/sandbox.mjs';
import { startController, freePort } from '../lib/controller.mjs';
import { api as apiOf } from '../lib/api.mjs';

const LEFT = 'default-domain:con:left';
const RIGHT = 'default-domain:con:right';
const CONFIG = `kind: project
fq_name: [default-domain, con]
---
kind: network-ipam
fq_name: [default-domain, con, con-ipam]
---
kind: network-policy
fq_name: [default-domain, con, web]
network_policy_entries:
  policy_rule:
    - direction: "<>"
      protocol: icmp
      ethertype: IPv4
      src_addresses: [{virtual_network: "${LEFT}"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: "${RIGHT}"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: pass}
    - direction: "<>"
      protocol: any
      ethertype: IPv4
      src_addresses: [{virtual_network: "${LEFT}"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: "${RIGHT}"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: deny}
` + ['left', 'right'].map((n, i) => `---
kind: virtual-network
fq_name: [default-domain, con, ${n}]
network_ipam_refs:
  - to: [default-domain, con, con-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.41.${i + 1}.0, ip_prefix_len: 24}
network_policy_refs:
  - to: [default-domain, con, web]
    attr: {sequence: {major: 0, minor: 0}}
`).join('');

/** Set up once, shared by the scenarios below; taken down by the runner. */
let lab = null;
async function sandbox(env, figure) {
  if (lab) return lab;
  const missing = sandboxMissing(env.cirrusctl);
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`the sandbox cannot run: ${missing}`);
    return (lab = { skip: missing });
  }
  const started = Date.now();
  const sb = await sandboxUp(env.cirrusctl, 2);
  figure('sandbox up, 2 vrouters connected (ms)', Date.now() - started);
  sb.apply(CONFIG);
  const l1 = sb.workload('l1', 'c1', LEFT);
  const r1 = sb.workload('r1', 'c2', RIGHT);
  const a = apiOf(sb.url);
  const policy = await a.read('network-policy', await a.uuidOf('network-policy', ['default-domain', 'con', 'web']));
  const [ruleA, ruleB] = policy.network_policy_entries.policy_rule.map((r) => r.rule_uuid);
  const deadline = Date.now() + 30000;
  while (sb.exec('l1', ['ping', '-c', '1', '-W', '1', r1]).status !== 0) {
    if (Date.now() > deadline) throw new Error(`l1 never reached r1 by ping\n${sb.logs()}`);
  }
  sb.exec('l1', ['ping', '-c', '3', '-i', '0.2', r1]);
  // Denied by rule 2: the SYN goes nowhere and nc gives up.
  const nc = sb.exec('l1', ['busybox', 'nc', '-w', '1', r1, '81']);
  assert.notEqual(nc.status, 0, 'r1:81 must be denied');
  lab = { sb, l1, r1, ruleA, ruleB };
  return lab;
}

function skipped(l) {
  if (!l.skip) return false;
  console.log(`  SKIP: ${l.skip}`);
  return true;
}

async function waitFor(what, f, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export default [
  {
    name: 'the vrouter and flow endpoints are for admins, name what is missing, and reach only known vrouters',
    async run({ env }) {
      const c = await startController(env.controller, {
        tokens: [
          { token: 'admin-secret', role: 'admin', project: 'default-domain:default-project' },
          { token: 'member-secret', role: 'member', project: 'default-domain:default-project' },
        ],
        args: ['--roles', 'config,control,analytics', '--hostname', 'cn-auth', '--bgp-address', '127.0.9.5', '--bgp-port', String(await freePort()),
          '--introspect-listen', `127.0.0.1:${await freePort()}`, '--channel-listen', `127.0.0.1:${await freePort()}`,
          '--analytics-listen', `127.0.0.1:${await freePort()}`, '--collector-listen', `127.0.0.1:${await freePort()}`],
      });
      const admin = apiOf(c.url, 'admin-secret');
      for (const [who, status] of [[apiOf(c.url), 401], [apiOf(c.url, 'member-secret'), 403]]) {
        assert.equal((await who.call('GET', '/ui/vrouter/c1/ports')).status, status);
        assert.equal((await who.call('GET', '/ui/analytics/tables')).status, status);
        assert.equal((await who.call('POST', '/ui/analytics/query', {})).status, status);
      }
      const unknown = await admin.call('GET', '/ui/vrouter/c1/ports');
      assert.equal(unknown.status, 404);
      assert.match(unknown.json().error, /no vrouter "c1" is connected/);
      const view = await admin.call('GET', '/ui/vrouter/c1/metrics');
      assert.equal(view.status, 400);
      assert.match(view.json().error, /"metrics".*flows/);
      const tables = await admin.call('GET', '/ui/analytics/tables');
      assert.equal(tables.status, 200);
      assert.ok(tables.json().some((t) => t.name === 'FlowSeriesTable'));
      // The analytics API's own 400 comes through, naming the field.
      const bad = await admin.call('POST', '/ui/analytics/query', { table: 'FlowSeriesTable', start_time: 'now-10m', end_time: 'now', select_fields: ['nosuch'] });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().field, 'select_fields[0]');
    },
  },
  {
    name: 'vrouters of a real sandbox: listed established, with their ports, routes, flows and drops (by keyboard too)',
    async run({ page, env, figure, a11y, shot }) {
      const l = await sandbox(env, figure);
      if (skipped(l)) return;
      const { sb, l1, r1, ruleB } = l;
      await page.goto(`${sb.url}/ui/vrouters`);
      for (const c of ['c1', 'c2']) await page.locator(`tr[data-vrouter=${c}][data-state=established]`).waitFor();
      await a11y(page, 'vRouters');
      await shot(page, 'vrouters');

      // By keyboard: from the skip link, Tab until c1's link has the focus, Enter opens it.
      await page.keyboard.press('Tab');
      const c1 = page.getByRole('link', { name: 'c1', exact: true });
      for (let i = 0; i < 40 && !(await c1.evaluate((e) => e === document.activeElement)); i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/ui\/vrouters\/c1$/);
      const port = page.getByTestId('vr-ports').locator('tr', { hasText: l1 });
      await port.waitFor();
      assert.match(await port.textContent(), /default-domain:con:left/);
      await a11y(page, 'vRouter ports');
      await shot(page, 'vrouter-ports');

      const tab = (name) => page.getByRole('navigation', { name: 'vRouter views' }).getByRole('link', { name, exact: true });
      await tab('Routes').click();
      await page.waitForURL(/tab=routes/);
      await page.getByLabel('VRF').waitFor();
      const opts = await page.getByLabel('VRF').locator('option').allTextContents();
      const want = opts.find((o) => o.startsWith(`${LEFT}:left `));
      assert.ok(want, `no VRF of ${LEFT} among ${opts}`);
      await page.getByLabel('VRF').selectOption({ label: want });
      await page.waitForURL(/vrf=\d+/);
      // The route to r1 (on c2, in the other network, leaked by the policy) and l1's own.
      await page.getByTestId('vr-routes').getByText(`${r1}/32`).waitFor();
      await page.getByTestId('vr-routes').getByText(`${l1}/32`).waitFor();
      await a11y(page, 'vRouter routes');
      // A deep link to the VRF survives a reload.
      await page.reload();
      await page.getByTestId('vr-routes').getByText(`${r1}/32`).waitFor();
      await shot(page, 'vrouter-routes');

      await tab('Flows').click();
      await page.waitForURL(/tab=flows/);
      const flows = page.getByTestId('vr-flows');
      await flows.waitFor();
      await waitFor('l1 -> r1 in c1\'s flow table', async () => (await flows.locator('tr', { hasText: r1 }).count()) > 0);
      await a11y(page, 'vRouter flows');

      await tab('Drops').click();
      await page.waitForURL(/tab=drops/);
      const rule = page.getByTestId('vr-drops-rules').locator('tr', { hasText: ruleB });
      await rule.waitFor();
      assert.match(await rule.textContent(), /policy web rule 2/);
      assert.match(await page.getByTestId('vr-drops-reasons').textContent(), /network-policy|policy/i);
      await a11y(page, 'vRouter drops');
      // The pipeline's drop reasons come and go with timing (ARP, first packets): left out of
      // the picture, like the counts.
      await page.getByTestId('vr-drops-pipeline').evaluate((e) => ((e.closest('.graph-wrap') ?? e).style.display = 'none'));
      await shot(page, 'vrouter-drops', ['.uuid', '[data-varies]', '[data-testid=vr-flow-setup]', '[data-testid=vr-drops-rules] td:nth-child(n+3)']);
    },
  },
  {
    name: 'routes per routing instance show the route server\'s table as the vrouters receive it',
    async run({ page, env, figure, a11y }) {
      const l = await sandbox(env, figure);
      if (skipped(l)) return;
      const { sb, l1, r1 } = l;
      await page.goto(`${sb.url}/ui/bgp`);
      await page.getByLabel('Table').selectOption(`${LEFT}:left`);
      const table = page.getByTestId('vrouter-routes');
      await table.getByText(`${l1}/32`).waitFor();
      await table.getByText(`${r1}/32`).waitFor();
      await a11y(page, 'BGP peers and instance routes');
    },
  },
  {
    name: 'flows: verdict, drop reason and the deciding rule by name; filters kept in the URL; top talkers',
    async run({ page, env, figure, a11y, shot }) {
      const l = await sandbox(env, figure);
      if (skipped(l)) return;
      const { sb, l1, ruleA, ruleB } = l;
      const opened = Date.now();
      await page.goto(`${sb.url}/ui/flows?ip=${l1}`);
      const deny = page.locator(`[data-testid=flows] tr[data-action=deny][data-dport="81"]`);
      await deny.first().waitFor({ timeout: 30000 });
      figure('flow view opened -> recorded flows shown (ms)', Date.now() - opened);
      assert.match(await deny.first().textContent(), /Flow drop Policy/);
      assert.equal(await deny.first().locator(`[data-rule-uuid="${ruleB}"]`).count(), 1);
      assert.match(await deny.first().textContent(), /policy web rule 2/);
      const pass = page.locator(`[data-testid=flows] tr[data-action=pass][data-src="${l1}"]`);
      await pass.first().waitFor();
      assert.equal(await pass.first().locator(`[data-rule-uuid="${ruleA}"]`).count(), 1);
      assert.match(await pass.first().textContent(), /policy web rule 1/);
      await page.getByTestId('talkers').locator(`tr[data-src="${l1}"]`).waitFor();
      await a11y(page, 'Flows');

      // Filters go to the URL; a reload (or the link) shows the same view.
      await page.getByLabel('Verdict').selectOption('deny');
      await page.waitForURL(/action=deny/);
      await page.getByLabel('Port').fill('81');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/port=81/);
      const deep = page.url();
      assert.match(deep, new RegExp(`ip=${l1.replaceAll('.', '\\.')}`));
      await page.reload();
      assert.equal(page.url(), deep);
      assert.equal(await page.getByLabel('Verdict').inputValue(), 'deny');
      assert.equal(await page.getByLabel('Port').inputValue(), '81');
      assert.equal(await page.getByLabel('Address').inputValue(), l1);
      await deny.first().waitFor();
      const rows = page.locator('[data-testid=flows] tbody tr');
      await waitFor('only denied flows to port 81', async () => {
        const all = await rows.evaluateAll((trs) => trs.map((t) => `${t.dataset.action}:${t.dataset.dport}`));
        return all.length > 0 && all.every((r) => r === 'deny:81');
      });
      await shot(page, 'flows');
    },
  },
  {
    name: 'flows: pause holds the table, resume shows what came meanwhile (by keyboard)',
    async run({ page, env, figure }) {
      const l = await sandbox(env, figure);
      if (skipped(l)) return;
      const { sb, l1, r1 } = l;
      await page.goto(`${sb.url}/ui/flows?ip=${l1}&action=deny`);
      await page.locator('[data-testid=flows] tr[data-dport="81"]').first().waitFor({ timeout: 30000 });
      // Keyboard alone: focus the Address field, Tab to Pause, press Enter.
      await page.getByLabel('Address').focus();
      const pause = page.getByRole('button', { name: 'Pause' });
      for (let i = 0; i < 10 && !(await pause.evaluate((e) => e === document.activeElement)); i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.getByTestId('flows-paused').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed'), 'true');
      // A new denied connection while paused stays off the page...
      assert.notEqual(sb.exec('l1', ['busybox', 'nc', '-w', '1', r1, '82']).status, 0);
      await new Promise((r) => setTimeout(r, 5000));
      assert.equal(await page.locator('[data-testid=flows] tr[data-dport="82"]').count(), 0);
      // ...and shows once resumed.
      await page.getByRole('button', { name: 'Resume' }).press('Enter');
      await page.locator('[data-testid=flows] tr[data-dport="82"]').first().waitFor({ timeout: 15000 });
    },
  },
];
