/**
 * Scrollback search for a live terminal (@xterm/addon-search): a small bar in the terminal
 * toolbar with the query, match count, previous/next; Ctrl+Shift+F or the toolbar button opens
 * it, Enter / Shift+Enter step through matches, Escape closes it and returns to the terminal.
 *
 * Test hooks: `#terminal-search-toggle`, `#terminal-search` (the input), `#terminal-search-count`
 * (data-count, data-index), `#terminal-search-next`, `#terminal-search-prev`.
 */
import { SearchAddon } from '@xterm/addon-search';
import type { Terminal } from '@xterm/xterm';
import { h, svgIcon, type Disposables } from '../dom.js';

const DECORATIONS = {
  matchBackground: '#d4a72c66',
  activeMatchBackground: '#ff9632',
  matchOverviewRuler: '#d4a72c',
  activeMatchColorOverviewRuler: '#ff9632',
};

export interface TerminalSearch {
  /** The toolbar button. */
  button: HTMLButtonElement;
  /** The bar (hidden until opened). */
  bar: HTMLElement;
  open(): void;
  close(): void;
}

export function terminalSearch(term: Terminal, d: Disposables, withIds: boolean): TerminalSearch {
  const id = (x: string) => (withIds ? x : undefined);
  const search = new SearchAddon({ highlightLimit: 2000 });
  term.loadAddon(search);

  const input = h('input', { type: 'text', id: id('terminal-search'), class: 'term-search-input', placeholder: 'Search scrollback', 'aria-label': 'Search the terminal scrollback', autocomplete: 'off', spellcheck: 'false' });
  const count = h('span', { class: 'term-search-count muted', id: id('terminal-search-count'), 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'icon-btn', id: id('terminal-search-prev'), title: 'Previous match (Shift+Enter)', 'aria-label': 'Previous match' }, '↑');
  const next = h('button', { type: 'button', class: 'icon-btn', id: id('terminal-search-next'), title: 'Next match (Enter)', 'aria-label': 'Next match' }, '↓');
  const closeBtn = h('button', { type: 'button', class: 'icon-btn', title: 'Close search (Escape)', 'aria-label': 'Close search' }, '×');
  const bar = h('span', { class: 'term-search', hidden: true, role: 'search' }, input, count, prev, next, closeBtn);
  const button = h('button', { type: 'button', class: 'btn btn-small', id: id('terminal-search-toggle'), title: 'Search the scrollback (Ctrl+Shift+F)', 'aria-label': 'Search the scrollback' }, svgIcon('M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM21 21l-5-5'), ' Search');

  const sub = search.onDidChangeResults(({ resultIndex, resultCount }) => {
    count.dataset.count = String(resultCount);
    count.dataset.index = String(resultIndex);
    count.textContent = !input.value ? '' : resultCount === 0 ? 'no matches' : `${resultIndex >= 0 ? resultIndex + 1 : '?'} of ${resultCount}`;
  });
  d.add(() => sub.dispose());

  const find = (backwards = false, incremental = false) => {
    const q = input.value;
    if (!q) {
      search.clearDecorations();
      count.textContent = '';
      count.dataset.count = '0';
      return;
    }
    const opts = { decorations: DECORATIONS, incremental };
    if (backwards) search.findPrevious(q, opts);
    else search.findNext(q, opts);
  };
  const open = () => {
    bar.hidden = false;
    button.setAttribute('aria-pressed', 'true');
    input.focus();
    input.select();
    if (input.value) find(false, true);
  };
  const close = () => {
    bar.hidden = true;
    button.setAttribute('aria-pressed', 'false');
    search.clearDecorations();
    term.focus();
  };

  d.listen(input, 'input', () => find(false, true));
  d.listen(input, 'keydown', (ev: Event) => {
    const k = ev as KeyboardEvent;
    if (k.key === 'Enter') {
      k.preventDefault();
      find(k.shiftKey);
    } else if (k.key === 'Escape') {
      k.preventDefault();
      close();
    }
  });
  d.listen(next, 'click', () => find(false));
  d.listen(prev, 'click', () => find(true));
  d.listen(closeBtn, 'click', close);
  d.listen(button, 'click', () => (bar.hidden ? open() : close()));
  return { button, bar, open, close };
}
