/**
 * Hash routes (`#/path?query`). Hash routing keeps the relay's static serving trivial (one
 * index.html) and never sends the route to the server.
 *
 *   /login  /change-password  /dashboard  /agents  /agents/{id}  /terminal/{agentId}  /terminals
 *   /run  /runs/{id}  /prompts  /schedules  /history  /settings  /settings/profiles/{id|new}
 *   /analytics  /admin  /share/{token} (a share link: no sign-in; the fragment never reaches a server)
 */

const NEXT_KEY = 'rexec.next';

export type RouteName =
  | 'login'
  | 'change-password'
  | 'dashboard'
  | 'agents'
  | 'agent'
  | 'terminal'
  | 'terminals'
  | 'run'
  | 'run-detail'
  | 'prompts'
  | 'schedules'
  | 'history'
  | 'settings'
  | 'profile'
  | 'analytics'
  | 'admin'
  | 'share'
  | 'not-found';

export interface Route {
  name: RouteName;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The path without the query. */
  path: string;
}

const SIMPLE: Record<string, RouteName> = {
  login: 'login',
  'change-password': 'change-password',
  dashboard: 'dashboard',
  agents: 'agents',
  terminals: 'terminals',
  run: 'run',
  prompts: 'prompts',
  schedules: 'schedules',
  history: 'history',
  settings: 'settings',
  analytics: 'analytics',
  admin: 'admin',
};

export function parseRoute(hash: string): Route {
  const full = hash.replace(/^#/, '') || '/';
  const qi = full.indexOf('?');
  const path = qi >= 0 ? full.slice(0, qi) || '/' : full;
  const query = new URLSearchParams(qi >= 0 ? full.slice(qi + 1) : '');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [first, second, third] = parts;
  const r = (name: RouteName, params: Record<string, string> = {}): Route => ({ name, params, query, path });
  if (parts.length === 0) return { name: 'dashboard', params: {}, query, path: '/dashboard' };
  if (parts.length === 1 && first && SIMPLE[first]) return r(SIMPLE[first]);
  if (first === 'terminal' && second && parts.length === 2) return r('terminal', { agentId: second });
  if (first === 'share' && second && parts.length === 2) return r('share', { token: second });
  if (first === 'agents' && second && parts.length === 2) return r('agent', { agentId: second });
  if (first === 'runs' && second && parts.length === 2) return r('run-detail', { runId: second });
  if (first === 'settings' && second === 'profiles' && third && parts.length === 3) return r('profile', { profileId: third });
  return r('not-found');
}

export function terminalRoute(agentId: string): string {
  return `/terminal/${encodeURIComponent(agentId)}`;
}

export function href(path: string, query?: Record<string, string | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** Routes worth returning to after a login. */
function resumable(r: Route): boolean {
  return r.name !== 'login' && r.name !== 'change-password' && r.name !== 'not-found' && r.name !== 'share';
}

/**
 * Go to a route. `next` remembers where the user was heading so the login page can return
 * there (e.g. a bookmarked terminal).
 */
export function navigate(path: string, opts: { replace?: boolean; next?: string } = {}): void {
  if (opts.next !== undefined) {
    const r = parseRoute(opts.next);
    if (resumable(r)) sessionStorage.setItem(NEXT_KEY, opts.next);
  }
  const hash = path.startsWith('#') ? path : `#${path}`;
  if (location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    return;
  }
  if (opts.replace) location.replace(hash);
  else location.hash = hash;
}

/** The remembered destination (once), or the dashboard. */
export function routeAfterLogin(): string {
  const next = sessionStorage.getItem(NEXT_KEY);
  sessionStorage.removeItem(NEXT_KEY);
  if (next && resumable(parseRoute(next))) return next;
  return '/dashboard';
}
