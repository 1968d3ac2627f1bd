/** Sign-in form. Shows the relay's own error message (wrong password, rate limited, ...). */
import { ApiError, login } from '../api.js';
import { h, type Disposables } from '../dom.js';
import { navigate, routeAfterLogin } from '../nav.js';
import { setSession } from '../session.js';
import { authCard } from './chrome.js';
import { takeSignedOutNotice } from '../session-keeper.js';

export function renderLogin(root: HTMLElement, d: Disposables): void {
  const username = h('input', { id: 'username', name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', maxlength: 64 });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 1024 });
  const error = h('p', { id: 'login-error', class: 'form-error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  const submit = h('button', { id: 'login-submit', type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');

  const why = takeSignedOutNotice();
  const notice = why ? h('p', { id: 'login-notice', class: 'banner banner-warn', role: 'status', 'data-testid': 'signed-out' }, h('strong', {}, 'Signed out. '), why) : null;
  const form = h(
    'form',
    { id: 'login-form', class: 'form', novalidate: true },
    notice,
    h('label', { for: 'username' }, 'Username'),
    username,
    h('label', { for: 'password' }, 'Password'),
    password,
    error,
    submit,
  );

  const showError = (msg: string) => {
    error.textContent = msg;
    error.hidden = false;
  };

  d.listen(form, 'submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    error.hidden = true;
    const u = username.value.trim();
    const p = password.value;
    if (!u || !p) {
      showError('Enter your username and password.');
      (u ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    login(u, p)
      .then((res) => {
        if (d.isDisposed) return;
        setSession(res, p);
        navigate(res.user.mustChangePassword ? '/change-password' : routeAfterLogin(), { replace: true });
      })
      .catch((err: unknown) => {
        if (d.isDisposed) return;
        submit.disabled = false;
        submit.textContent = 'Sign in';
        showError(err instanceof ApiError ? err.message : 'Sign-in failed: ' + String(err));
        password.select();
        password.focus();
      });
  });

  root.append(authCard('Sign in', form));
  username.focus();
}
