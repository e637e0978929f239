// The Cirrus console: loads the schema, finds out whether the API wants a token, and shows
// the view the URL names.

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, message, probe, token } from './api';
import { loadSchema } from './schema';
import { href, interceptLinks, useRoute, type Route } from './route';
import { Shell } from './views/Shell';
import { SignIn } from './views/SignIn';
import { Home } from './views/Home';
import { TypesView } from './views/TypesView';
import { ListView } from './views/ListView';
import { DetailView } from './views/DetailView';
import { SearchView } from './views/SearchView';
import { FormView } from './forms/FormView';
import { GraphView } from './graph/GraphView';
import { BgpView } from './views/BgpView';
import { VroutersView } from './infra/VroutersView';
import { VrouterView } from './infra/VrouterView';
import { FlowsView } from './flows/FlowsView';

type Boot = { state: 'loading' } | { state: 'ready' } | { state: 'signin' } | { state: 'error'; text: string };

function App() {
  const route = useRoute();
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const check = async () => {
    try {
      await loadSchema();
      await probe();
      setBoot({ state: 'ready' });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setBoot({ state: 'signin' });
      else setBoot({ state: 'error', text: message(e) });
    }
  };
  useEffect(() => {
    check();
  }, [token()]);
  useEffect(() => {
    const on = () => setBoot({ state: 'signin' });
    addEventListener('cirrus-unauthorized', on);
    return () => removeEventListener('cirrus-unauthorized', on);
  }, []);

  if (boot.state === 'loading') return <p role="status">Loading…</p>;
  if (boot.state === 'error')
    return (
      <main id="main">
        <h1>Cirrus console</h1>
        <p role="alert">The API did not answer: {boot.text}</p>
      </main>
    );
  if (boot.state === 'signin' || route.view === 'signin')
    return <SignIn onDone={() => { setBoot({ state: 'loading' }); check(); }} needed={boot.state === 'signin'} />;
  return <Shell route={route}>{view(route)}</Shell>;
}

function view(route: Route) {
  switch (route.view) {
    case 'home':
      return <Home />;
    case 'types':
      return <TypesView />;
    case 'list':
      return <ListView key={route.type} type={route.type} />;
    case 'detail':
      return <DetailView key={route.uuid} type={route.type} uuid={route.uuid} />;
    case 'new':
      return <FormView key={`new-${route.type}`} type={route.type} />;
    case 'edit':
      return <FormView key={route.uuid} type={route.type} uuid={route.uuid} />;
    case 'graph':
      return <GraphView />;
    case 'bgp':
      return <BgpView />;
    case 'vrouters':
      return <VroutersView />;
    case 'vrouter':
      return <VrouterView key={`${route.host}-${route.tab}`} host={route.host} tab={route.tab} vrf={route.vrf} />;
    case 'flows':
      return <FlowsView search={route.search} />;
    case 'search':
      return <SearchView key={route.q} q={route.q} />;
    default:
      return (
        <>
          <h1>Not found</h1>
          <p>
            The console has no page at /ui/{route.view === 'missing' ? route.path : ''}. <a href={href.home()}>Overview</a>
          </p>
        </>
      );
  }
}

interceptLinks();
render(<App />, document.getElementById('app')!);
