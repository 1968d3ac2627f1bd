/**
 * The page a share link opens (`#/share/<token>`), without signing in: asks the relay what the
 * link opens (GET /api/share with the token as bearer), then shows that one session in the
 * link's mode. An expired, revoked or unknown link, or an ended session, gets the relay's own
 * message on a card (`#share-error`).
 */
import type { ShareInfo } from '@rexec/shared';
import { errorText, shareInfo } from '../api.js';
import { h, type Disposables } from '../dom.js';
import { authCard } from './chrome.js';
import { renderTerminal } from './terminal.js';

export function renderSharedTerminal(root: HTMLElement, d: Disposables, shareToken: string): void {
  document.title = 'Shared terminal · Rexec';
  const waiting = h('p', { class: 'muted', id: 'share-loading' }, 'Opening the shared terminal…');
  root.append(waiting);
  shareInfo(shareToken)
    .then((info: ShareInfo) => {
      if (d.isDisposed) return;
      root.replaceChildren();
      renderTerminal(root, d, info.agentId, { share: { token: shareToken, sessionId: info.sessionId, mode: info.mode, label: info.label }, back: false });
      document.title = `${info.agentName} (shared${info.mode === 'ro' ? ', read-only' : ''}) · Rexec`;
    })
    .catch((err: unknown) => {
      if (d.isDisposed) return;
      root.replaceChildren(
        authCard(
          'This share link does not open',
          h('p', { class: 'form-error', id: 'share-error', role: 'alert' }, errorText(err)),
          h('p', { class: 'muted' }, 'Ask whoever sent it for a new link.'),
        ),
      );
    });
}
