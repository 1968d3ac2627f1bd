/** Page chrome shared by the signed-in views: brand, user, sign-out. */
import { h, type Child } from '../dom.js';
import { navigate } from '../nav.js';
import { clearSession, getSession } from '../session.js';

export function brand(): HTMLElement {
  return h('a', { class: 'brand', href: '#/agents', 'aria-label': 'Rexec home' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '>_'), 'Rexec');
}

export function logout(): void {
  clearSession();
  navigate('/login', { replace: true });
}

export function userMenu(): HTMLElement {
  const s = getSession();
  return h(
    'div',
    { class: 'user-menu' },
    s ? h('span', { class: 'user-name', 'data-testid': 'current-user', title: `role: ${s.user.role}` }, s.user.username) : null,
    h('a', { class: 'link', href: '#/change-password', 'data-testid': 'change-password-link' }, 'Change password'),
    h('button', { type: 'button', class: 'btn btn-small', id: 'logout', 'data-testid': 'logout', onclick: logout }, 'Sign out'),
  );
}

export function appHeader(...middle: Child[]): HTMLElement {
  return h('header', { class: 'app-header' }, brand(), h('div', { class: 'header-middle' }, ...middle), userMenu());
}

/** A centered card for the auth pages. */
export function authCard(title: string, ...children: Child[]): HTMLElement {
  return h('main', { class: 'auth-page' }, h('section', { class: 'card auth-card' }, h('div', { class: 'auth-brand' }, brand()), h('h1', {}, title), ...children));
}
