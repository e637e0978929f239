// The connectivity graph and its table twin: a policy attached on both sides is a two-way
// edge; detached on one side, a warning.

import assert from 'node:assert/strict';

const G = ['default-domain', 'graph'];

async function rowStatus(page, a, b) {
  const row = page.getByTestId('graph-table').locator('tbody tr', { has: page.getByRole('link', { name: a, exact: true }) })
    .filter({ has: page.getByRole('link', { name: b, exact: true }) });
  await row.first().waitFor();
  return row.first().getAttribute('data-status');
}

export default [
  {
    name: 'a policy attached on both sides is a two-way edge; detached on one side, a warning',
    async run({ page, url, api, a11y, shot }) {
      await api.create('project', 'projects', { fq_name: G, parent_type: 'domain' });
      const rule = (x, y) => ({
        direction: '<>', protocol: 'any', ethertype: 'IPv4',
        src_addresses: [{ virtual_network: 'local' }], src_ports: [{ start_port: -1, end_port: -1 }],
        dst_addresses: [{ virtual_network: [...G, y].join(':') }], dst_ports: [{ start_port: -1, end_port: -1 }],
        action_list: { simple_action: 'pass' },
      });
      const pol = async (name, rules) =>
        api.create('network-policy', 'network-policys', { fq_name: [...G, name], parent_type: 'project', network_policy_entries: { policy_rule: rules } });
      // p-ab: each side names the other (local <> other), attached to both a and b.
      const pab = await pol('p-ab', [
        { ...rule('a', 'b'), src_addresses: [{ virtual_network: [...G, 'a'].join(':') }] },
      ]);
      const pac = await pol('p-ac', [{ ...rule('a', 'c'), src_addresses: [{ virtual_network: [...G, 'a'].join(':') }] }]);
      const ref = (p, i) => ({ to: p.fq_name, attr: { sequence: { major: i, minor: 0 } } });
      const net = (name, refs) => api.create('virtual-network', 'virtual-networks', { fq_name: [...G, name], parent_type: 'project', network_policy_refs: refs });
      await net('a', [ref(pab, 0), ref(pac, 1)]);
      const b = await net('b', [ref(pab, 0)]);
      await net('c', []);
      await api.create('logical-router', 'logical-routers', {
        fq_name: [...G, 'r1'], parent_type: 'project',
        virtual_network_refs: [{ to: [...G, 'b'], attr: { logical_router_virtual_network_type: 'InternalVirtualNetwork' } },
          { to: [...G, 'c'], attr: { logical_router_virtual_network_type: 'InternalVirtualNetwork' } }],
      });
      const A = 'default-domain:graph:a', B = 'default-domain:graph:b', C = 'default-domain:graph:c', R = 'default-domain:graph:r1';

      await page.goto(url('/ui/graph'));
      await page.getByTestId('graph-status').waitFor();
      assert.equal(await rowStatus(page, A, B), 'two-way');
      assert.equal(await rowStatus(page, A, C), 'one-way');
      assert.equal(await rowStatus(page, R, B), 'router');
      assert.match(await page.getByTestId('graph-warnings').textContent(), /default-domain:graph:a allows default-domain:graph:c, but default-domain:graph:c has no policy allowing default-domain:graph:a/);
      // The picture: a solid edge for a-b, a dashed one for a-c.
      assert.equal(await page.locator('svg.graph line.edge.both').count() >= 1, true);
      assert.equal(await page.locator('svg.graph line.edge.oneway').count() >= 1, true);
      await a11y(page, 'graph');
      await shot(page, 'graph');

      // Detach p-ab from b: the a-b edge becomes a warning.
      await api.update('virtual-network', b.uuid, { network_policy_refs: [] });
      await page.reload();
      await page.getByTestId('graph-status').waitFor();
      assert.equal(await rowStatus(page, A, B), 'one-way');
      assert.match(await page.getByTestId('graph-warnings').textContent(), /graph:a allows default-domain:graph:b, but/);

      // Deterministic: the same config lays out the same way.
      const positions = () => page.locator('svg.graph g.node rect').evaluateAll((rs) => rs.map((r) => `${r.getAttribute('x')},${r.getAttribute('y')}`).join(' '));
      const first = await positions();
      await page.reload();
      await page.getByTestId('graph-status').waitFor();
      assert.equal(await positions(), first);
    },
  },
];
