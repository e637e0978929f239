// The configure forms: a policy with ordered rules; a network made by keyboard alone and read
// back through vnc_api; its YAML re-applied by cirrusctl (unchanged); the API's 4xx shown as
// it is (a 400 naming the field, the 409 of a network still referred to); the other forms.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vnc } from '../lib/vnc.mjs';

const P = 'default-domain:default-project';

/** Tab (forwards) until the element with `id` has the focus; keyboard only. */
async function tabTo(page, id, max = 80) {
  for (let i = 0; i < max; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached #${id}`);
}

export default [
  {
    name: 'a network policy with ordered rules is made in its form',
    async run({ page, url, api, a11y, shot }) {
      for (const n of ['web', 'db']) {
        await api.create('virtual-network', 'virtual-networks', { fq_name: [...P.split(':'), n], parent_type: 'project' });
      }
      await page.goto(url('/ui/new/network-policy'));
      await page.getByLabel('Name').fill('web-db');
      for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Add rule' }).click();
      await page.locator('#f-rule-0-src').selectOption(`${P}:web`);
      await page.locator('#f-rule-0-dst').selectOption(`${P}:db`);
      await page.locator('#f-rule-0-protocol').selectOption('tcp');
      await page.locator('#f-rule-0-dst_ports').fill('5432');
      await page.locator('#f-rule-1-action').selectOption('deny');
      // Order matters: the deny rule goes first.
      await page.getByRole('button', { name: 'Move rule 2 up' }).click();
      await a11y(page, 'policy form');
      await shot(page, 'form-policy');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'network-policy web-db' }).waitFor();
      const uuid = page.url().split('/').pop();
      const rules = (await api.read('network-policy', uuid)).network_policy_entries.policy_rule;
      assert.equal(rules.length, 2);
      assert.equal(rules[0].action_list.simple_action, 'deny');
      assert.equal(rules[1].protocol, 'tcp');
      assert.deepEqual(rules[1].src_addresses[0].virtual_network, `${P}:web`);
      assert.deepEqual(rules[1].dst_ports[0], { start_port: 5432, end_port: 5432 });
    },
  },
  {
    name: 'the network form is completed by keyboard alone and reads back the same through vnc_api',
    async run({ page, url, env, controller, a11y, shot }) {
      await page.goto(url('/ui/new/virtual-network'));
      await page.getByRole('heading', { name: 'New network' }).waitFor();
      await page.getByText(`${P}:web-db`).waitFor();
      const kb = page.keyboard;
      await tabTo(page, 'f-name');
      await kb.type('kb-net');
      await tabTo(page, 'f-ipam');
      await kb.press('Tab'); // Add subnet
      await kb.press('Enter'); // the new row's CIDR takes the focus
      await page.waitForFunction(() => document.activeElement?.id === 'f-subnet-0');
      await kb.type('10.20.0.0/24');
      await kb.press('Tab');
      await kb.type('10.20.0.254');
      await tabTo(page, 'f-rt');
      await kb.type('target:64512:7001');
      await tabTo(page, 'f-pol-0');
      await kb.press('Space');
      await tabTo(page, 'f-pools');
      await kb.type('kb-pool');
      await tabTo(page, 'f-external');
      await kb.press('Space');
      await a11y(page, 'network form');
      await shot(page, 'form-network');
      await kb.press('Tab');
      await kb.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Save');
      await kb.press('Enter');
      await page.getByRole('heading', { name: 'virtual-network kb-net' }).waitFor();
      const seen = vnc(env.python, controller.port, 'read-network', `${P}:kb-net`);
      assert.deepEqual(seen.subnets, [{ ipam: `${P}:default-network-ipam`, cidr: '10.20.0.0/24', gateway: '10.20.0.254' }]);
      assert.deepEqual(seen.route_targets, ['target:64512:7001']);
      assert.deepEqual(seen.policies, [`${P}:web-db`]);
      assert.equal(seen.router_external, true);
      assert.deepEqual(seen.pools, [`${P}:kb-net:kb-pool`]);
      assert.equal(page.url().split('/').pop(), seen.uuid);
    },
  },
  {
    name: 'copied YAML re-applied with cirrusctl apply reports unchanged',
    async run({ page, url, api, env, controller }) {
      const docs = [];
      for (const [type, name] of [['network-policy', 'web-db'], ['virtual-network', 'kb-net']]) {
        const uuid = await api.uuidOf(type, [...P.split(':'), name]);
        await page.goto(url(`/ui/obj/${type}/${uuid}`));
        await page.getByRole('button', { name: 'Copy as cirrusctl apply YAML' }).click();
        await page.getByText('Copied to the clipboard.').waitFor();
        const copied = await page.evaluate(() => navigator.clipboard.readText());
        assert.equal(copied, await page.getByTestId('yaml').textContent());
        docs.push(copied);
      }
      const dir = mkdtempSync(join(tmpdir(), 'cirrus-console-yaml-'));
      try {
        const file = join(dir, 'copied.yaml');
        writeFileSync(file, docs.join('---\n'));
        const out = execFileSync(env.cirrusctl, ['--api', controller.url, 'apply', '-f', file], { encoding: 'utf8' });
        const lines = out.trim().split('\n');
        assert.equal(lines.length, 2, out);
        assert.match(lines[0], new RegExp(`^unchanged network-policy ${P}:web-db `), out);
        assert.match(lines[1], new RegExp(`^unchanged virtual-network ${P}:kb-net `), out);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'the API refusals are shown as they are: 400 naming the field, 409 deleting a referenced network',
    async run({ page, url, api }) {
      page.allowErrors = [/status of 409/, /status of 400/];
      await page.goto(url('/ui/new/virtual-network'));
      await page.getByLabel('Name').fill('bad-subnet');
      await page.getByRole('button', { name: 'Add subnet' }).click();
      await page.getByLabel('Subnet 1 (CIDR)').fill('10.0.0.0/33');
      await page.getByRole('button', { name: 'Save' }).click();
      const shown400 = await page.getByTestId('api-error').textContent();
      assert.match(shown400, /^400: .*bad-subnet.*ipam_subnets\[0\]\.subnet: prefix length 33 is out of range/, shown400);

      const net = await api.create('virtual-network', 'virtual-networks', { fq_name: [...P.split(':'), 'referenced'], parent_type: 'project' });
      await api.create('virtual-machine-interface', 'virtual-machine-interfaces', {
        fq_name: [...P.split(':'), 'port-on-referenced'], parent_type: 'project', virtual_network_refs: [{ to: net.fq_name }],
      });
      await page.goto(url(`/ui/obj/virtual-network/${net.uuid}`));
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('button', { name: 'Confirm delete' }).click();
      const shown = await page.getByTestId('api-error').textContent();
      const direct = await api.call('DELETE', `/virtual-network/${net.uuid}`);
      assert.equal(direct.status, 409);
      assert.equal(shown, `409: ${direct.text.trim()}`);
      assert.match(shown, /port-on-referenced|virtual-machine-interface/);
      // Still there.
      assert.equal((await api.read('virtual-network', net.uuid)).uuid, net.uuid);
    },
  },
  {
    name: 'security group, floating IP, logical router and BGP router forms create their objects',
    async run({ page, url, api, a11y, shot }) {
      // Security group: one ingress rule from a CIDR.
      await page.goto(url('/ui/new/security-group'));
      await page.getByLabel('Name').fill('ssh-in');
      await page.getByRole('button', { name: 'Add rule' }).click();
      await a11y(page, 'security group form');
      await shot(page, 'form-security-group');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'security-group ssh-in' }).waitFor();
      const sg = await api.read('security-group', page.url().split('/').pop());
      const rule = sg.security_group_entries.policy_rule[0];
      assert.equal(rule.dst_addresses[0].security_group, 'local');
      assert.deepEqual(rule.dst_ports[0], { start_port: 22, end_port: 22 });
      assert.deepEqual(rule.src_addresses[0].subnet, { ip_prefix: '0.0.0.0', ip_prefix_len: 0 });

      // Floating IP from the pool the keyboard-made network has.
      await page.goto(url('/ui/new/floating-ip'));
      await page.locator('#f-pool option', { hasText: 'kb-pool' }).waitFor({ state: 'attached' });
      await page.getByLabel('Name').fill('fip1');
      await a11y(page, 'floating IP form');
      await shot(page, 'form-floating-ip');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'floating-ip fip1' }).waitFor();
      const fip = await api.read('floating-ip', page.url().split('/').pop());
      assert.match(fip.floating_ip_address, /^10\.20\.0\.\d+$/);

      // Logical router joining web and db.
      await page.goto(url('/ui/new/logical-router'));
      await page.getByLabel('Name').fill('lr1');
      await page.getByLabel(`${P}:web`, { exact: true }).check();
      await page.getByLabel(`${P}:db`, { exact: true }).check();
      await a11y(page, 'logical router form');
      await shot(page, 'form-logical-router');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'logical-router lr1' }).waitFor();
      const lr = await api.read('logical-router', page.url().split('/').pop());
      assert.deepEqual(lr.virtual_network_refs.map((r) => r.to.at(-1)).sort(), ['db', 'web']);

      // BGP router: an external peer.
      await page.goto(url('/ui/new/bgp-router'));
      await page.getByLabel('Name').fill('gw1');
      await page.getByLabel('Address', { exact: true }).fill('127.0.0.9');
      await page.getByLabel('Autonomous system').fill('65001');
      await a11y(page, 'BGP router form');
      await shot(page, 'form-bgp-router');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'bgp-router gw1' }).waitFor();
      const br = await api.read('bgp-router', page.url().split('/').pop());
      assert.equal(br.bgp_router_parameters.address, '127.0.0.9');
      assert.equal(br.bgp_router_parameters.autonomous_system, 65001);
      assert.equal(br.bgp_router_parameters.router_type, 'router');

      // Editing keeps what the form does not show: the policy's rules survive a rename-free save.
      await page.getByRole('link', { name: 'Edit' }).click();
      await page.getByLabel('Hold time (s)').fill('30');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'bgp-router gw1' }).waitFor();
      const br2 = await api.read('bgp-router', br.uuid);
      assert.equal(br2.bgp_router_parameters.hold_time, 30);
      assert.equal(br2.bgp_router_parameters.address, '127.0.0.9');
    },
  },
];
