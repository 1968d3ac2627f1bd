/**
 * "Share" in the terminal toolbar: make a link to this session (read-only or read-write, with an
 * expiry and a label), copy it, and see and revoke the active links. Only the session's owner or
 * an admin gets the button (the relay checks it again).
 *
 * The link is `<origin>/#/share/<token>`: the token sits in the fragment, which the browser never
 * sends to a server, and it is shown once.
 *
 * Test hooks: `#terminal-share` (button), `#share-panel`, `#share-mode`, `#share-expiry`,
 * `#share-label`, `#share-create`, `#share-url`, `#share-copy`, `#share-list` with
 * `[data-share]` rows and `[data-action=revoke-share]`, `#share-error`.
 */
import type { ShareView, ViewerMode } from '@rexec/shared';
import { createShare, errorText, listShares, revokeShare } from '../api.js';
import { h, svgIcon, type Disposables } from '../dom.js';

const EXPIRIES: [number, string][] = [
  [900, '15 minutes'],
  [3600, '1 hour'],
  [8 * 3600, '8 hours'],
  [24 * 3600, '1 day'],
  [7 * 24 * 3600, '7 days'],
];

export interface SharePanel {
  button: HTMLButtonElement;
  panel: HTMLElement;
  close(): void;
}

export function shareLinkFor(token: string, loc: Location = location): string {
  return `${loc.origin}/#/share/${token}`;
}

async function copyText(text: string, fallback: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    fallback.select();
    return document.execCommand('copy');
  }
}

function expiresIn(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  if (ms <= 0) return 'expired';
  const m = Math.round(ms / 60_000);
  if (m < 60) return `${m} min left`;
  const hrs = Math.round(m / 60);
  return hrs < 48 ? `${hrs} h left` : `${Math.round(hrs / 24)} days left`;
}

export function sharePanel(sessionId: () => string | null, d: Disposables, withIds: boolean): SharePanel {
  const id = (x: string) => (withIds ? x : undefined);
  const button = h('button', { type: 'button', class: 'btn btn-small', id: id('terminal-share'), title: 'Share this terminal with a link', 'aria-haspopup': 'dialog', hidden: true }, svgIcon('M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7'), ' Share');
  const mode = h(
    'select',
    { id: id('share-mode'), 'aria-label': 'Access' },
    h('option', { value: 'ro', selected: true }, 'Read-only (watch)'),
    h('option', { value: 'rw' }, 'Read-write (can type)'),
  );
  const expiry = h('select', { id: id('share-expiry'), 'aria-label': 'Expires after' }, ...EXPIRIES.map(([s, label]) => h('option', { value: String(s), selected: s === 3600 }, label)));
  const label = h('input', { type: 'text', id: id('share-label'), maxlength: '64', placeholder: 'Label (optional), e.g. "for Sam"', 'aria-label': 'Label' });
  const create = h('button', { type: 'button', class: 'btn btn-small btn-primary', id: id('share-create') }, 'Create link');
  const url = h('input', { type: 'text', id: id('share-url'), readonly: true, class: 'share-url', 'aria-label': 'Share link' });
  const copy = h('button', { type: 'button', class: 'btn btn-small', id: id('share-copy') }, 'Copy');
  const copied = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const created = h('div', { class: 'share-created', hidden: true }, h('div', { class: 'share-url-row' }, url, copy), h('div', { class: 'muted small' }, 'Shown once. Anyone with this link can ', h('span', { class: 'share-created-mode' }), ' this terminal until it expires or you revoke it. ', copied));
  const error = h('div', { class: 'form-error', id: id('share-error'), role: 'alert', hidden: true });
  const list = h('ul', { class: 'share-list', id: id('share-list') });
  const panel = h(
    'div',
    { class: 'share-panel', id: id('share-panel'), role: 'dialog', 'aria-label': 'Share this terminal', hidden: true },
    h('h3', {}, 'Share this terminal'),
    h('div', { class: 'share-form' }, mode, expiry, label, create),
    created,
    error,
    h('h4', {}, 'Active links'),
    list,
  );

  const showError = (err: unknown) => {
    error.textContent = errorText(err);
    error.hidden = false;
  };
  const render = (shares: ShareView[]) => {
    const active = shares.filter((s) => s.active);
    list.replaceChildren(
      ...(active.length === 0
        ? [h('li', { class: 'muted small' }, 'No active links.')]
        : active.map((s) =>
            h(
              'li',
              { 'data-share': s.id, 'data-mode': s.mode },
              h('span', { class: 'share-name' }, s.label || s.prefix + '…'),
              h('span', { class: 'chip' }, s.mode === 'ro' ? 'read-only' : 'read-write'),
              h('span', { class: 'muted small' }, `${expiresIn(s.expiresAt)}${s.connected ? ` · ${s.connected} connected` : ''}`),
              h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-action': 'revoke-share', onclick: () => void revoke(s.id) }, 'Revoke'),
            ),
          )),
    );
  };
  const refresh = async () => {
    const sid = sessionId();
    if (!sid) return;
    try {
      render(await listShares(sid));
    } catch (err) {
      showError(err);
    }
  };
  const revoke = async (shareId: string) => {
    const sid = sessionId();
    if (!sid) return;
    try {
      await revokeShare(sid, shareId);
      await refresh();
    } catch (err) {
      showError(err);
    }
  };

  d.listen(create, 'click', async () => {
    const sid = sessionId();
    if (!sid) return;
    error.hidden = true;
    create.disabled = true;
    try {
      const res = await createShare(sid, { mode: mode.value as ViewerMode, expiresInSeconds: Number(expiry.value), label: label.value.trim() });
      url.value = shareLinkFor(res.token);
      (created.querySelector('.share-created-mode') as HTMLElement).textContent = res.share.mode === 'ro' ? 'watch' : 'watch and type into';
      created.hidden = false;
      copied.textContent = (await copyText(url.value, url)) ? 'Copied to the clipboard.' : '';
      label.value = '';
      await refresh();
    } catch (err) {
      showError(err);
    } finally {
      create.disabled = false;
    }
  });
  d.listen(copy, 'click', async () => {
    copied.textContent = (await copyText(url.value, url)) ? 'Copied to the clipboard.' : 'Select the link and copy it.';
  });
  const close = () => {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  };
  d.listen(button, 'click', () => {
    if (!panel.hidden) return close();
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    created.hidden = true;
    error.hidden = true;
    void refresh();
  });
  // Escape or a click anywhere else closes it.
  d.listen(document, 'keydown', (ev: Event) => {
    if ((ev as KeyboardEvent).key === 'Escape' && !panel.hidden) close();
  });
  d.listen(document, 'pointerdown', (ev: Event) => {
    const t = ev.target as Node | null;
    if (!panel.hidden && t && !panel.contains(t) && !button.contains(t)) close();
  });
  return { button, panel, close };
}
