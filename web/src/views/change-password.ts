/**
 * Change password. Forced right after a login with a one-time password (the relay refuses other
 * calls until it is done); also reachable from the header. When forced, the password just typed
 * at login is reused as the current password, so the user only picks the new one.
 */
import { MIN_PASSWORD_LENGTH } from '@rexec/shared';
import { ApiError, changePassword } from '../api.js';
import { h, type Disposables } from '../dom.js';
import { navigate, routeAfterLogin } from '../nav.js';
import { getSession, rememberedLoginPassword, setSession } from '../session.js';
import { authCard, logout } from './chrome.js';

export function renderChangePassword(root: HTMLElement, d: Disposables): void {
  const session = getSession();
  const forced = session?.user.mustChangePassword ?? false;
  const remembered = forced ? rememberedLoginPassword() : null;

  const current = h('input', { id: 'current-password', name: 'current-password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const next = h('input', { id: 'new-password', name: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: MIN_PASSWORD_LENGTH, maxlength: 1024, 'aria-describedby': 'new-password-hint' });
  const confirm = h('input', { id: 'confirm-password', name: 'confirm-password', type: 'password', autocomplete: 'new-password', required: true, maxlength: 1024 });
  const error = h('p', { id: 'change-error', class: 'form-error', role: 'alert', 'data-testid': 'change-error', hidden: true });
  const submit = h('button', { id: 'change-submit', type: 'submit', class: 'btn btn-primary btn-block' }, 'Set new password');

  const form = h(
    'form',
    { id: 'change-password-form', class: 'form', novalidate: true },
    // A hidden username helps password managers file the new password under the right account.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: session?.user.username ?? '', hidden: true, readonly: true, tabindex: -1 }),
    remembered === null ? h('label', { for: 'current-password' }, 'Current password') : null,
    remembered === null ? current : null,
    h('label', { for: 'new-password' }, 'New password'),
    next,
    h('p', { id: 'new-password-hint', class: 'hint' }, `At least ${MIN_PASSWORD_LENGTH} characters.`),
    h('label', { for: 'confirm-password' }, 'Repeat new password'),
    confirm,
    error,
    submit,
  );

  const showError = (msg: string, focus: HTMLInputElement) => {
    error.textContent = msg;
    error.hidden = false;
    focus.focus();
  };

  d.listen(form, 'submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    error.hidden = true;
    const currentValue = remembered ?? current.value;
    if (!currentValue) return showError('Enter your current password.', current);
    if (next.value.length < MIN_PASSWORD_LENGTH) return showError(`The new password needs at least ${MIN_PASSWORD_LENGTH} characters.`, next);
    if (next.value !== confirm.value) return showError('The two new passwords differ.', confirm);
    if (next.value === currentValue) return showError('Choose a password different from the current one.', next);

    submit.disabled = true;
    submit.textContent = 'Saving…';
    changePassword(currentValue, next.value)
      .then((res) => {
        if (d.isDisposed) return;
        setSession(res);
        navigate(routeAfterLogin(), { replace: true });
      })
      .catch((err: unknown) => {
        if (d.isDisposed) return;
        submit.disabled = false;
        submit.textContent = 'Set new password';
        showError(err instanceof ApiError ? err.message : 'Could not change the password: ' + String(err), remembered === null ? current : next);
      });
  });

  const intro = forced
    ? h('p', { class: 'notice', 'data-testid': 'password-change-required' }, 'This account signed in with a one-time password. Choose a new password to continue.')
    : null;
  const footer = h(
    'p',
    { class: 'form-footer' },
    forced
      ? h('button', { type: 'button', class: 'link-button', onclick: logout }, 'Sign out')
      : h('a', { class: 'link', href: '#/dashboard' }, 'Cancel'),
  );

  root.append(authCard(forced ? 'Set a new password' : 'Change password', intro, form, footer));
  (remembered === null ? current : next).focus();
}
