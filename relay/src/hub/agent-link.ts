/**
 * One connected agent: the server side of the link protocol (shared/src/protocol/version.ts).
 * Lifecycle: awaiting_hello -> ready -> closed (forward only).
 */
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  ErrorCode,
  FrameKind,
  LIMITS,
  SUPPORTED_PROTOCOL_VERSIONS,
  agentToRelaySchema,
  closeReason,
  decodeFrame,
  messageTypes,
  parseControlMessage,
  type AgentHello,
  type AgentToRelay,
  type HostMetrics,
  type RelayToAgent,
} from '@rexec/shared';
import { TokenBucket } from '../rate-limit.js';
import { log } from '../log.js';
import type { ExecSink, RunHooks } from './sinks.js';
import { SessionRoute } from './session-route.js';

const AGENT_MESSAGE_TYPES = messageTypes(agentToRelaySchema);
/** Consecutive invalid messages tolerated before the link is closed as broken. */
const MAX_INVALID_STREAK = 50;

export interface LinkTiming {
  heartbeatIntervalMs: number;
  deadLinkTimeoutMs: number;
  helloTimeoutMs: number;
}

export type LinkState = 'awaiting_hello' | 'ready' | 'closed';

export interface AgentLinkEvents {
  onReady(link: AgentLink, hello: AgentHello): void;
  onSeen(link: AgentLink): void;
  onClosed(link: AgentLink, code: number, reason: string): void;
  /** A host-metrics sample arrived. */
  onMetrics(link: AgentLink, sample: HostMetrics): void;
  /** Run traffic goes to the run engine. */
  runs(): RunHooks | undefined;
}

export class AgentLink {
  state: LinkState = 'awaiting_hello';
  hello: AgentHello | null = null;
  /** The protocol version agreed in hello (0 before). */
  protocolVersion = 0;
  readonly connectedAt = new Date();
  readonly sessions = new Map<string, SessionRoute>();
  readonly execs = new Map<string, ExecSink>();
  /** Pending request/answer pairs (shell_peek, shell_snapshot, shell_nudge) by requestId. */
  private readonly requests = new Map<string, { resolve(m: AgentToRelay): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private lastFrameAt = Date.now();
  private invalidStreak = 0;
  private readonly bucket = new TokenBucket(LIMITS.messagesPerSecond, LIMITS.messageBurst);
  /** Output frames have their own, larger budget: flow control paces them (LIMITS.agentFramesPerSecond). */
  private readonly frameBucket = new TokenBucket(LIMITS.agentFramesPerSecond, LIMITS.agentFrameBurst);
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly agentId: string,
    public agentName: string,
    private readonly ws: WebSocket,
    private readonly timing: LinkTiming,
    private readonly events: AgentLinkEvents,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => this.seen());
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', (err) => log.warn('agent link error', { agent: agentName, err: err.message }));
    this.timers.push(
      setTimeout(() => {
        if (this.state === 'awaiting_hello') this.close(CloseCode.HelloTimeout, 'no hello within the deadline');
      }, timing.helloTimeoutMs),
    );
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(msg: RelayToAgent): boolean {
    if (this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Sends a message that carries a requestId and resolves with the agent's answer to it. */
  request<T extends AgentToRelay>(msg: RelayToAgent & { requestId: string }, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(msg.requestId);
        reject(new Error('the agent did not answer in time'));
      }, timeoutMs);
      this.requests.set(msg.requestId, { resolve: resolve as (m: AgentToRelay) => void, reject, timer });
      if (!this.send(msg)) {
        clearTimeout(timer);
        this.requests.delete(msg.requestId);
        reject(new Error('the agent is not connected'));
      }
    });
  }

  private answer(requestId: string, msg: AgentToRelay): void {
    const r = this.requests.get(requestId);
    if (!r) return;
    clearTimeout(r.timer);
    this.requests.delete(requestId);
    r.resolve(msg);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    try {
      this.ws.close(code, closeReason(reason));
    } catch {
      this.ws.terminate();
    }
    // A peer that never answers the close handshake is cut after a short grace.
    this.timers.push(setTimeout(() => this.ws.terminate(), 2000).unref());
  }

  private seen(): void {
    this.lastFrameAt = Date.now();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.seen();
    if (!(isBinary ? this.frameBucket : this.bucket).take()) {
      log.warn('agent link rate limit exceeded', { agent: this.agentName, what: isBinary ? 'output frames' : 'messages' });
      this.close(CloseCode.RateLimited, isBinary ? 'too many output frames' : 'too many messages');
      return;
    }
    // ws hands a Buffer (binaryType 'nodebuffer'); Buffer.from(Buffer) would copy every frame.
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) this.onBinary(buf);
    else this.onText(buf.toString('utf8'));
  }

  private reject(code: string, message: string, ref?: string): void {
    log.warn('invalid message from agent', { agent: this.agentName, code, message });
    this.send({ type: 'error', code, message, ...(ref ? { ref } : {}) });
    if (++this.invalidStreak > MAX_INVALID_STREAK) this.close(CloseCode.ProtocolError, 'too many invalid messages');
  }

  private onBinary(buf: Buffer): void {
    if (this.state !== 'ready') return this.reject(ErrorCode.InvalidMessage, 'binary frame before hello');
    let frame;
    try {
      frame = decodeFrame(buf);
    } catch (err) {
      return this.reject(ErrorCode.InvalidMessage, `bad binary frame: ${(err as Error).message}`);
    }
    this.invalidStreak = 0;
    // Terminal output is only passed on to viewers: the frame as it arrived, no copy. Run and
    // exec output is kept (stored, collected), so its payload gets its own copy rather than
    // pinning the socket's read buffer that it may share with other frames.
    if (frame.kind === FrameKind.ShellOutput) return this.sessions.get(frame.id)?.onOutput(buf, frame);
    frame = { ...frame, payload: Buffer.from(frame.payload) };
    if (frame.kind === FrameKind.RunStdout || frame.kind === FrameKind.RunStderr) {
      this.events.runs()?.onRunOutput(this, frame);
    } else {
      this.execs.get(frame.id)?.onOutput(frame.kind === FrameKind.ExecStdout ? 'stdout' : 'stderr', frame.payload);
    }
  }

  private onText(text: string): void {
    const r = parseControlMessage(agentToRelaySchema, text, AGENT_MESSAGE_TYPES);
    if (!r.ok) return this.reject(r.code, r.message, r.ref);
    this.invalidStreak = 0;
    const msg = r.message;
    if (this.state === 'awaiting_hello') {
      if (msg.type !== 'hello') return this.reject(ErrorCode.InvalidMessage, 'the first message must be hello', msg.type);
      return this.onHello(msg);
    }
    this.dispatch(msg);
  }

  private onHello(hello: AgentHello): void {
    const common = hello.protocolVersions.filter((v) => SUPPORTED_PROTOCOL_VERSIONS.includes(v));
    if (common.length === 0) {
      this.close(CloseCode.UnsupportedVersion, `relay speaks protocol ${SUPPORTED_PROTOCOL_VERSIONS.join(',')}; agent offered ${hello.protocolVersions.join(',')}`);
      return;
    }
    if (hello.agentId !== this.agentId) {
      this.close(CloseCode.Unauthorized, 'hello names a different agent than the credential');
      return;
    }
    this.hello = hello;
    this.protocolVersion = Math.max(...common);
    this.state = 'ready';
    this.send({
      type: 'hello',
      protocolVersion: this.protocolVersion,
      agentId: this.agentId,
      heartbeatIntervalMs: this.timing.heartbeatIntervalMs,
      deadLinkTimeoutMs: this.timing.deadLinkTimeoutMs,
    });
    this.timers.push(setInterval(() => this.heartbeat(), this.timing.heartbeatIntervalMs));
    this.events.onReady(this, hello);
  }

  private heartbeat(): void {
    if (Date.now() - this.lastFrameAt > this.timing.deadLinkTimeoutMs) {
      log.warn('agent link dead: no frame within the timeout', { agent: this.agentName, timeoutMs: this.timing.deadLinkTimeoutMs });
      this.ws.terminate();
      return;
    }
    this.send({ type: 'ping', ts: Date.now() });
    this.events.onSeen(this);
  }

  private dispatch(msg: AgentToRelay): void {
    switch (msg.type) {
      case 'hello':
        return this.reject(ErrorCode.InvalidMessage, 'hello was already received', 'hello');
      case 'pong':
        return;
      case 'shell_started':
        return this.sessions.get(msg.sessionId)?.onStarted(msg);
      case 'shell_attached':
        return this.sessions.get(msg.sessionId)?.onAttached(msg);
      case 'shell_peek_result':
      case 'shell_snapshot_result':
      case 'shell_nudge_result':
        return this.answer(msg.requestId, msg);
      case 'shell_stopped':
        return this.sessions.get(msg.sessionId)?.onStopped(msg);
      case 'shell_error':
        return this.sessions.get(msg.sessionId)?.onError(msg);
      case 'exec_started':
        return this.execs.get(msg.execId)?.onStarted(msg);
      case 'exec_result': {
        const sink = this.execs.get(msg.execId);
        this.execs.delete(msg.execId);
        return sink?.onResult(msg);
      }
      case 'run_started':
      case 'run_finished':
        return this.events.runs()?.onRunMessage(this, msg);
      case 'metrics':
        return this.events.onMetrics(this, msg.sample);
      case 'error':
        log.warn('agent reported an error', { agent: this.agentName, code: msg.code, message: msg.message, ref: msg.ref });
        if (msg.sessionId) this.sessions.get(msg.sessionId)?.onError({ code: msg.code, message: msg.message });
        if (msg.runId) this.events.runs()?.onRunError(this, msg.runId, msg.code, msg.message, msg.ref);
        return;
    }
  }

  /**
   * The route of a session on this link, created on demand (a session the agent reported in
   * hello, or one being started). `onEnded` runs once when the session ends.
   */
  route(sessionId: string, onEnded: (exitCode: number | null, reason: string) => void): SessionRoute {
    let r = this.sessions.get(sessionId);
    if (!r) {
      r = new SessionRoute(this, sessionId, (msg, reason) => {
        this.sessions.delete(sessionId);
        onEnded(msg?.exitCode ?? null, reason);
      });
      this.sessions.set(sessionId, r);
    }
    return r;
  }

  /** Output bytes the agent reported in hello for a session, if it did. */
  helloOutputBytes(sessionId: string): number | null {
    return this.hello?.sessions.find((s) => s.sessionId === sessionId)?.outputBytes ?? null;
  }

  /** Whether the agent said in hello that it holds this session (or it was started on this link). */
  hasSession(sessionId: string): boolean {
    return this.sessions.has(sessionId) || (this.hello?.sessions ?? []).some((s) => s.sessionId === sessionId);
  }

  private onClose(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of this.timers) clearTimeout(t);
    const why = `agent link closed (${code}${reason ? `: ${reason}` : ''})`;
    for (const s of this.sessions.values()) s.onAgentGone(why);
    for (const e of this.execs.values()) e.onAgentGone(why);
    for (const r of this.requests.values()) {
      clearTimeout(r.timer);
      r.reject(new Error(why));
    }
    this.requests.clear();
    this.sessions.clear();
    this.execs.clear();
    this.events.onClosed(this, code, reason);
  }
}
