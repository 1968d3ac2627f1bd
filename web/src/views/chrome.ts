/** Page chrome of the auth pages: brand and the centred card. (The app's frame is components/shell.tsx.) */
import { h, type Child } from '../dom.js';
import { navigate } from '../nav.js';
import { clearSession, getSession } from '../session.js';

export function brand(): HTMLElement {
  return h('a', { class: 'brand', href: '#/dashboard', 'aria-label': 'Rexec home' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '>_'), 'Rexec');
}

export function logout(): void {
  clearSession();
  navigate('/login', { replace: true });
}

/** A centered card for the auth pages. */
export function authCard(title: string, ...children: Child[]): HTMLElement {
  return h('main', { class: 'auth-page' }, h('section', { class: 'card auth-card' }, h('div', { class: 'auth-brand' }, brand()), h('h1', {}, title), ...children));
}
