// Polling a JSON endpoint while a view is shown: the last answer, the error (a 404 said in
// the view's own words), and the time of the last answer.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, message } from '../api';

/** hh:mm:ss UTC: always as wide, so screenshots keep their layout. */
export function clock(d: Date): string {
  return `${d.toISOString().slice(11, 19)} UTC`;
}

export function usePoll<T>(path: string | null, everyMs: number, notFound?: string) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [at, setAt] = useState('');
  useEffect(() => {
    if (!path) return;
    let stop = false;
    let timer = 0;
    setData(null);
    const poll = async () => {
      try {
        const r = await call('GET', path);
        if (stop) return;
        setData(r);
        setError('');
        setAt(clock(new Date()));
      } catch (e) {
        if (stop) return;
        setError(e instanceof ApiError && e.status === 404 && notFound ? notFound : message(e));
      }
      if (!stop && everyMs > 0) timer = window.setTimeout(poll, everyMs);
    };
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [path]);
  return { data, error, at };
}
