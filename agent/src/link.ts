/**
 * The agent's one link to the relay: a WebSocket that reconnects with backoff until disposed.
 *
 * States: idle -> connecting -> open -> waiting -> connecting -> ... ; any -> stopped (final,
 * after dispose() or a fatal error). `open` means the socket is up; the link counts as
 * connected once the relay's hello arrived.
 *
 * Per connection:
 *   - upgrade to {api_url as ws(s)}/ws/agent/{agent_id} with `Authorization: Bearer <credential>`
 *     (the credential is read again before every attempt, so `refresh-token` takes effect on the
 *     next reconnect without a restart), no per-message deflate, maxPayload LIMITS.maxMessageBytes;
 *   - first frame: our hello; the relay answers hello with heartbeat and dead-link settings;
 *   - relay `ping` -> `pong {ts}`; we also send ws-level pings every heartbeat interval; ANY
 *     received frame (text, binary, ws ping/pong) proves life; nothing for deadLinkTimeoutMs ->
 *     terminate and reconnect;
 *   - malformed or unknown messages and binary frames get an `error` reply; the link stays;
 *   - frames are sent with an all-zero mask (which ws skips on both ends) where masking protects
 *     nothing: over TLS and to a loopback relay (see linkMaskOptions).
 *
 * Fatal (no more retries, onFatal): HTTP 401/403/404 on the upgrade, a hello with a protocol
 * version we do not speak, and the close codes in FATAL_AGENT_CLOSE_CODES. Everything else
 * (network errors, other HTTP statuses, other closes) reconnects after
 * backoffDelay(attempt, base, cap); the attempt counter resets after a link that got past hello.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  backoffDelay,
  closeCodeName,
  ErrorCode,
  FATAL_AGENT_CLOSE_CODES,
  LIMITS,
  LINK_DEFAULTS,
  messageTypes,
  parseControlMessage,
  PROTOCOL_VERSION,
  relayToAgentSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AgentHello,
  type AgentToRelay,
  type RelayHello,
  type RelayToAgent,
} from '@rexec/shared';
import { silentLogger, type Logger } from './logger.js';
import type { LinkSink } from './sink.js';
import { trustedCas } from './tls.js';

export type LinkState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

/** Messages the link hands on: everything except hello and ping, which it answers itself. */
export type RelayCommand = Exclude<RelayToAgent, { type: 'hello' } | { type: 'ping' }>;

export class LinkFatalError extends Error {
  constructor(
    /** Stable reason: 'unauthorized', 'not_found', 'unsupported_version', 'no_credential', or a close code name. */
    readonly code: string,
    message: string,
    readonly details: { status?: number; closeCode?: number } = {},
  ) {
    super(message);
    this.name = 'LinkFatalError';
  }
}

export interface LinkHandlers {
  onCommand?(msg: RelayCommand): void;
  /** The relay's hello arrived: the link is usable. */
  onConnected?(hello: RelayHello): void;
  /** A socket that was open has gone (wasConnected: it got past hello). */
  onDisconnected?(info: { code: number; reason: string; wasConnected: boolean }): void;
  onReconnectScheduled?(info: { attempt: number; delayMs: number; lastError: string }): void;
  /** No more retries. */
  onFatal?(error: LinkFatalError): void;
  /** The relay answered one of our messages with `error` (e.g. a message type it does not know). */
  onRelayError?(msg: Extract<RelayToAgent, { type: 'error' }>): void;
}

export interface LinkOptions {
  apiUrl: string;
  agentId: string;
  /** Returns the current credential; called before every attempt. Throwing is fatal. */
  credential: () => string;
  /** Host facts for our hello (type, protocolVersions and agentId are filled in). */
  hello: () => Omit<AgentHello, 'type' | 'protocolVersions' | 'agentId'>;
  handlers?: LinkHandlers;
  logger?: Logger;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** Jitter source for backoffDelay; tests pass a constant. */
  random?: () => number;
  /** Used until the relay's hello says otherwise. */
  heartbeatIntervalMs?: number;
  deadLinkTimeoutMs?: number;
  /** Upgrade must complete within this; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Extra CA to trust for wss:// (system roots are always trusted). */
  ca?: Buffer;
}

/** http(s)://host/prefix -> ws(s)://host/prefix/ws/agent/{id} */
export function agentLinkUrl(apiUrl: string, agentId: string): string {
  const u = new URL(apiUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws/agent/${encodeURIComponent(agentId)}`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

const KNOWN_TYPES = messageTypes(relayToAgentSchema);
const MAX_ERROR_BODY = 16 * 1024;

/** What one connection attempt learned; decides what happens when its socket closes. */
interface Attempt {
  ws: WebSocket;
  opened: boolean;
  helloReceived: boolean;
  fatal?: LinkFatalError;
  lastError?: string;
  lastRx: number;
  timers: NodeJS.Timeout[];
}

export class AgentLink implements LinkSink {
  private stateNow: LinkState = 'idle';
  private attemptNo = 0;
  private current: Attempt | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly handlers: LinkHandlers;
  private closedWaiters: (() => void)[] = [];

  constructor(private readonly opts: LinkOptions) {
    this.log = opts.logger ?? silentLogger;
    this.handlers = opts.handlers ?? {};
  }

  get state(): LinkState {
    return this.stateNow;
  }

  /** True once the relay's hello arrived on the current socket. */
  get connected(): boolean {
    return this.stateNow === 'open' && !!this.current?.helloReceived;
  }

  start(): void {
    if (this.stateNow !== 'idle') throw new Error(`link already started (state ${this.stateNow})`);
    this.connect();
  }

  sendJson(msg: AgentToRelay): boolean {
    const ws = this.current?.ws;
    if (this.stateNow !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  sendBinary(frame: Uint8Array): boolean {
    const ws = this.current?.ws;
    if (this.stateNow !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(frame, { binary: true });
    return true;
  }

  bufferedAmount(): number {
    return this.current?.ws.bufferedAmount ?? 0;
  }

  /**
   * Stops for good: closes the socket with `code` (1000 by default) and cancels any retry.
   * Resolves when the socket is closed (or after a short wait for a peer that never answers).
   */
  async dispose(code = 1000, reason = 'agent stopping'): Promise<void> {
    if (this.stateNow === 'stopped' && !this.current) return;
    this.stateNow = 'stopped';
    clearTimeout(this.retryTimer);
    const at = this.current;
    if (!at) return;
    const closed = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    if (at.ws.readyState === WebSocket.OPEN) at.ws.close(code, reason);
    else at.ws.terminate();
    const force = setTimeout(() => at.ws.terminate(), 2000);
    await closed;
    clearTimeout(force);
  }

  // -- connection ------------------------------------------------------------------------------

  private connect(): void {
    if (this.stateNow === 'stopped') return;
    let credential: string;
    try {
      credential = this.opts.credential();
    } catch (err) {
      return this.fatal(new LinkFatalError('no_credential', `cannot read the agent credential: ${(err as Error).message}`));
    }
    let ws: WebSocket;
    try {
      const url = agentLinkUrl(this.opts.apiUrl, this.opts.agentId);
      this.log.debug('link connecting', { url, attempt: this.attemptNo });
      ws = new WebSocket(url, {
        headers: { Authorization: `Bearer ${credential}` },
        maxPayload: LIMITS.maxMessageBytes,
        perMessageDeflate: false,
        ...linkMaskOptions(url),
        handshakeTimeout: this.opts.handshakeTimeoutMs ?? 10_000,
        ...(this.opts.ca ? { ca: trustedCas(this.opts.ca) } : {}),
      });
    } catch (err) {
      // A bad URL or a credential that is not a valid header value: retrying cannot help.
      return this.fatal(new LinkFatalError('bad_config', `cannot open the link: ${(err as Error).message}`));
    }
    this.stateNow = 'connecting';
    const at: Attempt = { ws, opened: false, helloReceived: false, lastRx: Date.now(), timers: [] };
    this.current = at;

    ws.on('unexpected-response', (req, res) => this.onRejected(at, req, res));
    ws.on('open', () => this.onOpen(at));
    ws.on('message', (data, isBinary) => {
      at.lastRx = Date.now();
      if (this.stateNow === 'stopped') return; // shutting down: start nothing new
      if (isBinary) {
        this.reply({ type: 'error', code: ErrorCode.InvalidMessage, message: 'the agent does not accept binary frames' });
        return;
      }
      this.onText(at, rawText(data));
    });
    ws.on('ping', () => (at.lastRx = Date.now()));
    ws.on('pong', () => (at.lastRx = Date.now()));
    ws.on('error', (err) => (at.lastError ??= describeError(err)));
    ws.on('close', (code, reason) => this.onClose(at, code, reason.toString('utf8')));
  }

  private onOpen(at: Attempt): void {
    if (this.stateNow === 'stopped') return void at.ws.close(1000, 'agent stopping');
    this.stateNow = 'open';
    at.opened = true;
    this.log.debug('link socket open; sending hello');
    at.ws.send(
      JSON.stringify({
        type: 'hello',
        protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
        agentId: this.opts.agentId,
        ...this.opts.hello(),
      } satisfies AgentHello),
    );
    this.startLiveness(at, this.opts.heartbeatIntervalMs ?? LINK_DEFAULTS.heartbeatIntervalMs, this.opts.deadLinkTimeoutMs ?? LINK_DEFAULTS.deadLinkTimeoutMs);
  }

  private startLiveness(at: Attempt, heartbeatMs: number, deadMs: number): void {
    for (const t of at.timers.splice(0)) clearInterval(t);
    at.lastRx = Date.now();
    at.timers.push(
      setInterval(() => {
        if (at.ws.readyState === WebSocket.OPEN) at.ws.ping();
      }, heartbeatMs),
    );
    at.timers.push(
      setInterval(() => {
        const silent = Date.now() - at.lastRx;
        if (silent <= deadMs) return;
        at.lastError = `no frame from the relay for ${silent} ms`;
        this.log.warn('link dead; reconnecting', { silentMs: silent, deadLinkTimeoutMs: deadMs });
        at.ws.terminate();
      }, Math.max(5, Math.min(1000, Math.floor(deadMs / 4)))),
    );
  }

  private onText(at: Attempt, text: string): void {
    const parsed = parseControlMessage(relayToAgentSchema, text, KNOWN_TYPES);
    if (!parsed.ok) {
      this.log.warn('bad message from relay', { code: parsed.code, message: parsed.message });
      this.reply({ type: 'error', code: parsed.code, message: parsed.message, ...(parsed.ref ? { ref: parsed.ref } : {}) });
      return;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case 'hello':
        return this.onRelayHello(at, msg);
      case 'ping':
        this.reply({ type: 'pong', ts: msg.ts });
        return;
      case 'error':
        this.log.warn('relay reported an error', { code: msg.code, message: msg.message, ref: msg.ref });
        this.handlers.onRelayError?.(msg);
        return;
      default:
        try {
          this.handlers.onCommand?.(msg);
        } catch (err) {
          // A bug or a race (e.g. resizing a PTY that just exited) must not take the link down.
          this.log.error('command failed', { type: msg.type, error: (err as Error).message });
          this.reply({ type: 'error', code: ErrorCode.Internal, message: `agent failed to handle "${msg.type}": ${(err as Error).message}`.slice(0, 1024), ref: msg.type });
        }
    }
  }

  private onRelayHello(at: Attempt, hello: RelayHello): void {
    if (at.helloReceived) {
      this.log.debug('duplicate hello from relay ignored');
      return;
    }
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.protocolVersion)) {
      at.fatal = new LinkFatalError(
        ErrorCode.UnsupportedVersion,
        `relay chose protocol version ${hello.protocolVersion}; this agent speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
      );
      at.ws.close(4001, 'unsupported protocol version');
      return;
    }
    at.helloReceived = true;
    this.startLiveness(at, hello.heartbeatIntervalMs, hello.deadLinkTimeoutMs);
    this.handlers.onConnected?.(hello);
  }

  private onRejected(at: Attempt, _req: ClientRequest, res: IncomingMessage): void {
    const status = res.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const message = errorBodyMessage(Buffer.concat(chunks).toString('utf8')) ?? (res.statusMessage || `HTTP ${status}`);
      if (status === 401 || status === 403) {
        at.fatal = new LinkFatalError(ErrorCode.Unauthorized, `authentication rejected by relay: ${message}`, { status });
      } else if (status === 404) {
        at.fatal = new LinkFatalError(ErrorCode.NotFound, `relay does not know this agent (deleted?): ${message}`, { status });
      } else {
        at.lastError = `relay answered HTTP ${status}: ${message}`;
      }
      res.destroy();
      at.ws.terminate();
    };
    const timer = setTimeout(finish, 2000);
    res.on('data', (c: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(c);
      size += c.length;
    });
    res.on('end', finish);
    res.on('error', finish);
    res.on('close', finish);
  }

  private onClose(at: Attempt, code: number, reason: string): void {
    for (const t of at.timers.splice(0)) clearInterval(t);
    if (this.current === at) this.current = undefined;
    for (const w of this.closedWaiters.splice(0)) w();
    if (at.opened) this.handlers.onDisconnected?.({ code, reason, wasConnected: at.helloReceived });
    if (this.stateNow === 'stopped') return;

    if (!at.fatal && FATAL_AGENT_CLOSE_CODES.has(code)) {
      at.fatal = new LinkFatalError(closeCodeName(code), `relay closed the link: ${closeCodeName(code)}${reason ? `: ${reason}` : ''}`, { closeCode: code });
    }
    if (at.fatal) return this.fatal(at.fatal);

    if (at.helloReceived) this.attemptNo = 0;
    const why = at.lastError ?? (code === 1006 ? 'connection lost' : `closed with ${closeCodeName(code)}${reason ? `: ${reason}` : ''}`);
    const delayMs = backoffDelay(
      this.attemptNo,
      this.opts.reconnectBaseMs ?? LINK_DEFAULTS.reconnectBaseMs,
      this.opts.reconnectCapMs ?? LINK_DEFAULTS.reconnectCapMs,
      this.opts.random,
    );
    this.attemptNo++;
    this.stateNow = 'waiting';
    this.log.info('link down; retrying', { reason: why, attempt: this.attemptNo, delayMs });
    this.handlers.onReconnectScheduled?.({ attempt: this.attemptNo, delayMs, lastError: why });
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  private fatal(err: LinkFatalError): void {
    this.stateNow = 'stopped';
    clearTimeout(this.retryTimer);
    this.log.error(err.message, { code: err.code });
    this.handlers.onFatal?.(err);
  }

  private reply(msg: AgentToRelay): void {
    this.sendJson(msg);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** `{ error: { message } }` -> message; anything else -> undefined. */
export function errorBodyMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    const m = parsed?.error?.message;
    return typeof m === 'string' && m ? m.slice(0, 512) : undefined;
  } catch {
    return undefined;
  }
}

function describeError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/**
 * WebSocket clients mask every frame so that a cleartext proxy between browser and server
 * cannot be tricked into reading attacker-chosen bytes as HTTP. Under TLS no intermediary sees
 * the bytes, and on loopback there is none, so there the agent sends a zero mask, which ws skips
 * when sending and when receiving: masking was about a tenth of the agent's and the relay's CPU
 * during a terminal flood. Plain ws:// across a network keeps random masks.
 */
export function linkMaskOptions(url: string): { generateMask?: (mask: Buffer) => void } {
  const u = new URL(url);
  const loopback = LOOPBACK_HOSTS.has(u.hostname) || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
  return u.protocol === 'wss:' || loopback ? { generateMask: (mask) => mask.fill(0) } : {};
}
