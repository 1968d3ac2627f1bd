/**
 * Who is attached to a terminal session: one chip per viewer in the terminal toolbar (name,
 * read-only or read-write, "you"), from the relay's `viewers` messages.
 *
 * Test hooks: `#terminal-viewers`, `[data-viewer]` (data-mode, data-you, data-owner, data-size-owner).
 */
import type { ViewersMessage } from '@rexec/shared';
import { h, svgIcon } from '../dom.js';

const EYE = 'M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12zM12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z';
const PEN = 'M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z';

export interface ViewerChips {
  el: HTMLElement;
  update(viewers: ViewersMessage['viewers']): void;
  clear(): void;
}

function since(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function viewerChips(withIds: boolean): ViewerChips {
  const el = h('span', { class: 'viewer-chips', id: withIds ? 'terminal-viewers' : undefined, 'aria-label': 'Viewers attached', role: 'list' });
  return {
    el,
    update(viewers) {
      el.replaceChildren(
        ...viewers.map((v) => {
          const mode = v.mode === 'ro' ? 'read-only' : 'read-write';
          const facts = [mode, v.owner ? 'opened the session' : '', v.sizeOwner ? 'sets the size' : '', `since ${since(v.since)}`].filter(Boolean).join(' · ');
          return h(
            'span',
            {
              class: `viewer-chip ${v.you ? 'you' : ''}`,
              role: 'listitem',
              'data-viewer': v.id,
              'data-mode': v.mode,
              'data-you': v.you ? 'true' : 'false',
              'data-owner': v.owner ? 'true' : 'false',
              'data-size-owner': v.sizeOwner ? 'true' : 'false',
              title: `${v.name}${v.you ? ' (you)' : ''}: ${facts}`,
            },
            h('span', { class: 'viewer-mode', 'aria-hidden': 'true' }, svgIcon(v.mode === 'ro' ? EYE : PEN, 12)),
            h('span', { class: 'viewer-name' }, v.name),
            v.you ? h('span', { class: 'viewer-you' }, ' (you)') : null,
          );
        }),
      );
      el.hidden = viewers.length === 0;
    },
    clear() {
      el.replaceChildren();
      el.hidden = true;
    },
  };
}
