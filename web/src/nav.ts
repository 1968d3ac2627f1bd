/**
 * Hash routes: `#/login`, `#/change-password`, `#/agents`, `#/terminal/{agentId}`.
 * Hash routing keeps the relay's static serving trivial (one index.html) and never sends the
 * route to the server.
 */

const NEXT_KEY = 'rexec.next';

export interface Route {
  name: 'login' | 'change-password' | 'agents' | 'terminal' | 'not-found';
  params: Record<string, string>;
  path: string;
}

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [first, second] = parts;
  if (parts.length === 0) return { name: 'agents', params: {}, path: '/agents' };
  if (first === 'login' && parts.length === 1) return { name: 'login', params: {}, path };
  if (first === 'change-password' && parts.length === 1) return { name: 'change-password', params: {}, path };
  if (first === 'agents' && parts.length === 1) return { name: 'agents', params: {}, path };
  if (first === 'terminal' && second && parts.length === 2) return { name: 'terminal', params: { agentId: second }, path };
  return { name: 'not-found', params: {}, path };
}

export function terminalRoute(agentId: string): string {
  return `/terminal/${encodeURIComponent(agentId)}`;
}

/**
 * Go to a route. `next` remembers where the user was heading so the login page can return
 * there (e.g. a bookmarked terminal).
 */
export function navigate(path: string, opts: { replace?: boolean; next?: string } = {}): void {
  if (opts.next !== undefined) {
    const r = parseRoute(opts.next);
    if (r.name === 'agents' || r.name === 'terminal') sessionStorage.setItem(NEXT_KEY, r.path);
  }
  const hash = `#${path}`;
  if (location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    return;
  }
  if (opts.replace) location.replace(hash);
  else location.hash = hash;
}

/** The remembered destination (once), or the agents list. */
export function routeAfterLogin(): string {
  const next = sessionStorage.getItem(NEXT_KEY);
  sessionStorage.removeItem(NEXT_KEY);
  if (next) {
    const r = parseRoute(next);
    if (r.name === 'agents' || r.name === 'terminal') return r.path;
  }
  return '/agents';
}
