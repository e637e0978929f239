// Sign-in with the API's auth: a controller with --auth token-file asks for a token; a wrong
// one is refused with the API's words, a member's token shows only what the API lets it see.

import assert from 'node:assert/strict';
import { api as apiOf } from '../lib/api.mjs';
import { startController } from '../lib/controller.mjs';

export default [
  {
    name: 'sign-in uses the API token: refused when unknown, the member sees its project only',
    async run({ page, env, a11y, shot }) {
      page.allowErrors = [/status of 401/];
      const c = await startController(env.controller, {
        tokens: [
          { token: 'admin-secret', role: 'admin', project: 'default-domain:default-project' },
          { token: 'member-secret', role: 'member', project: 'default-domain:tenant1' },
        ],
      });
      const admin = apiOf(c.url, 'admin-secret');
      const t1 = await admin.create('project', 'projects', { fq_name: ['default-domain', 'tenant1'], parent_type: 'domain' });
      // Under --aaa-mode rbac (the default) the member's role needs a rule, as on Contrail.
      await admin.create('api-access-list', 'api-access-lists', {
        fq_name: ['default-domain', 'tenant1', 'default-api-access-list'], parent_type: 'project',
        api_access_list_entries: { rbac_rule: [{ rule_object: '*', rule_field: null, rule_perms: [{ role_name: 'member', role_crud: 'CRUD' }] }] },
      });
      await admin.create('virtual-network', 'virtual-networks', { fq_name: ['default-domain', 'tenant1', 'mine'], parent_type: 'project', perms2: { owner: t1.uuid.replaceAll('-', ''), owner_access: 7 } });
      await admin.create('virtual-network', 'virtual-networks', { fq_name: ['default-domain', 'default-project', 'not-mine'], parent_type: 'project' });

      await page.goto(`${c.url}/ui/list/virtual-network`);
      await page.getByRole('heading', { name: 'Sign in to Cirrus' }).waitFor();
      await a11y(page, 'sign-in');
      await shot(page, 'sign-in');
      await page.getByLabel('API token (X-Auth-Token)').fill('wrong');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const refused = await page.getByRole('alert').textContent();
      const direct = await apiOf(c.url, 'wrong').call('GET', '/domains');
      assert.equal(direct.status, 401);
      assert.equal(refused, direct.text.trim());

      await page.getByLabel('API token (X-Auth-Token)').fill('member-secret');
      await page.getByRole('button', { name: 'Sign in' }).click();
      // The deep link asked for before signing in is where we land.
      await page.getByRole('heading', { name: 'Networks' }).waitFor();
      await page.getByRole('link', { name: 'mine', exact: true }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'not-mine', exact: true }).count(), 0);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to Cirrus' }).waitFor();
    },
  },
];
