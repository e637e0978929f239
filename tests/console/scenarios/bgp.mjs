// The control node's BGP peers (view 4): a real GoBGP on loopback peering with a controller
// that runs the control role shows Established; stopped, its row changes state within 10 s.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startController } from '../lib/controller.mjs';
import { api as apiOf } from '../lib/api.mjs';

const GOBGPD = '/usr/bin/gobgpd';
const FABRIC = ['default-domain', 'default-project', 'ip-fabric', '__default__'];
const CN = '127.0.9.1';
const GW = '127.0.9.2';

function startGobgp(dir, port, apiPort, peerPort) {
  const conf = join(dir, 'gobgpd.toml');
  writeFileSync(conf, `[global.config]
  as = 65001
  router-id = "${GW}"
  port = ${port}
  local-address-list = ["${GW}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${CN}"
    peer-as = 64512
  [neighbors.transport.config]
    local-address = "${GW}"
    remote-port = ${peerPort}
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 30
    keepalive-interval = 10
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
`);
  const p = spawn(GOBGPD, ['-f', conf, '--api-hosts', `${GW}:${apiPort}`, '--pprof-disable'], { stdio: 'ignore' });
  p.exited = null;
  p.on('exit', (c, s) => (p.exited = s ?? c));
  // Also when the runner itself stops abruptly.
  process.once('exit', () => p.exited === null && p.kill('SIGKILL'));
  return p;
}

export default [
  {
    name: 'a GoBGP peer on loopback shows Established and, stopped, changes state on the page within 10 s',
    async run({ page, env, figure, a11y, shot }) {
      if (!existsSync(GOBGPD)) {
        if (process.env.CI === 'true') throw new Error(`${GOBGPD} missing (Debian gobgpd)`);
        console.log(`  SKIP: ${GOBGPD} missing (apt-get install gobgpd)`);
        return;
      }
      const bgpPort = await freePort();
      const c = await startController(env.controller, {
        tokens: [
          { token: 'admin-secret', role: 'admin', project: 'default-domain:default-project' },
          { token: 'member-secret', role: 'member', project: 'default-domain:default-project' },
        ],
        args: ['--roles', 'config,control', '--hostname', 'cn1', '--bgp-address', CN, '--bgp-port', String(bgpPort),
          '--introspect-listen', `127.0.0.1:${await freePort()}`, '--channel-listen', 'none'],
      });
      const dir = mkdtempSync(join(tmpdir(), 'cirrus-console-gobgp-'));
      const gwPort = await freePort();
      const gwApi = await freePort();
      const gobgp = startGobgp(dir, gwPort, gwApi, bgpPort);
      try {
        page.allowErrors = [/status of 401/];
        const a = apiOf(c.url, 'admin-secret');
        // The control node's state is the API's to guard: admins only.
        assert.equal((await apiOf(c.url).call('GET', '/ui/control/bgp/neighbors')).status, 401);
        assert.equal((await apiOf(c.url, 'member-secret').call('GET', '/ui/control/bgp/neighbors')).status, 403);
        assert.equal((await a.call('GET', '/ui/control/bgp/neighbors')).status, 200);
        await a.create('bgp-router', 'bgp-routers', {
          fq_name: [...FABRIC, 'gobgp-gw'], parent_type: 'routing-instance',
          bgp_router_parameters: { vendor: 'gobgp', router_type: 'router', address: GW, identifier: GW, port: gwPort, autonomous_system: 65001 },
          bgp_router_refs: [{ to: [...FABRIC, 'cn1'], attr: { session: [{ uuid: '1', attributes: [{ address_families: { family: ['inet-vpn'] } }] }] } }],
        });
        await page.goto(`${c.url}/ui/bgp`);
        await page.getByLabel('API token (X-Auth-Token)').fill('admin-secret');
        await page.getByRole('button', { name: 'Sign in' }).click();
        const row = page.locator(`[data-testid=bgp-peers] tr[data-peer="${GW}"]`);
        await row.waitFor({ timeout: 20000 });
        await page.locator(`tr[data-peer="${GW}"][data-state="Established"]`).waitFor({ timeout: 60000 });
        assert.equal(await row.getByRole('link', { name: 'gobgp-gw' }).count(), 1);
        // A route from the peer lands in the global VPN table shown below the peers.
        execFileSync('/usr/bin/gobgp', ['-u', GW, '-p', String(gwApi), 'global', 'rib', '-a', 'vpnv4', 'add', '192.0.2.0/24',
          'label', '700', 'rd', '65001:7', 'rt', '64512:8105', 'nexthop', GW]);
        for (let i = 0; ; i++) {
          await page.getByTestId('routes-count').waitFor();
          if (await page.getByTestId('routes').getByText('192.0.2.0/24').count()) break;
          if (i > 20) throw new Error(`route 192.0.2.0/24 not shown: ${await page.getByTestId('routes-count').textContent()}`);
          await new Promise((r) => setTimeout(r, 500));
          // Re-read the table: pick an instance and the global tables again.
          await page.getByLabel('Table').selectOption({ index: 1 });
          await page.getByLabel('Table').selectOption('');
        }
        await a11y(page, 'BGP peers');
        await shot(page, 'bgp-peers');

        const stopped = Date.now();
        gobgp.kill('SIGTERM');
        await page.locator(`tr[data-peer="${GW}"]:not([data-state="Established"])`).waitFor({ timeout: 10000 });
        const ms = Date.now() - stopped;
        figure('BGP peer stopped -> state changed on the page (ms)', ms);
        assert.ok(ms < 10000);
      } finally {
        if (gobgp.exited === null) gobgp.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'without the control role the BGP view says so',
    async run({ page, url }) {
      page.allowErrors = [/status of 404/];
      await page.goto(url('/ui/bgp'));
      await page.getByText('This controller does not run the control role').waitFor();
    },
  },
];
