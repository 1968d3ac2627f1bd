/**
 * The output viewer's terminal mode: a read-only xterm.js that renders a run's raw output with its
 * colours, sized to its box, with the search addon. Loaded lazily (xterm.js is most of the bundle).
 */
import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { Terminal } from '@xterm/xterm';
import { TERMINAL_FONT, xtermTheme } from '../term-theme.js';
import { onThemeChange, resolvedTheme } from '../theme.js';

export interface XtermOutput {
  /** Appends text; newlines become CRLF as a terminal expects from a pipe. */
  write(text: string): void;
  reset(): void;
  find(query: string, previous?: boolean): boolean;
  clearSearch(): void;
  selection(): string;
  scrollToBottom(): void;
  fit(): void;
  dispose(): void;
}

export function createXtermOutput(host: HTMLElement, fontSize: number): XtermOutput {
  const term = new Terminal({
    fontFamily: TERMINAL_FONT,
    fontSize,
    lineHeight: 1.15,
    scrollback: 100_000,
    convertEol: true,
    disableStdin: true,
    cursorStyle: 'bar',
    cursorInactiveStyle: 'none',
    theme: xtermTheme(resolvedTheme()),
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.open(host);
  // Ctrl+C (nothing to interrupt here) and Ctrl+Shift+C copy the selection.
  term.attachCustomKeyEventHandler((ev) => {
    if (ev.type === 'keydown' && ev.ctrlKey && ev.code === 'KeyC' && term.hasSelection()) {
      void navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
      ev.preventDefault();
      return false;
    }
    return true;
  });
  const offTheme = onThemeChange((t) => (term.options.theme = xtermTheme(t)));
  let frame = 0;
  const doFit = () => {
    frame = 0;
    if (host.clientWidth && host.clientHeight) {
      try {
        fit.fit();
      } catch {
        /* not attached yet */
      }
    }
  };
  const ro = new ResizeObserver(() => {
    if (!frame) frame = requestAnimationFrame(doFit);
  });
  ro.observe(host);
  doFit();
  const decorations = {
    matchBackground: '#d4a72c66',
    activeMatchBackground: '#ff9632',
    matchOverviewRuler: '#d4a72c',
    activeMatchColorOverviewRuler: '#ff9632',
  };
  return {
    write: (text) => term.write(text),
    reset: () => term.reset(),
    find: (q, previous) => (previous ? search.findPrevious(q, { decorations }) : search.findNext(q, { decorations })),
    clearSearch: () => search.clearDecorations(),
    selection: () => term.getSelection(),
    scrollToBottom: () => term.scrollToBottom(),
    fit: doFit,
    dispose: () => {
      ro.disconnect();
      cancelAnimationFrame(frame);
      offTheme();
      term.dispose();
    },
  };
}
