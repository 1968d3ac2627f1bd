/**
 * The CLI's view of one terminal session (`rexec shell`, `rexec attach`, `rexec tail`): the
 * browser protocol over a WebSocket with the API token in the Authorization header. It starts a
 * new shell at the local terminal's size, or attaches from offset 0 (the agent's buffer is
 * replayed) or, with `snapshot`, from a screen snapshot; writes output as it comes, acknowledges
 * what it wrote (flow control), and resolves with how the session ended or that the user detached.
 * Once attached, a lost connection (network, relay restart, agent offline) is retried with
 * backoff and resumes from the last byte written: nothing lost, nothing doubled.
 */
import WebSocket from 'ws';
import {
  CloseCode,
  ErrorCode,
  FINAL_VIEWER_CLOSE_CODES,
  LIMITS,
  backoffDelay,
  SESSION_DEFAULTS,
  closeCodeName,
  decodeFrame,
  messageTypes,
  parseControlMessage,
  relayToClientSchema,
  takeNewBytes,
  type ClientToRelay,
} from '@rexec/shared';

export type SessionEnd =
  | { kind: 'exited'; exitCode: number | null; signal: string | null }
  | { kind: 'detached' }
  | { kind: 'error'; message: string };

export interface AttachOptions {
  host: string;
  token: string;
  agent: string;
  /** The session to attach to; without it a new shell is started (`onStarted` gets its id). */
  sessionId?: string;
  onStarted?: (sessionId: string) => void;
  /** Where output goes. */
  out: NodeJS.WritableStream;
  /** Interactive: forward this stream as input (raw mode if it is a TTY); Ctrl-] detaches. */
  input?: NodeJS.ReadStream;
  /** Start from a screen snapshot (`rexec attach`) instead of replaying the buffer (`rexec tail`). */
  snapshot?: boolean;
}

const RELAY_TYPES = messageTypes(relayToClientSchema);
export const DETACH_KEY = '\x1d'; // Ctrl-]
/**
 * What a program in the session may have switched on in the local terminal, switched off again
 * when the CLI lets go (as tmux does on detach): the alternate screen (back to what was there),
 * application cursor keys and keypad, bracketed paste, mouse reporting, a hidden cursor, colours.
 */
export const RESTORE_LOCAL_TERMINAL = '\x1b[?1049l\x1b[?1l\x1b>\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?25h\x1b[0m';

export function attachSession(o: AttachOptions): Promise<SessionEnd> {
  return new Promise((resolve) => {
    const url = `${o.host.replace(/^http/, 'ws')}/ws/terminal/${encodeURIComponent(o.agent)}`;
    let ws: WebSocket;
    /** Known once attached or started; a lost connection then resumes it from nextOffset. */
    let sessionId = o.sessionId;
    let attached = false;
    /** The current socket is attached: input and resizes may go (before, the relay would refuse them). */
    let flowing = false;
    let nextOffset = 0;
    let acked = 0;
    let replayEnd = 0;
    let retries = 0;
    let retryTimer: NodeJS.Timeout | undefined;
    let ended: SessionEnd | null = null;
    const send = (m: ClientToRelay) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
    const sendLive = (m: ClientToRelay) => flowing && send(m);
    const status = (text: string) => process.stderr.write(`\r\n[rexec: ${text}]\r\n`);
    const finish = (end: SessionEnd) => {
      if (ended) return;
      ended = end;
      clearTimeout(retryTimer);
      if (o.input) {
        o.input.off('data', onInput);
        if (o.input.isTTY) o.input.setRawMode(false);
        o.input.pause();
      }
      process.off('SIGWINCH', onResize);
      if ((o.out as NodeJS.WriteStream).isTTY) o.out.write(RESTORE_LOCAL_TERMINAL);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'detached');
      resolve(end);
    };
    const onInput = (chunk: Buffer) => {
      let text = chunk.toString('utf8');
      const k = text.indexOf(DETACH_KEY);
      if (k >= 0) text = text.slice(0, k);
      // Replies of the local terminal to queries inside replayed output are not input.
      if (!(nextOffset < replayEnd && text.startsWith('\x1b')) && text) sendLive({ type: 'shell_input', data: text });
      if (k >= 0) finish({ kind: 'detached' });
    };
    const onResize = () => {
      const size = localSize(o.out);
      if (size) sendLive({ type: 'shell_resize', ...size });
    };
    /** Output before `outputBytes` is a replay; from now on the user types into the session. */
    const live = (outputBytes: number) => {
      replayEnd = outputBytes;
      flowing = true;
      if (attached) status('reconnected');
      retries = 0;
      if (o.input && !attached) {
        if (o.input.isTTY) o.input.setRawMode(true);
        o.input.on('data', onInput);
        o.input.resume();
        process.on('SIGWINCH', onResize);
      }
      attached = true;
      if (o.input) onResize(); // the local size may have changed while the connection was down
    };
    /** Connection lost with the session still there: again after 0.5 s, doubling to 10 s. */
    const reconnect = (why: string) => {
      if (retries === 0) status(`${why}; reconnecting (${o.input ? 'Ctrl-]' : 'Ctrl-C'} to give up)`);
      retryTimer = setTimeout(connect, backoffDelay(retries++, 500, 10_000));
    };

    function connect(): void {
      flowing = false;
      const sock = (ws = new WebSocket(url, { headers: { Authorization: `Bearer ${o.token}` }, perMessageDeflate: false }));
      sock.on('message', (data, isBinary) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
        if (isBinary) {
          const f = decodeFrame(buf);
          const n = takeNewBytes(nextOffset, f.offset, f.payload);
          if (!n) return;
          if (n.skipped) o.out.write(`\r\n[rexec: output skipped: ${n.skipped} bytes]\r\n`);
          const end = (nextOffset = n.end);
          o.out.write(Buffer.from(n.fresh), () => {
            if (end - acked >= SESSION_DEFAULTS.ackEveryBytes / 2 || end >= replayEnd) {
              acked = end;
              if (sock === ws) send({ type: 'ack', offset: acked });
            }
          });
          return;
        }
        const r = parseControlMessage(relayToClientSchema, buf.toString('utf8'), RELAY_TYPES);
        if (!r.ok) return;
        const m = r.message;
        if (m.type === 'hello') {
          if (sessionId === undefined) send({ type: 'shell_start', ...(localSize(o.out) ?? { cols: 80, rows: 24 }) });
          // Without input (rexec tail) the socket only watches: it joins read-only. A resume
          // continues from the last byte written; only a first attach asks for a snapshot.
          else send({ type: 'shell_attach', sessionId, offset: nextOffset, ...(o.input ? {} : { readOnly: true }), ...(o.snapshot && !attached ? { snapshot: true } : {}) });
        } else if (m.type === 'shell_started') {
          sessionId = m.sessionId;
          o.onStarted?.(m.sessionId);
          live(0);
        } else if (m.type === 'shell_snapshot') {
          // The screen as of m.offset; output continues from there. Queries in it are not answered
          // (replayEnd covers it until shell_attached moves it on).
          nextOffset = acked = m.offset;
          replayEnd = Math.max(replayEnd, m.offset);
          o.out.write(Buffer.from(m.data, 'base64'));
        } else if (m.type === 'shell_attached') live(m.outputBytes);
        else if (m.type === 'shell_stopped') finish({ kind: 'exited', exitCode: m.exitCode, signal: m.signal });
        // An offline agent while resuming: the close that follows says to try again.
        else if (m.type === 'error' && !(attached && m.code === ErrorCode.AgentOffline)) finish({ kind: 'error', message: m.message });
      });
      /** This socket is done with: its close must not decide again. */
      let settled = false;
      sock.on('unexpected-response', (req, res) => {
        settled = true;
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => {
          req.destroy();
          // A proxy in front of a restarting relay (502, 503, 504): try again like a refused connection.
          if (attached && (res.statusCode ?? 0) >= 500) return reconnect('the relay is unavailable');
          let message = `relay answered HTTP ${res.statusCode}`;
          try {
            message = (JSON.parse(body) as { error: { message: string } }).error.message;
          } catch {
            /* not JSON */
          }
          finish({ kind: 'error', message });
        });
      });
      sock.on('error', (err) => {
        if (settled) return;
        // Before the session is ours there is nothing to resume; after, the close that follows retries.
        if (!attached) finish({ kind: 'error', message: `cannot reach the relay: ${err.message}` });
      });
      sock.on('close', (code, reason) => {
        if (ended || settled) return;
        if (code === CloseCode.SessionEnded) return finish({ kind: 'exited', exitCode: null, signal: null });
        const why = `connection closed (${closeCodeName(code)}${reason.length ? `: ${reason}` : ''})`;
        if (attached && !FINAL_VIEWER_CLOSE_CODES.has(code)) return reconnect(code === CloseCode.AgentOffline ? 'the agent is offline' : code === 1001 ? 'the relay is restarting' : 'connection lost');
        finish({ kind: 'error', message: why });
      });
    }
    connect();
  });
}

/** The local terminal's size, within the protocol's bounds; undefined when output is not a terminal. */
function localSize(out: NodeJS.WritableStream): { cols: number; rows: number } | undefined {
  const { columns, rows } = out as NodeJS.WriteStream;
  if (!columns || !rows) return undefined;
  const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));
  return { cols: clamp(columns, LIMITS.minCols, LIMITS.maxCols), rows: clamp(rows, LIMITS.minRows, LIMITS.maxRows) };
}
