/**
 * Terminal view: xterm.js filling the window below a slim header (back link, agent name,
 * connection state, Reconnect, who is attached, Search, Share). Bytes pass through untouched in
 * both directions, so colours, full-screen programs and Ctrl-C behave as in a local terminal.
 *
 * Size: the viewer that owns the session's size (its opener, see relay/src/hub/viewer-roster.ts)
 * follows its window (ResizeObserver -> fit -> shell_resize); every other viewer renders at the
 * session's size (`shell_resized`) and scrolls if its window is smaller.
 *
 * Keys: Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes, Ctrl+Shift+F searches the
 * scrollback. A read-only viewer (share link) cannot type.
 *
 * Test hooks: `#terminal` (data-cols, data-rows, data-size-mode fit|session), `#connection-state`
 * (data-state), `#reconnect`, `#terminal-readonly`, plus those of ./viewer-chips.ts,
 * ./terminal-search.ts and ./share-panel.ts.
 */
import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { CloseCode, ErrorCode, FINAL_VIEWER_CLOSE_CODES, backoffDelay, closeCodeName, type ViewerMode } from '@rexec/shared';
import { ApiError, listAgents, me, shareInfo } from '../api.js';
import { h, type Disposables } from '../dom.js';
import { getSession, token } from '../session.js';
import { navigate } from '../nav.js';
import { TerminalLink, type TerminalTarget } from '../terminal-link.js';
import { viewerChips } from './viewer-chips.js';
import { terminalSearch } from './terminal-search.js';
import { sharePanel } from './share-panel.js';
import { onThemeChange, resolvedTheme } from '../theme.js';
import { DARK, LIGHT, TERMINAL_FONT } from '../term-theme.js';

type ConnState = 'connecting' | 'starting' | 'running' | 'ended' | 'offline' | 'disconnected' | 'error';

const STATE_LABEL: Record<ConnState, string> = {
  connecting: 'connecting…',
  starting: 'starting shell…',
  running: 'connected',
  ended: 'session ended',
  offline: 'agent went offline',
  disconnected: 'disconnected',
  error: 'error',
};

export interface TerminalViewOptions {
  /** Give elements their test ids (#terminal, #connection-state...); off for tabs, where several exist. */
  ids?: boolean;
  /** Where this view remembers its session for a reload (default: one per agent). */
  resumeKey?: string;
  /** Attach to this existing session (from its start) instead of starting a shell. */
  attach?: string;
  /** Show the "← Agents" link (off inside the tabbed page). */
  back?: boolean;
  /** Called with the connection state and the agent's name as they change. */
  onState?: (state: string, agentName: string) => void;
  /** Open the session of a share link (no sign-in; the link's token is the credential). */
  share?: { token: string; sessionId: string; mode: ViewerMode; label: string };
}

/** Font size of every terminal view, changed with `setTerminalFontSize`. */
const FONT_KEY = 'rexec.terminal.fontSize';
const FONT_EVENT = 'rexec-terminal-font';
export function terminalFontSize(): number {
  const n = Number(localStorage.getItem(FONT_KEY));
  return n >= 8 && n <= 32 ? n : 14;
}
export function setTerminalFontSize(n: number): void {
  localStorage.setItem(FONT_KEY, String(Math.min(32, Math.max(8, n))));
  window.dispatchEvent(new Event(FONT_EVENT));
}

export function renderTerminal(root: HTMLElement, d: Disposables, agentId: string, opts: TerminalViewOptions = {}): void {
  const withIds = opts.ids !== false;
  const id = (x: string) => (withIds ? x : undefined);
  if (withIds) document.title = 'Terminal · Rexec';

  const agentLabel = h('span', { class: 'term-agent', id: id('terminal-agent'), 'data-testid': 'terminal-agent', title: agentId }, agentId);
  const stateText = h('span', { id: id('connection-text'), class: 'conn-text' }, STATE_LABEL.connecting);
  const state = h('span', { class: 'conn-state', id: id('connection-state'), 'data-state': 'connecting', role: 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), stateText);
  const reconnectBtn = h('button', { type: 'button', id: id('reconnect'), 'data-action': 'reconnect', class: 'btn btn-small btn-primary', hidden: true }, 'Reconnect');
  const sizeLabel = h('span', { class: 'term-size muted', id: id('terminal-size'), 'data-testid': 'terminal-size', title: 'columns × rows' });
  const host = h('div', { id: id('terminal'), class: 'terminal-host', 'data-testid': 'terminal', 'data-size-mode': 'fit' });
  const chips = viewerChips(withIds);
  chips.clear();
  const readOnlyBadge = h('span', { class: 'chip chip-ro', id: id('terminal-readonly'), hidden: true, title: 'You can watch this terminal but not type into it' }, 'read-only');
  const share = opts.share;
  let sessionIdNow: string | null = null;
  const shares = share ? null : sharePanel(() => sessionIdNow, d, withIds);

  const searchSlot = h('span', { class: 'term-search-slot' });
  root.append(
    h(
      'div',
      { class: 'term-page' },
      h(
        'header',
        { class: 'term-header' },
        opts.back === false ? null : h('a', { class: 'back', href: '#/agents', 'data-testid': 'back', title: 'Back to agents' }, h('span', { 'aria-hidden': 'true' }, '←'), h('span', { class: 'back-label' }, ' Agents')),
        opts.back === false ? null : h('span', { class: 'sep', 'aria-hidden': 'true' }, '/'),
        agentLabel,
        state,
        reconnectBtn,
        readOnlyBadge,
        h('span', { class: 'spacer' }),
        chips.el,
        searchSlot,
        shares?.button ?? null,
        sizeLabel,
      ),
      shares?.panel ?? null,
      host,
    ),
  );

  const term = new Terminal({
    cursorBlink: true,
    fontFamily: TERMINAL_FONT,
    fontSize: terminalFontSize(),
    lineHeight: 1.15,
    scrollback: 10_000,
    theme: resolvedTheme() === 'dark' ? DARK : LIGHT,
    // The search addon's match highlights are decorations, a "proposed" xterm API.
    allowProposedApi: true,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  d.add(() => term.dispose());
  const search = terminalSearch(term, d, withIds);
  searchSlot.append(search.bar, search.button);
  d.add(
    onThemeChange((t) => {
      term.options.theme = t === 'dark' ? DARK : LIGHT;
    }),
  );

  d.listen(window, FONT_EVENT, () => {
    term.options.fontSize = terminalFontSize();
    scheduleFit();
  });
  const setState = (s: ConnState, text?: string) => {
    opts.onState?.(s, agentLabel.textContent ?? agentId);
    state.dataset.state = s;
    stateText.textContent = text ?? STATE_LABEL[s];
    reconnectBtn.hidden = s === 'connecting' || s === 'starting' || s === 'running';
  };
  /** A dim (or coloured) line in the terminal itself, on a line of its own, after pending output. */
  const notice = (text: string, colour = '2', trailer = '') => {
    term.write('', () => {
      const lead = term.buffer.active.cursorX === 0 ? '' : '\r\n';
      term.write(`${lead}\x1b[${colour}m[${text}]\x1b[0m\r\n${trailer}`);
    });
  };

  const updateSize = () => {
    sizeLabel.textContent = `${term.cols}×${term.rows}`;
    host.dataset.cols = String(term.cols);
    host.dataset.rows = String(term.rows);
  };

  // ---- sizing -------------------------------------------------------------------------------
  // 'fit': this viewer owns the session's size and follows its window. 'session': another viewer
  // owns it; render at the session's size and tell the relay what this window would like (it
  // applies if this viewer becomes the size owner).
  let sizeMode: 'fit' | 'session' = 'fit';
  let sessionSize: { cols: number; rows: number } | null = null;
  let fitFrame = 0;
  const fitNow = () => {
    fitFrame = 0;
    if (d.isDisposed || host.clientWidth === 0 || host.clientHeight === 0) return;
    try {
      if (sizeMode === 'fit') return fit.fit();
      const wanted = fit.proposeDimensions();
      if (wanted && link?.running && !link.readOnly) link.resize(wanted.cols, wanted.rows);
      if (sessionSize && (term.cols !== sessionSize.cols || term.rows !== sessionSize.rows)) term.resize(sessionSize.cols, sessionSize.rows);
    } catch (err) {
      console.warn('rexec: fit failed', err);
    }
  };
  const setSizeMode = (m: 'fit' | 'session') => {
    if (m === sizeMode) return;
    sizeMode = m;
    host.dataset.sizeMode = m;
    fitNow();
    if (m === 'fit') link?.resize(term.cols, term.rows);
  };
  const scheduleFit = () => {
    if (!fitFrame) fitFrame = requestAnimationFrame(fitNow);
  };
  const ro = new ResizeObserver(scheduleFit);
  ro.observe(host);
  d.add(() => {
    ro.disconnect();
    if (fitFrame) cancelAnimationFrame(fitFrame);
  });
  fitNow();
  updateSize();

  // ---- session ------------------------------------------------------------------------------
  // A session outlives this page: closing or reloading detaches, and the terminal attaches again
  // from the last byte it rendered (after a reload: from the start of the agent's buffer). Network
  // drops, relay restarts and agent blips reconnect by themselves with backoff.
  const resumeKey = opts.resumeKey ?? (share ? `rexec.share.${share.sessionId}` : `rexec.session.${agentId}`);
  let link: TerminalLink | null = null;
  let exit: { exitCode: number | null; signal: string | null } | null = null;
  let lastError: string | null = null;
  let lastErrorCode: string | null = null;
  let started = false;
  let sessions = 0;
  let retryTimer = 0;
  let retries = 0;
  d.add(() => window.clearTimeout(retryTimer));

  const exitText = () => {
    if (!exit) return 'session ended';
    if (exit.signal) return `session ended (signal ${exit.signal})`;
    return `session ended (exit ${exit.exitCode ?? '?'})`;
  };

  /** The socket closed before a session started: ask the REST API why (it has status codes). */
  const explainRefusal = async (): Promise<string> => {
    try {
      if (share) {
        await shareInfo(share.token);
        return 'could not connect';
      }
      await me(); // a 401 here sends the user to the login page
      const agents = await listAgents();
      const a = agents.find((x) => x.id === agentId);
      if (!a) return 'agent not found';
      if (a.status !== 'online') return 'agent is offline';
      return 'could not connect';
    } catch (err) {
      return err instanceof ApiError ? err.message : 'cannot reach the relay';
    }
  };

  const connect = (resume: { sessionId: string; offset: number } | null = null) => {
    let target: TerminalTarget;
    if (share) {
      target = { kind: 'share', token: share.token, sessionId: share.sessionId };
    } else {
      const t = token();
      if (!t) {
        navigate('/login', { replace: true, next: location.hash.replace(/^#/, '') });
        return;
      }
      target = { kind: 'agent', agentId, token: t };
    }
    window.clearTimeout(retryTimer);
    pendingResume = null;
    link?.dispose();
    exit = null;
    lastError = lastErrorCode = null;
    started = false;
    chips.clear();
    if (!resume && sessions++ > 0) term.reset();
    setState('connecting', resume ? 'reconnecting…' : undefined);
    const mine = new TerminalLink(target, () => {
      const want = sizeMode === 'fit' ? null : fit.proposeDimensions();
      return want ? { cols: want.cols, rows: want.rows } : { cols: term.cols, rows: term.rows };
    }, {
      hello(agentName) {
        agentLabel.textContent = agentName;
        if (withIds) document.title = `${agentName} · Rexec`;
        setState('starting');
      },
      started(sessionId, cols, rows) {
        started = true;
        retries = 0;
        sessionIdNow = sessionId;
        sessionSize = { cols, rows };
        sessionStorage.setItem(resumeKey, sessionId);
        setState('running');
        fitNow();
        if (sizeMode === 'fit') link?.resize(term.cols, term.rows);
        term.focus();
      },
      viewers(list) {
        chips.update(list);
        const me = list.find((v) => v.you);
        if (!me) return;
        const ro = me.mode === 'ro';
        term.options.disableStdin = ro;
        term.options.cursorBlink = !ro;
        readOnlyBadge.hidden = !ro;
        if (shares) shares.button.hidden = !(me.owner || getSession()?.user.role === 'admin');
        setSizeMode(me.sizeOwner ? 'fit' : 'session');
      },
      resized(cols, rows) {
        sessionSize = { cols, rows };
        if (sizeMode === 'session') fitNow();
      },
      snapshot(data, offset) {
        term.write(data, () => mine.rendered(offset));
      },
      output(data, end) {
        term.write(data, () => mine.rendered(end));
      },
      gap(skipped) {
        notice(`output skipped: ${skipped} bytes`, '33');
      },
      stopped(exitCode, signal) {
        exit = { exitCode, signal };
        sessionStorage.removeItem(resumeKey);
        setState('ended', exitText());
      },
      error(code, message) {
        lastError = message || code;
        lastErrorCode = code;
        // Going offline is told once, by the close that follows; anything else shows in red.
        if (code !== ErrorCode.AgentOffline && code !== ErrorCode.SessionNotFound) notice(`error: ${lastError}`, '31');
      },
      latency(ms) {
        state.title = `round trip ${ms} ms`;
      },
      closed(code, reason, wasOpen) {
        if (link !== mine || d.isDisposed) return;
        void onClosed(code, reason, wasOpen, mine.position ?? resume);
      },
    }, resume);
    link = mine;
  };

  /** Try again with backoff (0.5 s doubling to 10 s), resuming where we were. */
  let pendingResume: { sessionId: string; offset: number } | null = null;
  const retry = (position: { sessionId: string; offset: number }, text: string, s: ConnState) => {
    const delay = backoffDelay(retries++, 500, 10_000);
    pendingResume = position;
    setState(s, `${text} — reconnecting…`);
    retryTimer = window.setTimeout(() => connect(position), delay);
  };

  const onClosed = async (code: number, reason: string, wasOpen: boolean, position: { sessionId: string; offset: number } | null) => {
    chips.clear(); // who was attached is not known any more
    let s: ConnState;
    let text: string;
    if (lastErrorCode === ErrorCode.SessionNotFound) {
      // The session we tried to resume is gone (ended while we were away): start a fresh one.
      sessionStorage.removeItem(resumeKey);
      if (position && !started && !share) return connect(null);
      s = 'ended';
      text = 'session ended';
    } else if (code === CloseCode.SessionEnded || exit) {
      s = 'ended';
      text = exitText();
      sessionStorage.removeItem(resumeKey);
    } else if (code === CloseCode.Unauthorized) {
      s = 'error';
      text = share ? `share link closed${reason ? `: ${reason}` : ''}` : `not authorized${reason ? `: ${reason}` : ''}`;
      if (!share) void me().catch(() => {}); // a 401 sends the user to the login page
    } else if (position && !FINAL_VIEWER_CLOSE_CODES.has(code)) {
      // Network drop, relay restart, agent reconnecting: the shell is still there.
      if (code === CloseCode.AgentOffline) return retry(position, 'agent went offline', 'offline');
      return retry(position, code === CloseCode.GoingAway ? 'the relay is restarting' : 'disconnected', 'disconnected');
    } else if (code === CloseCode.AgentOffline) {
      s = 'offline';
      text = 'agent is offline';
    } else if (!wasOpen) {
      s = 'error';
      setState('connecting', 'connection refused, checking…');
      text = `cannot open terminal: ${lastError ?? (await explainRefusal())}`;
      if (d.isDisposed) return;
    } else {
      s = 'disconnected';
      const why = reason || lastError || (code === 1000 || code === 1005 || code === 1006 ? '' : closeCodeName(code));
      text = why ? `disconnected: ${why}` : 'disconnected';
    }
    setState(s, text);
    // Hide the cursor: nothing typed goes to a shell now.
    const again = share ? (s === 'ended' || code === CloseCode.Unauthorized ? '' : ' — press Enter or click Reconnect to join again') : ' — press Enter or click Reconnect for a new session';
    if (share && (s === 'ended' || code === CloseCode.Unauthorized)) reconnectBtn.hidden = true;
    notice(`${text}${again}`, '2', '\x1b[?25l');
  };

  // term.onBinary is left alone: it only carries legacy X10 mouse reports beyond column 95,
  // which have no place in the UTF-8 text of a shell_input message.
  term.onData((data) => {
    // Terminal replies (they start with ESC) to queries inside replayed output are not input.
    if (link?.replaying && data.startsWith('\x1b')) return;
    if (link?.running) {
      link.input(data);
    } else if (data === '\r' && !reconnectBtn.hidden) {
      connect(pendingResume);
    }
  });
  term.onResize(({ cols, rows }) => {
    updateSize();
    if (sizeMode === 'fit') link?.resize(cols, rows);
  });
  term.attachCustomKeyEventHandler((ev) => {
    const ctrlShift = ev.ctrlKey && ev.shiftKey && !ev.altKey && !ev.metaKey;
    // Ctrl+Shift+C copies the selection (Chrome would open the element inspector).
    if (ev.type === 'keydown' && ctrlShift && ev.code === 'KeyC' && term.hasSelection()) {
      void navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
      ev.preventDefault();
      return false;
    }
    // Ctrl+Shift+V: leave it to the browser, whose paste event xterm turns into input.
    if (ctrlShift && ev.code === 'KeyV') return false;
    // Ctrl+Shift+F: search the scrollback.
    if (ev.type === 'keydown' && ctrlShift && ev.code === 'KeyF') {
      ev.preventDefault();
      search.open();
      return false;
    }
    return true;
  });

  // Reconnect resumes the session when there is one to resume, otherwise starts a new shell.
  d.listen(reconnectBtn, 'click', () => {
    connect(pendingResume);
    term.focus();
  });
  d.add(() => link?.dispose());

  // After a reload, join the session this tab had open (a screen snapshot, then live output).
  const previous = opts.attach ?? sessionStorage.getItem(resumeKey);
  connect(previous ? { sessionId: previous, offset: 0 } : null);
  term.focus();
}
