/**
 * One terminal WebSocket (`/ws/terminal/{agentId}`): speaks the browser side of the protocol in
 * shared/src/protocol/browser-messages.ts and hands decoded events to its owner. It knows nothing
 * about the DOM or xterm, so the view stays about presentation.
 *
 * Flow: open -> relay `hello` -> we send `shell_start` (or `shell_attach` to resume a session from
 * the offset we have rendered; with nothing rendered, `snapshot: true` gets the screen first as
 * `shell_snapshot`) -> `shell_started` / `shell_attached` -> binary ShellOutput frames
 * ... -> `shell_stopped` -> close 4011 (SessionEnded). Output frames carry the byte offset of their
 * first byte; duplicates are trimmed and a gap is reported, never hidden. The view reports what
 * xterm has rendered (`rendered`), which goes back as `ack`: the relay and agent send no more than
 * a window beyond it, so a slow browser slows the program instead of filling memory.
 *
 * Several viewers: the relay tells who is attached (`viewers`, with this socket marked `you`) and
 * the session's size (`shell_resized`). A read-only viewer sends no input and no resizes; only
 * the size owner's resizes apply (the others' are remembered by the relay for when they become
 * the size owner). A share-link target joins its one session and never starts a shell.
 */
import {
  BROWSER_AUTH_SUBPROTOCOL_PREFIX,
  BROWSER_SUBPROTOCOL,
  FrameKind,
  SHARE_AUTH_SUBPROTOCOL_PREFIX,
  LIMITS,
  SESSION_DEFAULTS,
  decodeFrame,
  messageTypes,
  parseControlMessage,
  relayToClientSchema,
  takeNewBytes,
  type ClientToRelay,
  type RelayToClient,
  type ViewersMessage,
} from '@rexec/shared';

const RELAY_TYPES = messageTypes(relayToClientSchema);

/** Keep-alive so idle terminals survive proxies that drop quiet connections. */
const PING_INTERVAL_MS = 20_000;

/**
 * `shell_input.data` is limited to LIMITS.maxInputBytes; a character can take up to 4 bytes of
 * UTF-8 (the schema counts UTF-16 units), so pastes are split into chunks that fit either way.
 */
const INPUT_CHUNK_CHARS = Math.floor(LIMITS.maxInputBytes / 4);

export interface TerminalLinkEvents {
  hello(agentName: string, protocolVersion: number): void;
  /** A new shell (`resumed` false) or an existing session joined again (`resumed` true). */
  started(sessionId: string, cols: number, rows: number, resumed: boolean): void;
  /**
   * The screen as of output offset `offset` (escape sequences that redraw it), sent instead of a
   * replay when we attached with nothing rendered. Write it, then call `rendered(offset)`; output
   * continues from `offset`. Replies to queries while it is drawn are not sent (`replaying`).
   */
  snapshot(data: Uint8Array, offset: number): void;
  /** Output up to byte offset `end`; call `rendered(end)` once it is on screen. */
  output(data: Uint8Array, end: number): void;
  /** `skipped` bytes of output were lost before the next output (a resume beyond the buffer). */
  gap(skipped: number): void;
  stopped(exitCode: number | null, signal: string | null): void;
  error(code: string, message: string): void;
  latency(ms: number): void;
  closed(code: number, reason: string, wasOpen: boolean): void;
  /** Who is attached now (this socket is the entry with `you`). */
  viewers?(viewers: ViewersMessage['viewers']): void;
  /** The session's size changed (set by its size owner). */
  resized?(cols: number, rows: number): void;
}

/** Where the socket goes: a person's terminal on an agent, or a share link's session. */
export type TerminalTarget = { kind: 'agent'; agentId: string; token: string } | { kind: 'share'; token: string; sessionId: string };

export function terminalUrl(agentId: string, loc: Location = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws/terminal/${encodeURIComponent(agentId)}`;
}

/** The share socket; the token goes in the sub-protocol, never in the URL (URLs end up in logs). */
export function shareSocketUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws/share`;
}

export class TerminalLink {
  private readonly ws: WebSocket;
  private sessionId: string | null = null;
  private nextOffset = 0;
  private pingTimer = 0;
  private opened = false;
  private stopped = false;
  private closed = false;
  private acked = 0;
  private renderedTo = 0;
  /** Output before this offset is a replay of the past (see `replaying`). */
  private replayEnd = 0;
  private ackTimer = 0;
  /** From the relay's `viewers` message; read-only until told otherwise for share links. */
  private you: { mode: 'rw' | 'ro'; sizeOwner: boolean; owner: boolean } | null = null;
  private readonly resume: { sessionId: string; offset: number } | null;

  constructor(
    private readonly target: TerminalTarget,
    private readonly size: () => { cols: number; rows: number },
    private readonly on: TerminalLinkEvents,
    resume: { sessionId: string; offset: number } | null = null,
  ) {
    // A share link always joins its session (from the start of the agent's buffer unless resuming).
    this.resume = resume ?? (target.kind === 'share' ? { sessionId: target.sessionId, offset: 0 } : null);
    if (this.resume) this.nextOffset = this.acked = this.renderedTo = this.resume.offset;
    this.ws =
      target.kind === 'agent'
        ? new WebSocket(terminalUrl(target.agentId), [BROWSER_SUBPROTOCOL, BROWSER_AUTH_SUBPROTOCOL_PREFIX + target.token])
        : new WebSocket(shareSocketUrl(), [BROWSER_SUBPROTOCOL, SHARE_AUTH_SUBPROTOCOL_PREFIX + target.token]);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => {
      this.opened = true;
      this.pingTimer = window.setInterval(() => this.send({ type: 'ping', ts: Date.now() }), PING_INTERVAL_MS);
    };
    this.ws.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
      if (typeof ev.data === 'string') this.onControl(ev.data);
      else this.onBinary(new Uint8Array(ev.data));
    };
    this.ws.onclose = (ev) => {
      if (this.closed) return;
      this.closed = true;
      window.clearInterval(this.pingTimer);
      this.on.closed(ev.code, ev.reason, this.opened);
    };
    // `error` is always followed by `close`, which carries what there is to know.
    this.ws.onerror = () => {};
  }

  /** A shell is running: started, not stopped, socket not closed. Input and resizes go out only then. */
  get running(): boolean {
    return this.sessionId !== null && !this.stopped && !this.closed;
  }

  /** This viewer may only watch (known from the relay's `viewers` message). */
  get readOnly(): boolean {
    return this.you?.mode === 'ro';
  }

  /** This viewer's window decides the session's size. */
  get sizeOwner(): boolean {
    return this.you?.sizeOwner ?? false;
  }

  input(data: string): void {
    if (!this.running || this.readOnly) return;
    for (let i = 0; i < data.length; ) {
      let end = Math.min(i + INPUT_CHUNK_CHARS, data.length);
      // Do not split a surrogate pair across two messages.
      if (end < data.length && /[\uD800-\uDBFF]/.test(data.charAt(end - 1))) end--;
      this.send({ type: 'shell_input', data: data.slice(i, end) });
      i = end;
    }
  }

  resize(cols: number, rows: number): void {
    if (!this.running || this.readOnly) return;
    this.send({ type: 'shell_resize', ...clampSize(cols, rows) });
  }

  /**
   * xterm is still drawing replayed output. Replies the terminal generates meanwhile (to device
   * attribute, cursor or colour queries a program sent long ago) must not reach the shell as if
   * typed: that is how buffer replay corrupts sessions.
   */
  get replaying(): boolean {
    return this.renderedTo < this.replayEnd;
  }

  /** Where this link is in its session, for resuming on a new socket. */
  get position(): { sessionId: string; offset: number } | null {
    return this.sessionId ? { sessionId: this.sessionId, offset: this.nextOffset } : null;
  }

  /** xterm has drawn everything up to `offset`: acknowledge it (batched, with a trailing ack). */
  rendered(offset: number): void {
    if (offset <= this.renderedTo) return;
    this.renderedTo = offset;
    if (this.renderedTo - this.acked >= SESSION_DEFAULTS.ackEveryBytes) this.ackNow();
    else if (!this.ackTimer) this.ackTimer = window.setTimeout(() => this.ackNow(), 30);
  }

  private ackNow(): void {
    window.clearTimeout(this.ackTimer);
    this.ackTimer = 0;
    if (this.renderedTo <= this.acked) return;
    this.acked = this.renderedTo;
    this.send({ type: 'ack', offset: this.acked });
  }

  /** End the shell (the close button), not just this view of it. */
  stop(): void {
    if (!this.readOnly) this.send({ type: 'shell_stop' });
  }

  /** Close from our side (leaving the page). The shell keeps running; it can be resumed. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.ackTimer);
    try {
      this.ws.close(1000, 'closed by user');
    } catch {
      /* already closing */
    }
  }

  private send(msg: ClientToRelay): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private onControl(text: string): void {
    const r = parseControlMessage<RelayToClient>(relayToClientSchema, text, RELAY_TYPES);
    if (!r.ok) {
      console.warn('rexec: ignoring relay message:', r.message);
      return;
    }
    const m = r.message;
    switch (m.type) {
      case 'hello':
        this.on.hello(m.agentName, m.protocolVersion);
        // Nothing rendered yet (a reload): ask for a screen snapshot instead of a raw replay.
        if (this.resume) this.send({ type: 'shell_attach', sessionId: this.resume.sessionId, offset: this.resume.offset, ...(this.resume.offset === 0 ? { snapshot: true } : {}) });
        else this.send({ type: 'shell_start', ...clampSize(this.size().cols, this.size().rows) });
        break;
      case 'shell_started':
      case 'shell_attached':
        this.sessionId = m.sessionId;
        if (m.type === 'shell_started') this.nextOffset = 0;
        else this.replayEnd = m.outputBytes;
        this.on.started(m.sessionId, m.cols, m.rows, m.type === 'shell_attached');
        // The window may have changed size while the shell was starting.
        if (!this.readOnly) {
          const s = clampSize(this.size().cols, this.size().rows);
          if (s.cols !== m.cols || s.rows !== m.rows) this.send({ type: 'shell_resize', ...s });
        }
        break;
      case 'viewers': {
        const me = m.viewers.find((v) => v.you);
        if (me) this.you = { mode: me.mode, sizeOwner: me.sizeOwner, owner: me.owner };
        this.on.viewers?.(m.viewers);
        break;
      }
      case 'shell_resized':
        this.on.resized?.(m.cols, m.rows);
        break;
      case 'shell_snapshot':
        if (m.offset < this.nextOffset) break; // we already have more than it shows
        this.nextOffset = m.offset;
        this.replayEnd = Math.max(this.replayEnd, m.offset);
        this.on.snapshot(base64Bytes(m.data), m.offset);
        break;
      case 'shell_stopped':
        this.stopped = true;
        this.on.stopped(m.exitCode, m.signal);
        break;
      case 'error':
        this.on.error(m.code, m.message);
        break;
      case 'pong':
        this.on.latency(Math.max(0, Date.now() - m.ts));
        break;
    }
  }

  private onBinary(data: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      console.warn('rexec: bad output frame', err);
      return;
    }
    if (frame.kind !== FrameKind.ShellOutput) return;
    if (this.sessionId !== null && frame.id !== this.sessionId) return;
    const n = takeNewBytes(this.nextOffset, frame.offset, frame.payload);
    if (!n) return; // already shown
    if (n.skipped) this.on.gap(n.skipped);
    this.nextOffset = n.end;
    this.on.output(n.fresh, n.end);
  }
}

function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const c = Math.round(Number.isFinite(cols) ? cols : 80);
  const r = Math.round(Number.isFinite(rows) ? rows : 24);
  return {
    cols: Math.min(LIMITS.maxCols, Math.max(LIMITS.minCols, c)),
    rows: Math.min(LIMITS.maxRows, Math.max(LIMITS.minRows, r)),
  };
}
