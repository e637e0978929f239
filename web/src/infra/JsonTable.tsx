// A table of JSON rows as an introspect answers them: one column per key seen (in `columns`
// order first), nested values shown as compact JSON. Used by the vrouter and routes views.

import type { ComponentChildren } from 'preact';

export function cell(v: unknown): string {
  if (v == null) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function JsonTable({ rows, label, testid, columns = [], render = {}, varies = [] }: {
  rows: Record<string, unknown>[];
  label: string;
  testid?: string;
  columns?: string[];
  render?: Record<string, (v: unknown, row: Record<string, unknown>) => ComponentChildren>;
  varies?: string[];
}) {
  const cols = [...new Set([...columns.filter((c) => rows.some((r) => c in r)), ...rows.flatMap((r) => Object.keys(r))])];
  if (!rows.length) return <p data-testid={testid} data-count={0}>No {label.toLowerCase()}.</p>;
  return (
    <div class="graph-wrap" tabIndex={0} role="region" aria-label={`${label} (scrolls)`}>
      <table class="grid" data-testid={testid} data-count={rows.length}>
        <caption>{rows.length} {label.toLowerCase()}</caption>
        <thead><tr>{cols.map((c) => <th scope="col">{c}</th>)}</tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {cols.map((c) => (
                <td data-varies={varies.includes(c) ? '' : undefined}>{render[c] ? render[c](r[c], r) : cell(r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
