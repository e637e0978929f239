// Scale, measured and printed (bounds asserted only generously): a 200-network graph, then
// 500 networks and 2,000 ports listed.

import assert from 'node:assert/strict';
import { pool } from '../lib/api.mjs';

const S = ['default-domain', 'scale'];

export default [
  {
    name: 'a 200-network graph lays out, 500 networks and 2,000 ports list',
    async run({ page, url, api, figure }) {
      await api.create('project', 'projects', { fq_name: S, parent_type: 'domain' });
      let t = Date.now();
      // 100 policies, each joining a pair of networks both ways.
      const policies = [];
      await pool([...Array(100).keys()], 8, async (i) => {
        const x = [...S, `n${String(2 * i).padStart(3, '0')}`].join(':');
        const y = [...S, `n${String(2 * i + 1).padStart(3, '0')}`].join(':');
        policies[i] = await api.create('network-policy', 'network-policys', {
          fq_name: [...S, `p${i}`], parent_type: 'project',
          network_policy_entries: { policy_rule: [{
            direction: '<>', protocol: 'any', ethertype: 'IPv4',
            src_addresses: [{ virtual_network: x }], src_ports: [{ start_port: -1, end_port: -1 }],
            dst_addresses: [{ virtual_network: y }], dst_ports: [{ start_port: -1, end_port: -1 }],
            action_list: { simple_action: 'pass' } }] },
        });
      });
      const nets = [];
      const makeNet = async (i) => {
        const refs = i < 200 ? [{ to: policies[Math.floor(i / 2)].fq_name, attr: { sequence: { major: 0, minor: 0 } } }] : [];
        nets[i] = await api.create('virtual-network', 'virtual-networks', {
          fq_name: [...S, `n${String(i).padStart(3, '0')}`], parent_type: 'project', network_policy_refs: refs,
        });
      };
      await pool([...Array(200).keys()], 8, makeNet);
      figure('set-up: 100 policies + 200 networks created through the API (ms)', Date.now() - t);

      t = Date.now();
      await page.goto(url('/ui/graph'));
      const status = page.getByTestId('graph-status');
      await status.waitFor({ timeout: 60000 });
      const wall = Date.now() - t;
      const inPage = await page.evaluate(() => window.__cirrusGraphMs);
      const nodes = Number(await status.getAttribute('data-nodes'));
      const edges = Number(await status.getAttribute('data-edges'));
      figure(`graph of ${nodes} nodes / ${edges} edges: fetch+layout in page (ms)`, Math.round(inPage));
      figure('graph: navigation to drawn (ms)', wall);
      assert.ok(nodes >= 200 && edges >= 100, `${nodes} nodes, ${edges} edges`);
      assert.ok(wall < 30000, `graph took ${wall} ms (generous bound 30 s; target 5 s)`);

      t = Date.now();
      await pool([...Array(300).keys()].map((i) => i + 200), 8, makeNet);
      await pool([...Array(2000).keys()], 8, async (i) => {
        await api.create('virtual-machine-interface', 'virtual-machine-interfaces', {
          fq_name: [...S, `port${String(i).padStart(4, '0')}`], parent_type: 'project',
          virtual_network_refs: [{ to: nets[i % 500].fq_name }],
        });
      });
      figure('set-up: 300 more networks + 2000 ports created through the API (ms)', Date.now() - t);

      for (const [type, want] of [['virtual-network', 500], ['virtual-machine-interface', 2000]]) {
        t = Date.now();
        await page.goto(url(`/ui/list/${type}`));
        const count = page.locator('[data-count]');
        await count.waitFor({ timeout: 60000 });
        await page.locator('[data-testid=object-list] tbody tr').nth(want - 1).waitFor();
        const ms = Date.now() - t;
        const n = Number(await count.getAttribute('data-count'));
        figure(`list of ${n} ${type}: navigation to every row drawn (ms)`, ms);
        assert.ok(n >= want, `${n} ${type} listed`);
        assert.ok(ms < 20000, `${type} list took ${ms} ms (generous bound 20 s; target 2 s)`);
      }
    },
  },
];
