// Sign-in with the API's own auth: the token the controller's --auth token-file knows, sent
// as X-Auth-Token on every call (kept for this tab only).

import { useState } from 'preact/hooks';
import { ApiError, message, probe, setToken } from '../api';
import { go, href } from '../route';

export function SignIn({ onDone, needed }: { onDone: () => void; needed: boolean }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  return (
    <main id="main" class="signin">
      <h1>Sign in to Cirrus</h1>
      {!needed && <p>This controller runs without authentication (--auth none): every caller is admin.</p>}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setToken(value.trim());
          try {
            await probe();
            setError('');
            if (window.location.pathname === href.signin()) go(href.home());
            onDone();
          } catch (err) {
            setToken(null);
            setError(err instanceof ApiError ? err.message : message(err));
          }
        }}
      >
        <label for="token">API token (X-Auth-Token)</label>
        <input id="token" type="password" autocomplete="current-password" value={value} required
          onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit">Sign in</button>
        {error && <p role="alert" class="error">{error}</p>}
      </form>
    </main>
  );
}
