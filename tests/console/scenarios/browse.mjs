// The shell and the object browser: loads clean, shows what vnc_api made, deep links,
// search, every view accessible.

import assert from 'node:assert/strict';
import { vnc } from '../lib/vnc.mjs';

export default [
  {
    name: 'the console loads with no console errors and no request outside loopback',
    async run({ page, url, a11y, shot }) {
      await page.goto(url('/ui/'));
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      // Counts arrive one per type; wait for all.
      await page.waitForFunction(() => ![...document.querySelectorAll('table.grid td')].some((td) => td.textContent === '…'));
      const projects = await page.locator('tr', { has: page.getByRole('link', { name: 'project', exact: true }) }).locator('td').nth(1).textContent();
      assert.ok(Number(projects) >= 1, `projects count ${projects}`);
      assert.match(await page.title(), /Overview · Cirrus/);
      await a11y(page, 'overview');
      await shot(page, 'overview');
    },
  },
  {
    name: 'a network created through vnc_api appears in the list and its page',
    async run({ page, url, env, controller, a11y, shot }) {
      const { uuid } = vnc(env.python, controller.port, 'create-network', 'default-domain:default-project:from-vnc-api', '10.77.0.0/24');
      await page.goto(url('/ui/list/virtual-network'));
      const link = page.getByRole('link', { name: 'from-vnc-api', exact: true });
      await link.waitFor();
      await a11y(page, 'list');
      await shot(page, 'list-networks');
      await link.click();
      await page.getByRole('heading', { name: 'virtual-network from-vnc-api' }).waitFor();
      assert.equal(await page.locator('dd.uuid').textContent(), uuid);
      // Refs are links to their targets, read from the schema.
      await page.getByRole('link', { name: 'default-domain:default-project:default-network-ipam' }).waitFor();
      assert.match(await page.locator('.attr').first().textContent(), /"ip_prefix":"10\.77\.0\.0"/);
      await a11y(page, 'detail');
      await shot(page, 'detail-network');
    },
  },
  {
    name: 'deep links survive a reload',
    async run({ page, url, api }) {
      const uuid = await api.uuidOf('virtual-network', ['default-domain', 'default-project', 'from-vnc-api']);
      for (const [path, heading] of [
        [`/ui/obj/virtual-network/${uuid}`, 'virtual-network from-vnc-api'],
        ['/ui/list/network-ipam', 'network-ipam'],
        ['/ui/graph', 'Connectivity'],
        ['/ui/new/network-policy', 'New network policy'],
        [`/ui/search?q=from-vnc`, 'Search: from-vnc'],
      ]) {
        await page.goto(url(path));
        await page.getByRole('heading', { name: heading, exact: true }).waitFor();
        await page.reload();
        await page.getByRole('heading', { name: heading, exact: true }).waitFor();
        assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, path);
      }
      // Back and forward move between views without a page load.
      await page.goto(url('/ui/'));
      await page.getByRole('link', { name: 'All types' }).click();
      await page.getByRole('heading', { name: 'All types' }).waitFor();
      await page.goBack();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
    },
  },
  {
    name: 'search finds objects by name, uuid and IP',
    async run({ page, url, api, a11y, shot }) {
      const uuid = await api.uuidOf('virtual-network', ['default-domain', 'default-project', 'from-vnc-api']);
      await page.goto(url('/ui/'));
      await page.getByLabel('Search').fill('from-vnc');
      await page.keyboard.press('Enter');
      await page.getByRole('link', { name: 'virtual-network default-domain:default-project:from-vnc-api' }).waitFor();
      await a11y(page, 'search');
      await shot(page, 'search');
      await page.goto(url(`/ui/search?q=${uuid}`));
      await page.getByRole('link', { name: 'virtual-network default-domain:default-project:from-vnc-api' }).waitFor();
      await page.goto(url('/ui/search?q=10.77.0.9'));
      await page.getByText('subnet 10.77.0.0/24').waitFor();
      await page.goto(url('/ui/search?q=no-such-thing-anywhere'));
      await page.getByText('0 found').waitFor();
    },
  },
  {
    name: 'every schema type has a list page',
    async run({ page, url, a11y, shot }) {
      await page.goto(url('/ui/types'));
      await page.getByRole('heading', { name: 'All types' }).waitFor();
      const n = await page.locator('main ul.columns li').count();
      assert.ok(n > 100, `${n} types listed`);
      await a11y(page, 'types');
      await shot(page, 'types');
      await page.getByRole('link', { name: 'routing-instance', exact: true }).click();
      await page.getByRole('link', { name: '__default__', exact: true }).first().waitFor();
      await page.goto(url('/ui/list/no-such-type'));
      await page.getByText('The schema has no type no-such-type.').waitFor();
    },
  },
];
