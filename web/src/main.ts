/**
 * Entry point: a hash router that mounts one view at a time. Each view gets a Disposables it
 * must register its timers, sockets and listeners with; switching routes disposes it.
 */
import './styles.css';
import { homeRoute } from './api.js';
import { Disposables } from './dom.js';
import { navigate, parseRoute, type Route } from './nav.js';
import { getSession } from './session.js';
import { renderAgents } from './views/agents.js';
import { renderChangePassword } from './views/change-password.js';
import { renderLogin } from './views/login.js';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');
const app: HTMLElement = root;

let current: Disposables | null = null;

function mount(route: Route): void {
  current?.dispose();
  const d = new Disposables();
  current = d;
  app.replaceChildren();
  document.body.dataset.view = route.name;

  switch (route.name) {
    case 'login':
      renderLogin(app, d);
      break;
    case 'change-password':
      renderChangePassword(app, d);
      break;
    case 'agents':
      renderAgents(app, d);
      break;
    case 'terminal': {
      // xterm.js is the bulk of the bundle: load it only when a terminal opens.
      const agentId = route.params.agentId ?? '';
      import('./views/terminal.js')
        .then(({ renderTerminal }) => {
          if (!d.isDisposed) renderTerminal(app, d, agentId);
        })
        .catch((err: unknown) => {
          if (!d.isDisposed) app.textContent = `Could not load the terminal: ${String(err)}`;
        });
      break;
    }
    case 'not-found':
      break;
  }
}

/** Sends the user where they may be: login first, then a forced password change, then the app. */
function guard(route: Route): string | null {
  const s = getSession();
  if (route.name === 'not-found') return s ? homeRoute() : '/login';
  if (route.name === 'login') return s && !s.user.mustChangePassword ? homeRoute() : null;
  if (!s) return '/login';
  if (route.name === 'change-password') return null;
  if (s.user.mustChangePassword) return '/change-password';
  return null;
}

function onRoute(): void {
  const route = parseRoute(location.hash);
  const redirect = guard(route);
  if (redirect !== null && redirect !== route.path) {
    navigate(redirect, { replace: true, next: route.name === 'terminal' ? route.path : undefined });
    return;
  }
  mount(route);
}

window.addEventListener('hashchange', onRoute);
onRoute();
