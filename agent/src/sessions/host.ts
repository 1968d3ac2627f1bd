/**
 * A session host: owns one ShellSession (PTY, ring buffer, window/ack flow control, idle
 * timeout, nudge, peek) and its screen mirror, and serves them to one agent at a time over a unix
 * socket (protocol in host-protocol.ts). host-main.ts runs it as its own process so the session
 * outlives the agent; tests run it in-process.
 *
 * Flow control: output frames go to the agent's socket; when more than SOCKET_HIGH_BYTES are
 * queued there (the agent stopped reading because its link is backed up) the PTY is paused like
 * for a full link, and resumed on 'drain'. With no agent connected the session is detached: it
 * buffers, pauses, then overwrites, and ends after its idle timeout (session.ts). A shell that
 * exits while no agent is connected keeps its exit and output until an agent attaches.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { AgentToRelay } from '@rexec/shared';
import type { Disposable, OutputGate, Pausable } from '../flow.js';
import { silentLogger, type Logger } from '../logger.js';
import type { LinkSink } from '../sink.js';
import {
  HOST_PROTOCOL_VERSION,
  HostFrameKind,
  HostFrameReader,
  agentToHostSchema,
  encodeHostJson,
  hostFrameHeader,
  parseHostJson,
  type HostToAgent,
} from './host-protocol.js';
import type { PtyExit, PtyProcess } from './pty.js';
import { OutputRing } from './output-ring.js';
import { ScreenMirror } from './screen-mirror.js';
import { serveSessionMessage } from './serve.js';
import { ShellSession, type SessionOptions } from './session.js';

/** Bytes queued on the agent socket before the PTY is paused. */
export const SOCKET_HIGH_BYTES = 512 * 1024;
const HELLO_TIMEOUT_MS = 5000;
const PROGRESS_MS = 1000;

export interface SessionHostOptions extends Omit<SessionOptions, 'tap' | 'holdExit' | 'ring'> {
  sessionId: string;
  socketPath: string;
  logger?: Logger;
  /** Called after a resize (the host rewrites its state file). */
  onResize?(cols: number, rows: number): void;
  /** Mirror tuning (ScreenMirror's idleMs). */
  mirrorIdleMs?: number;
}

export class SessionHost implements OutputGate {
  readonly session: ShellSession;
  readonly mirror: ScreenMirror;
  readonly startedAt = new Date().toISOString();
  private readonly server: Server;
  private conn: Socket | null = null;
  private readonly producers = new Set<Pausable>();
  private backedUp = false;
  private readonly log: Logger;
  private progressTimer: NodeJS.Timeout;
  private lastProgress = -1;
  private closed = false;

  constructor(private readonly pty: PtyProcess, private readonly opts: SessionHostOptions) {
    this.log = opts.logger ?? silentLogger;
    const ring = new OutputRing();
    this.mirror = new ScreenMirror({
      cols: opts.cols,
      rows: opts.rows,
      source: ring,
      ...(opts.mirrorIdleMs !== undefined ? { idleMs: opts.mirrorIdleMs } : {}),
    });
    const sink: LinkSink = {
      sendJson: (msg) => this.sendJson(msg),
      sendBinary: (frame) => this.sendOutput(frame),
      bufferedAmount: () => this.conn?.writableLength ?? 0,
    };
    this.session = new ShellSession(opts.sessionId, pty, sink, this, {
      ...opts,
      ring,
      holdExit: () => this.conn === null,
      tap: {
        output: () => this.mirror.output(),
        resize: (cols, rows) => {
          this.mirror.resize(cols, rows);
          opts.onResize?.(cols, rows);
        },
      },
    });
    // No agent yet: detached until one connects and a viewer attaches.
    this.session.detach();
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.log.error('host socket error', { err: err.message }));
    this.progressTimer = setInterval(() => this.progress(), PROGRESS_MS);
    this.progressTimer.unref();
  }

  /** Resolves once the session has ended and been reported (or expired). */
  get ended(): Promise<PtyExit> {
    return this.session.ended;
  }

  get pid(): number {
    return this.pty.pid;
  }

  listen(): Promise<void> {
    rmSync(this.opts.socketPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops serving: closes the agent connection and the socket (the caller removes the files). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.progressTimer);
    this.mirror.dispose();
    const conn = this.conn;
    return new Promise((resolve) => {
      const done = () => {
        this.server.close(() => resolve());
      };
      if (!conn || conn.destroyed) return done();
      const t = setTimeout(() => (conn.destroy(), done()), 2000);
      conn.end(() => {
        clearTimeout(t);
        done();
      });
    });
  }

  // ---- OutputGate (the agent socket) --------------------------------------------------------

  add(p: Pausable): Disposable {
    this.producers.add(p);
    if (this.backedUp) p.pause();
    return { dispose: () => void this.producers.delete(p) };
  }

  check(): void {
    const c = this.conn;
    if (this.backedUp || !c || c.writableLength <= SOCKET_HIGH_BYTES) return;
    this.backedUp = true;
    for (const p of this.producers) p.pause();
    c.once('drain', () => {
      if (this.conn === c) this.unblock();
    });
  }

  private unblock(): void {
    if (!this.backedUp) return;
    this.backedUp = false;
    for (const p of this.producers) p.resume();
  }

  // ---- the agent connection ------------------------------------------------------------------

  private sendJson(msg: AgentToRelay | HostToAgent): boolean {
    const c = this.conn;
    if (!c || c.destroyed) return false;
    c.write(encodeHostJson(msg as HostToAgent));
    return true;
  }

  private sendOutput(frame: Uint8Array): boolean {
    const c = this.conn;
    if (!c || c.destroyed) return false;
    // Header and frame in one writev, without copying the frame.
    c.cork();
    c.write(hostFrameHeader(HostFrameKind.Output, frame.length));
    c.write(frame);
    c.uncork();
    return true;
  }

  private progress(): void {
    const bytes = this.session.outputBytes;
    if (!this.conn || bytes === this.lastProgress) return;
    this.lastProgress = bytes;
    this.sendJson({ type: 'host_progress', outputBytes: bytes, cols: this.session.cols, rows: this.session.rows });
  }

  private onConnection(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    let greeted = false;
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const refuse = (message: string) => {
      socket.end(encodeHostJson({ type: 'host_refused', message }));
    };
    const reader = new HostFrameReader((kind, body) => {
      if (kind !== HostFrameKind.Json) throw new Error('agents send JSON frames only');
      const r = parseHostJson(agentToHostSchema, body);
      if (!r.ok) {
        if (!greeted) return refuse(`expected host_hello: ${r.error}`);
        this.log.warn('invalid message from the agent', { error: r.error });
        if (this.conn === socket) this.sendJson({ type: 'host_error', message: r.error });
        return;
      }
      const msg = r.msg;
      if (!greeted) {
        if (msg.type !== 'host_hello') return refuse('the first message must be host_hello');
        if (msg.version !== HOST_PROTOCOL_VERSION) return refuse(`this host speaks version ${HOST_PROTOCOL_VERSION}, not ${msg.version}`);
        greeted = true;
        clearTimeout(helloTimer);
        return this.adopt(socket);
      }
      if (this.conn !== socket || msg.type === 'host_hello') return;
      if (msg.sessionId !== this.opts.sessionId) {
        this.sendJson({ type: 'host_error', message: `this host serves session ${this.opts.sessionId}, not ${msg.sessionId}` });
        return;
      }
      serveSessionMessage(this.session, msg, { sendJson: (m) => this.sendJson(m) }, this.mirror);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        this.log.warn('dropping the agent connection: bad frame', { err: (err as Error).message });
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.log.debug('agent socket error', { err: err.message }));
    socket.on('close', () => {
      clearTimeout(helloTimer);
      if (this.conn !== socket) return;
      this.conn = null;
      this.unblock();
      this.session.detach();
      this.log.info('agent disconnected');
    });
  }

  private adopt(socket: Socket): void {
    const old = this.conn;
    this.conn = socket;
    if (old) {
      // A newer agent replaces the old connection; the relay attaches again through it.
      this.session.detach();
      old.destroy();
    }
    this.unblock();
    const held = this.session.exitHeld;
    this.lastProgress = this.session.outputBytes;
    this.sendJson({
      type: 'host_welcome',
      version: HOST_PROTOCOL_VERSION,
      sessionId: this.opts.sessionId,
      hostPid: process.pid,
      pid: this.pty.pid,
      cols: this.session.cols,
      rows: this.session.rows,
      outputBytes: this.session.outputBytes,
      startedAt: this.startedAt,
      exited: held ? { exitCode: held.exitCode, signal: held.signal } : null,
    });
    this.log.info('agent connected', { session: this.opts.sessionId });
  }
}
