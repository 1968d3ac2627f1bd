/**
 * Entry point: the theme, then a hash router that renders one page inside the app shell (or an
 * auth page on its own). Route guards: login first, then a forced password change, then the app.
 */
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { homeRoute } from './api.js';
import { Legacy } from './components/legacy.js';
import { Shell } from './components/shell.js';
import { Empty } from './components/ui.js';
import { navigate, parseRoute, type Route } from './nav.js';
import { AdminPage } from './pages/admin.js';
import { AgentDetailPage } from './pages/agent-detail.js';
import { AnalyticsPage } from './pages/analytics.js';
import { DashboardPage } from './pages/dashboard.js';
import { HistoryPage } from './pages/history.js';
import { ProfileEditorPage } from './pages/profile-editor.js';
import { PromptsPage } from './pages/prompts.js';
import { RunDetailPage } from './pages/run-detail.js';
import { RunPage } from './pages/run.js';
import { SchedulesPage } from './pages/schedules.js';
import { SettingsPage } from './pages/settings.js';
import { TerminalsPage } from './pages/terminals.js';
import { getSession } from './session.js';
import { initTheme } from './theme.js';
import { startSessionKeeper } from './session-keeper.js';
import { renderAgents } from './views/agents.js';
import { renderChangePassword } from './views/change-password.js';
import { renderLogin } from './views/login.js';

/** Sends the user where they may be: login first, then a forced password change, then the app. */
function guard(route: Route): string | null {
  const s = getSession();
  if (route.name === 'share') return null; // a share link needs no account
  if (route.name === 'not-found') return s ? null : '/login';
  if (route.name === 'login') return s && !s.user.mustChangePassword ? homeRoute() : null;
  if (!s) return '/login';
  if (route.name === 'change-password') return null;
  if (s.user.mustChangePassword) return '/change-password';
  return null;
}

function terminalView(agentId: string) {
  // xterm.js is the bulk of the bundle: load it only when a terminal opens.
  return (root: HTMLElement, d: import('./dom.js').Disposables) => {
    import('./views/terminal.js')
      .then(({ renderTerminal }) => {
        if (!d.isDisposed) renderTerminal(root, d, agentId);
      })
      .catch((err: unknown) => {
        if (!d.isDisposed) root.textContent = `Could not load the terminal: ${String(err)}`;
      });
  };
}

function sharedTerminalView(shareToken: string) {
  return (root: HTMLElement, d: import('./dom.js').Disposables) => {
    import('./views/shared-terminal.js')
      .then(({ renderSharedTerminal }) => {
        if (!d.isDisposed) renderSharedTerminal(root, d, shareToken);
      })
      .catch((err: unknown) => {
        if (!d.isDisposed) root.textContent = `Could not load the terminal: ${String(err)}`;
      });
  };
}

function Page({ route }: { route: Route }) {
  const p = route.params;
  switch (route.name) {
    case 'login':
      return <Legacy key="login" render={renderLogin} />;
    case 'change-password':
      return <Legacy key="change-password" render={renderChangePassword} />;
    case 'share':
      return <Legacy key={`share-${p.token}`} render={sharedTerminalView(p.token ?? '')} class="legacy fill share-page" deps={[p.token]} />;
    default:
      break;
  }
  let body;
  let fill = false;
  switch (route.name) {
    case 'dashboard':
      body = <DashboardPage />;
      break;
    case 'agents':
      body = <Legacy key="agents" render={renderAgents} class="legacy page" />;
      break;
    case 'agent':
      body = <AgentDetailPage key={p.agentId} agentId={p.agentId ?? ''} />;
      break;
    case 'terminal':
      fill = true;
      body = <Legacy key={`terminal-${p.agentId}`} render={terminalView(p.agentId ?? '')} class="legacy fill" deps={[p.agentId]} />;
      break;
    case 'terminals':
      fill = true;
      body = <TerminalsPage query={route.query} />;
      break;
    case 'run':
      fill = true;
      body = <RunPage key={route.query.toString()} query={route.query} />;
      break;
    case 'run-detail':
      body = <RunDetailPage key={p.runId} runId={p.runId ?? ''} />;
      break;
    case 'prompts':
      body = <PromptsPage />;
      break;
    case 'schedules':
      body = <SchedulesPage key={route.query.get('prompt') ?? ''} query={route.query} />;
      break;
    case 'history':
      body = <HistoryPage query={route.query} />;
      break;
    case 'settings':
      body = <SettingsPage />;
      break;
    case 'profile':
      body = <ProfileEditorPage key={p.profileId} profileId={p.profileId ?? 'new'} query={route.query} />;
      break;
    case 'analytics':
      body = <AnalyticsPage />;
      break;
    case 'admin':
      body = <AdminPage />;
      break;
    default:
      body = (
        <div class="page">
          <Empty title="Page not found" action={<a class="btn btn-primary" href="#/dashboard">Go to the dashboard</a>}>
            There is nothing at <code>{route.path}</code>.
          </Empty>
        </div>
      );
  }
  return (
    <Shell route={route.name} fill={fill}>
      {body}
    </Shell>
  );
}

function App() {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => {
      const full = location.hash.replace(/^#/, '') || '/';
      if (full === '/') {
        navigate('/dashboard', { replace: true });
        return;
      }
      const r = parseRoute(location.hash);
      const redirect = guard(r);
      if (redirect !== null && redirect !== r.path) {
        navigate(redirect, { replace: true, next: r.name !== 'login' && r.name !== 'change-password' ? full : undefined });
        return;
      }
      setRoute(r);
      document.body.dataset.view = r.name;
    };
    window.addEventListener('hashchange', onHash);
    onHash();
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  if (guard(route) !== null && guard(route) !== route.path) return null;
  return <Page route={route} />;
}

initTheme();
// A share link may arrive as /share/<token> (path form): move the token into the fragment at once,
// so it is not sent again with later requests, and route it like the hash form.
{
  const m = /^\/share\/(rxs_[A-Za-z0-9_-]+)\/?$/.exec(location.pathname);
  if (m) history.replaceState(null, '', `/#/share/${m[1]}`);
}
startSessionKeeper();
const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');
render(<App />, root);
