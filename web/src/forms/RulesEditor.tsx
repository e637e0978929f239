// An ordered list of policy rules (network policies) or security-group rules: add, remove,
// move up and down; each row a labelled group so a keyboard and a screen reader can follow.

import { useEffect, useState } from 'preact/hooks';
import { Select, Text } from './common';

export type Rule = Record<string, string>;
export type Column = { key: string; label: string; options?: [string, string][] };

export function RulesEditor({ rules, set, columns, blank }: { rules: Rule[]; set: (r: Rule[]) => void; columns: Column[]; blank: Rule }) {
  // A rule added from the keyboard takes the focus.
  const [focusRow, setFocusRow] = useState(-1);
  useEffect(() => {
    if (focusRow >= 0) document.getElementById(`f-rule-${focusRow}-${columns[0].key}`)?.focus();
  }, [focusRow]);
  const edit = (i: number, k: string, v: string) => set(rules.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  const move = (i: number, d: number) => {
    const r = [...rules];
    [r[i], r[i + d]] = [r[i + d], r[i]];
    set(r);
  };
  return (
    <fieldset>
      <legend>Rules (first match wins)</legend>
      {rules.length === 0 && <p class="muted">No rules.</p>}
      <ol class="rules">
        {rules.map((r, i) => (
          <li><div class="rule" role="group" aria-label={`Rule ${i + 1}`}>
            {columns.map((c) => {
              const id = `f-rule-${i}-${c.key}`;
              return (
                <span class="cell">
                  <label for={id}>{c.label}</label>
                  {c.options ? <Select id={id} value={r[c.key]} set={(v) => edit(i, c.key, v)} options={c.options} />
                    : <Text id={id} value={r[c.key]} set={(v) => edit(i, c.key, v)} />}
                </span>
              );
            })}
            <span class="cell buttons">
              <button type="button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move rule ${i + 1} up`}>Up</button>
              <button type="button" disabled={i === rules.length - 1} onClick={() => move(i, 1)} aria-label={`Move rule ${i + 1} down`}>Down</button>
              <button type="button" onClick={() => set(rules.filter((_, j) => j !== i))} aria-label={`Remove rule ${i + 1}`}>Remove</button>
            </span>
          </div></li>
        ))}
      </ol>
      <button type="button" onClick={() => { set([...rules, { ...blank }]); setFocusRow(rules.length); }}>Add rule</button>
    </fieldset>
  );
}

export const PROTOCOLS: [string, string][] = [['any', 'any'], ['tcp', 'tcp'], ['udp', 'udp'], ['icmp', 'icmp']];
