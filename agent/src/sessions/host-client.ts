/**
 * The agent's side of one session host: starting a host process, connecting to its socket, the
 * handshake, and relaying. Link messages for the session go to the host unchanged; the host's
 * answers are checked (host-protocol.ts schemas) and go to the link unchanged, output frames
 * without re-encoding. While the link is backed up the agent stops reading the socket (Pausable),
 * so the host's socket fills and the host pauses the PTY.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame, FrameKind, type AgentToRelay } from '@rexec/shared';
import type { Pausable } from '../flow.js';
import {
  HOST_PROTOCOL_VERSION,
  HostFrameKind,
  HostFrameReader,
  encodeHostJson,
  hostToAgentSchema,
  parseHostJson,
  type AgentToHost,
  type HostSpec,
  type HostToAgent,
  type HostWelcome,
} from './host-protocol.js';

export interface HostClientEvents {
  /** A link message from the host (already validated). */
  message(msg: Extract<HostToAgent, AgentToRelay>): void;
  /** A ready-made ShellOutput link frame of this session. */
  output(frame: Uint8Array, end: number): void;
  /** The connection closed (host ended, crashed, or replaced us). */
  closed(reason: string): void;
  /** Something odd the agent should log. */
  warn(message: string): void;
}

export class HostClient implements Pausable {
  outputBytes: number;
  cols: number;
  rows: number;
  private closedWith: string | null = null;
  private pausedNow = false;

  private constructor(
    private readonly socket: Socket,
    readonly welcome: HostWelcome,
    private readonly events: HostClientEvents,
  ) {
    this.outputBytes = welcome.outputBytes;
    this.cols = welcome.cols;
    this.rows = welcome.rows;
    socket.on('close', () => this.onClose('host connection closed'));
    socket.on('error', (err) => this.onClose(`host connection error: ${err.message}`));
  }

  get sessionId(): string {
    return this.welcome.sessionId;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /**
   * Connects and shakes hands. Rejects when nothing listens, the host refuses, or it does not
   * answer within timeoutMs.
   */
  static connect(socketPath: string, events: HostClientEvents, timeoutMs = 3000): Promise<HostClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      let client: HostClient | null = null;
      const fail = (err: Error) => {
        if (client) return;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const onClose = () => fail(new Error('session host closed the connection'));
      const timer = setTimeout(() => fail(new Error(`session host at ${socketPath} did not answer in ${timeoutMs} ms`)), timeoutMs);
      const reader = new HostFrameReader((kind, body) => {
        if (client) return client.onFrame(kind, body);
        if (kind !== HostFrameKind.Json) throw new Error('session host sent output before its welcome');
        const r = parseHostJson(hostToAgentSchema, body);
        if (!r.ok) throw new Error(`session host answered: ${r.error}`);
        if (r.msg.type === 'host_refused') throw new Error(`session host refused: ${r.msg.message}`);
        if (r.msg.type !== 'host_welcome') throw new Error(`session host answered ${r.msg.type} before its welcome`);
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('close', onClose);
        client = new HostClient(socket, r.msg, events);
        resolve(client);
      });
      socket.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch (err) {
          if (!client) return fail(err as Error);
          events.warn(`bad frame from the session host: ${(err as Error).message}`);
          socket.destroy();
        }
      });
      socket.on('error', fail);
      socket.on('close', onClose);
      socket.on('connect', () => socket.write(encodeHostJson({ type: 'host_hello', version: HOST_PROTOCOL_VERSION })));
    });
  }

  send(msg: AgentToHost): void {
    if (this.closedWith !== null) return;
    if (msg.type === 'shell_resize') {
      this.cols = msg.cols;
      this.rows = msg.rows;
    }
    this.socket.write(encodeHostJson(msg));
  }

  pause(): void {
    if (this.pausedNow) return;
    this.pausedNow = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    this.socket.resume();
  }

  /** Lets go of the host (the session keeps running there, detached). */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => (this.socket.destroy(), resolve()), 1000);
      this.socket.once('close', () => (clearTimeout(t), resolve()));
      this.socket.end();
    });
  }

  private onFrame(kind: HostFrameKind, body: Buffer): void {
    if (kind === HostFrameKind.Output) {
      let frame;
      try {
        frame = decodeFrame(body);
      } catch (err) {
        return this.events.warn(`bad output frame from the session host: ${(err as Error).message}`);
      }
      if (frame.kind !== FrameKind.ShellOutput || frame.id !== this.sessionId) return this.events.warn('output frame for another stream from the session host');
      const end = frame.offset + frame.payload.length;
      if (end > this.outputBytes) this.outputBytes = end;
      return this.events.output(body, end);
    }
    const r = parseHostJson(hostToAgentSchema, body);
    if (!r.ok) return this.events.warn(`invalid message from the session host: ${r.error}`);
    const msg = r.msg;
    switch (msg.type) {
      case 'host_welcome':
      case 'host_refused':
        return this.events.warn(`unexpected ${msg.type} from the session host`);
      case 'host_error':
        return this.events.warn(`session host: ${msg.message}`);
      case 'host_progress':
        this.outputBytes = Math.max(this.outputBytes, msg.outputBytes);
        this.cols = msg.cols;
        this.rows = msg.rows;
        return;
      default:
        if ('sessionId' in msg && msg.sessionId !== this.sessionId) return this.events.warn(`session host answered for another session (${msg.sessionId})`);
        if (msg.type === 'shell_attached') {
          this.cols = msg.cols;
          this.rows = msg.rows;
        }
        return this.events.message(msg);
    }
  }

  private onClose(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    this.events.closed(reason);
  }
}

export interface StartedHost {
  hostPid: number;
  pid: number;
}

/**
 * V8 flags for host processes. A young generation of 1 MiB semi-spaces (the default grows to
 * 16 MiB) keeps a flooding session's host at about 80 MiB instead of 115: what a host allocates
 * per PTY read dies at once, so a small nursery costs no measurable CPU.
 */
const HOST_NODE_FLAGS = ['--max-semi-space-size=1'];

/** How to run host-main: the built .js next to this file, or the .ts source through tsx (tests). */
function hostArgs(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return [...HOST_NODE_FLAGS, '--import', import.meta.resolve('tsx'), join(dirname(here), 'host-main.ts')];
  return [...HOST_NODE_FLAGS, join(dirname(here), 'host-main.js')];
}

/**
 * glibc malloc settings for host processes, unless the agent's environment sets them: one malloc
 * arena instead of one per thread that allocates (V8's compiler and GC threads, libuv's pool).
 * Those arenas keep what the threads freed, several MiB each. Hosts get it in their own
 * environment only: the shell is started with the spec's environment, so programs run in a
 * terminal keep glibc's defaults. The relay's launchers set the same (docs/benchmarks.md).
 */
const HOST_MALLOC_ENV = { MALLOC_ARENA_MAX: '1' };

function spawnHost(logPath: string, env: Record<string, string>): ChildProcess {
  const logFd = openSync(logPath, 'a', 0o600);
  try {
    const child = spawn(process.execPath, hostArgs(), { detached: true, stdio: ['pipe', 'pipe', logFd], env: { ...HOST_MALLOC_ENV, ...env }, cwd: '/' });
    child.stdin!.on('error', () => {});
    // A waiting spare must not keep this process alive.
    child.unref();
    (child.stdin as unknown as Socket).unref?.();
    (child.stdout as unknown as Socket).unref?.();
    return child;
  } finally {
    closeSync(logFd);
  }
}

/**
 * Starts session host processes. One spare host is kept started ahead (node's start-up and
 * module loading take most of a host's start time), so a new terminal only waits for its shell.
 * A spare that never gets a spec exits when its stdin closes (this process ending included).
 */
export class HostLauncher {
  private spare: ChildProcess | null = null;

  constructor(
    private readonly logPath: string,
    private readonly env: Record<string, string>,
    private readonly keepSpare = true,
  ) {}

  /** Starts the spare now (the agent does at start). */
  warm(): void {
    if (!this.keepSpare || (this.spare && this.spare.exitCode === null && !this.spare.killed)) return;
    this.spare = spawnHost(this.logPath, this.env);
    this.spare.once('exit', () => {
      if (this.spare?.exitCode !== null) this.spare = null;
    });
  }

  /** Starts a host for `spec` and waits for its readiness line; then warms the next spare. */
  start(spec: HostSpec, timeoutMs = 15_000): Promise<StartedHost> {
    let child = this.spare && this.spare.exitCode === null && !this.spare.killed ? this.spare : null;
    this.spare = null;
    child ??= spawnHost(this.logPath, spec.env);
    const p = handOver(child, spec, this.logPath, timeoutMs);
    void p.then(
      () => this.warm(),
      () => this.warm(),
    );
    return p;
  }

  /** Lets the spare go (it exits on the closed stdin). */
  dispose(): void {
    this.spare?.stdin?.end();
    this.spare?.unref();
    this.spare = null;
  }
}

/** Sends `spec` to a started host process and waits for its readiness line. */
function handOver(child: ChildProcess, spec: HostSpec, logPath: string, timeoutMs: number): Promise<StartedHost> {
  return new Promise((resolve, reject) => {
    let out = '';
    let done = false;
    const finish = (err: Error | null, value?: StartedHost) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.unref();
      if (err) {
        if (child.exitCode === null) child.kill('SIGKILL');
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`the session host did not start within ${timeoutMs} ms`)), timeoutMs);
    child.on('error', (err) => finish(new Error(`cannot start the session host: ${err.message}`)));
    child.on('exit', (code, signal) => finish(new Error(`the session host exited before it was ready (${signal ?? `code ${code}`}); see ${logPath}`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      let line: { ok?: boolean; error?: string; hostPid?: number; pid?: number };
      try {
        line = JSON.parse(out.slice(0, nl)) as typeof line;
      } catch {
        return finish(new Error('the session host wrote an unreadable readiness line'));
      }
      if (line.ok && typeof line.hostPid === 'number' && typeof line.pid === 'number') finish(null, { hostPid: line.hostPid, pid: line.pid });
      else finish(new Error(line.error ?? 'the session host failed to start'));
    });
    child.stdin!.end(JSON.stringify(spec));
  });
}
