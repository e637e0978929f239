// The frame around every view: skip link, navigation, search by name, uuid or IP, sign-out.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setToken, token } from '../api';
import { go, href, type Route } from '../route';

export const FORM_TYPES: [string, string][] = [
  ['virtual-network', 'Networks'],
  ['network-policy', 'Policies'],
  ['security-group', 'Security groups'],
  ['floating-ip', 'Floating IPs'],
  ['logical-router', 'Logical routers'],
  ['bgp-router', 'BGP routers'],
];

function current(route: Route, url: string): boolean {
  return window.location.pathname === url || (url !== '/ui/' && window.location.pathname.startsWith(url + '/'));
}

export function Shell({ route, children }: { route: Route; children: ComponentChildren }) {
  const [q, setQ] = useState(route.view === 'search' ? route.q : '');
  useEffect(() => {
    const title = document.querySelector('main h1')?.textContent;
    document.title = title ? `${title} · Cirrus` : 'Cirrus console';
  });
  const links: [string, string][] = [
    [href.home(), 'Overview'],
    ...FORM_TYPES.map(([t, label]) => [href.list(t), label] as [string, string]),
    [href.graph(), 'Connectivity'],
    [href.bgp(), 'BGP peers'],
    [href.vrouters(), 'vRouters'],
    [href.flows(), 'Flows'],
    [href.types(), 'All types'],
  ];
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={href.home()}>Cirrus</a>
        <form
          role="search"
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            if (q.trim()) go(href.search(q.trim()));
          }}
        >
          <label for="search-q">Search</label>
          <input id="search-q" type="search" placeholder="name, uuid or IP" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
          <button type="submit">Find</button>
        </form>
        {token() && (
          <button
            type="button"
            class="link"
            onClick={() => {
              setToken(null);
              go(href.signin());
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <div class="body">
        <nav aria-label="Views">
          <ul>
            {links.map(([url, label]) => (
              <li>
                <a href={url} aria-current={current(route, url) ? 'page' : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>{children}</main>
      </div>
    </>
  );
}
