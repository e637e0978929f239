// Names for the rules flow records cite by uuid: network policy rules (nw_ace_uuid), security
// group rules (sg_rule_uuid) and firewall rules (security_policy_rule), read from the config
// once a while (what the signed-in caller may read).

import { list } from '../api';

/** A rule as the console names it, and the object that holds it. */
export type RuleName = { label: string; type: string; uuid: string };
type Names = Record<string, RuleName>;

let cached: { at: number; names: Promise<Names> } | null = null;

function fromEntries(kind: string, type: string, objs: any[], prop: string, into: Names) {
  for (const o of objs) {
    const rules: any[] = o?.[prop]?.policy_rule ?? [];
    rules.forEach((r, i) => {
      if (r?.rule_uuid) into[r.rule_uuid] = { label: `${kind} ${o.fq_name.at(-1)} rule ${i + 1}`, type, uuid: o.uuid };
    });
  }
}

async function load(): Promise<Names> {
  const names: Names = {};
  const [policies, groups, firewall] = await Promise.all([
    list('network-policys', true).catch(() => []),
    list('security-groups', true).catch(() => []),
    list('firewall-rules').catch(() => []),
  ]);
  fromEntries('policy', 'network-policy', policies, 'network_policy_entries', names);
  fromEntries('security group', 'security-group', groups, 'security_group_entries', names);
  for (const f of firewall) names[f.uuid] = { label: `firewall rule ${f.fq_name.at(-1)}`, type: 'firewall-rule', uuid: f.uuid };
  return names;
}

/** rule uuid -> "policy web rule 2" and its policy; re-read at most every 30 s. */
export function ruleNames(): Promise<Names> {
  if (!cached || Date.now() - cached.at > 30000) cached = { at: Date.now(), names: load() };
  return cached.names;
}
