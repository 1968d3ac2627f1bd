/**
 * The signed-in frame: a sidebar with the pages (keyboard: g then a letter), the theme toggle,
 * the user and sign-out; the page itself fills the rest. Auth pages render without it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { navigate, type RouteName } from '../nav.js';
import { clearSession, getSession } from '../session.js';
import { nextThemePref, onThemeChange, setThemePref, themePref, type ThemePref } from '../theme.js';
import { Icon, Toasts } from './ui.js';
import { LiveIndicator, useLiveEvents } from './live.js';
import { restartEvents } from '../events.js';
import { clearSignedOutNotice } from '../session-keeper.js';

interface NavItem {
  path: string;
  label: string;
  icon: string;
  /** Routes that light this item. */
  routes: RouteName[];
  /** `g` then this key goes there. */
  key: string;
}

export const NAV: NavItem[] = [
  { path: '/dashboard', label: 'Dashboard', icon: 'dashboard', routes: ['dashboard'], key: 'd' },
  { path: '/agents', label: 'Agents', icon: 'agents', routes: ['agents', 'agent'], key: 'a' },
  { path: '/terminals', label: 'Terminals', icon: 'terminal', routes: ['terminals', 'terminal'], key: 't' },
  { path: '/run', label: 'Run', icon: 'run', routes: ['run'], key: 'r' },
  { path: '/prompts', label: 'Saved prompts', icon: 'prompts', routes: ['prompts'], key: 'p' },
  { path: '/schedules', label: 'Schedules', icon: 'schedules', routes: ['schedules'], key: 's' },
  { path: '/history', label: 'History', icon: 'history', routes: ['history', 'run-detail'], key: 'h' },
  { path: '/analytics', label: 'Analytics', icon: 'analytics', routes: ['analytics'], key: 'n' },
  { path: '/settings', label: 'Settings', icon: 'settings', routes: ['settings', 'profile'], key: 'e' },
  { path: '/admin', label: 'Admin', icon: 'admin', routes: ['admin'], key: 'm' },
];

export function logout(): void {
  clearSession();
  clearSignedOutNotice();
  restartEvents();
  navigate('/login', { replace: true });
}

const THEME_LABEL: Record<ThemePref, string> = { light: 'Light theme', dark: 'Dark theme', system: 'System theme' };
const THEME_ICON: Record<ThemePref, string> = { light: 'sun', dark: 'moon', system: 'system' };

function ThemeToggle() {
  const [pref, setPref] = useState<ThemePref>(themePref());
  useEffect(() => onThemeChange(() => setPref(themePref())), []);
  const next = nextThemePref(pref);
  return (
    <button
      type="button"
      id="theme-toggle"
      class="nav-link nav-button"
      data-theme-pref={pref}
      title={`${THEME_LABEL[pref]} — click for ${THEME_LABEL[next].toLowerCase()}`}
      onClick={() => setThemePref(next)}
    >
      <Icon name={THEME_ICON[pref]} size={18} />
      <span class="nav-label">{THEME_LABEL[pref]}</span>
    </button>
  );
}

/** `g` then a letter jumps to a page; `?` lists the keys (in the sidebar's titles). */
function useGoKeys(): void {
  useEffect(() => {
    let armed = 0;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || !t || t.closest('input, textarea, select, [contenteditable], .xterm')) return;
      if (e.key === 'g') {
        armed = Date.now();
        return;
      }
      if (armed && Date.now() - armed < 1500) {
        const item = NAV.find((n) => n.key === e.key);
        armed = 0;
        if (item) {
          e.preventDefault();
          navigate(item.path);
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

export function Shell({ route, children, fill }: { route: RouteName; children: ComponentChildren; fill?: boolean }) {
  const s = getSession();
  useGoKeys();
  // Keeps the shared event stream open while signed in, so the sidebar shows its state on every page.
  useLiveEvents([], () => {});
  return (
    <div class="shell">
      <nav class="sidebar" aria-label="Main">
        <a class="brand" href="#/dashboard" aria-label="Rexec home">
          <span class="brand-mark" aria-hidden="true">
            &gt;_
          </span>
          <span class="nav-label">Rexec</span>
        </a>
        <ul class="nav-list">
          {NAV.map((n) => (
            <li key={n.path}>
              <a
                class={`nav-link ${n.routes.includes(route) ? 'active' : ''}`}
                href={`#${n.path}`}
                data-nav={n.path.slice(1)}
                aria-current={n.routes.includes(route) ? 'page' : undefined}
                title={`${n.label} (g ${n.key})`}
              >
                <Icon name={n.icon} size={18} />
                <span class="nav-label">{n.label}</span>
              </a>
            </li>
          ))}
        </ul>
        <div class="sidebar-foot">
          <LiveIndicator />
          <ThemeToggle />
          {s ? (
            <a class="nav-link" href="#/change-password" data-testid="change-password-link" title={`Signed in as ${s.user.username} (${s.user.role}) — change password`}>
              <span class="avatar" aria-hidden="true">
                {s.user.username.slice(0, 1).toUpperCase()}
              </span>
              <span class="nav-label user-name" data-testid="current-user">
                {s.user.username}
                <small>{s.user.role}</small>
              </span>
            </a>
          ) : null}
          <button type="button" class="nav-link nav-button" id="logout" data-testid="logout" onClick={logout}>
            <Icon name="logout" size={18} />
            <span class="nav-label">Sign out</span>
          </button>
        </div>
      </nav>
      <main class={`main ${fill ? 'main-fill' : ''}`} id="main">
        {children}
      </main>
      <Toasts />
    </div>
  );
}
