// The console's URLs: paths under /ui/ kept in the address bar (history API), so every view is
// a deep link that survives a reload (the controller answers any /ui/ path with the app).

import { useEffect, useState } from 'preact/hooks';
import { TABS, type Tab } from './infra/VrouterView';

export type Route =
  | { view: 'home' }
  | { view: 'signin' }
  | { view: 'types' }
  | { view: 'list'; type: string }
  | { view: 'detail'; type: string; uuid: string }
  | { view: 'new'; type: string }
  | { view: 'edit'; type: string; uuid: string }
  | { view: 'graph' }
  | { view: 'bgp' }
  | { view: 'vrouters' }
  | { view: 'vrouter'; host: string; tab: Tab; vrf: string }
  | { view: 'flows'; search: string }
  | { view: 'search'; q: string }
  | { view: 'missing'; path: string };

export function parse(loc: Location = window.location): Route {
  const path = loc.pathname.replace(/^\/ui\/?/, '').replace(/\/$/, '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(loc.search);
  switch (parts[0] ?? '') {
    case '':
      return { view: 'home' };
    case 'signin':
      return { view: 'signin' };
    case 'types':
      return { view: 'types' };
    case 'graph':
      return { view: 'graph' };
    case 'bgp':
      return { view: 'bgp' };
    case 'vrouters': {
      if (!parts[1]) return { view: 'vrouters' };
      const tab = TABS.find((t) => t === q.get('tab')) ?? 'ports';
      return { view: 'vrouter', host: parts[1], tab, vrf: q.get('vrf') ?? '' };
    }
    case 'flows':
      return { view: 'flows', search: loc.search };
    case 'search':
      return { view: 'search', q: q.get('q') ?? '' };
    case 'list':
      if (parts[1]) return { view: 'list', type: parts[1] };
      break;
    case 'obj':
      if (parts[1] && parts[2]) return { view: 'detail', type: parts[1], uuid: parts[2] };
      break;
    case 'new':
      if (parts[1]) return { view: 'new', type: parts[1] };
      break;
    case 'edit':
      if (parts[1] && parts[2]) return { view: 'edit', type: parts[1], uuid: parts[2] };
      break;
  }
  return { view: 'missing', path };
}

export const href = {
  home: () => '/ui/',
  types: () => '/ui/types',
  list: (type: string) => `/ui/list/${type}`,
  detail: (type: string, uuid: string) => `/ui/obj/${type}/${uuid}`,
  create: (type: string) => `/ui/new/${type}`,
  edit: (type: string, uuid: string) => `/ui/edit/${type}/${uuid}`,
  graph: () => '/ui/graph',
  bgp: () => '/ui/bgp',
  vrouters: () => '/ui/vrouters',
  vrouter: (host: string, tab = 'ports', vrf = '') =>
    `/ui/vrouters/${encodeURIComponent(host)}${tab !== 'ports' ? `?tab=${tab}` : ''}${vrf ? `${tab !== 'ports' ? '&' : '?'}vrf=${vrf}` : ''}`,
  flows: (query = '') => `/ui/flows${query}`,
  search: (q: string) => `/ui/search?q=${encodeURIComponent(q)}`,
  signin: () => '/ui/signin',
};

export function go(url: string) {
  history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** The current route, updated on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(parse());
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return route;
}

/** Links inside the app navigate without a page load; modified clicks behave as usual. */
export function interceptLinks() {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest?.('a');
    if (!a || a.target || !a.getAttribute('href')?.startsWith('/ui/')) return;
    e.preventDefault();
    go(a.getAttribute('href')!);
  });
}
