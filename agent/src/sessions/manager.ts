/**
 * Terminal sessions of one agent, keyed by the relay's sessionId.
 *
 * Handles shell_start / shell_input / shell_resize / shell_stop / shell_attach / shell_detach /
 * shell_ack / shell_peek / shell_nudge / shell_snapshot and answers with shell_started,
 * shell_attached, binary output frames, the *_result messages, shell_stopped, or shell_error
 * (session_not_found, conflict, too_many_sessions, spawn_failed).
 *
 * Where sessions live: with a `stateDir` (a real agent) each session is owned by its own session
 * host process (host.ts, host-main.ts) that outlives the agent; the manager starts hosts, relays
 * messages and frames between them and the link, and on start finds the hosts an earlier agent
 * process left (`recover()`). Without one (tests with a fake PTY) sessions run in-process.
 *
 * Sessions outlive the link: when it drops they are detached and listed in the next hello, so the
 * relay, restarted or not, can attach them again from any offset the ring still holds. Stopping
 * the agent lets go of the hosts (`release()`); the shells keep running.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { ErrorCode, SESSION_DEFAULTS, type LiveSession, type RelayToAgent } from '@rexec/shared';
import { childEnv } from '../child-env.js';
import type { FlowGate } from '../flow.js';
import { silentLogger, type Logger } from '../logger.js';
import type { LinkSink } from '../sink.js';
import { HostClient, HostLauncher } from './host-client.js';
import { spawnPty, type PtySpawner } from './pty.js';
import { OutputRing } from './output-ring.js';
import { ScreenMirror } from './screen-mirror.js';
import type { HostSpec } from './host-protocol.js';
import { serveSessionMessage, type SessionMessage } from './serve.js';
import { ShellSession } from './session.js';
import { ensureOwnPrivateDir, hostAlive, readHostStates, removeHostFiles, socketPathFor } from './state-dir.js';

export type ShellMessage = Extract<RelayToAgent, { type: 'shell_start' }> | SessionMessage;

export interface SessionManagerOptions {
  sink: LinkSink;
  gate: FlowGate;
  /** Default shell when shell_start names none. */
  shell: string;
  /** Start directory when shell_start names none; default $HOME. */
  workingDir?: string;
  maxSessions: number;
  /** Run sessions in session host processes with their files here (see state-dir.ts). */
  stateDir?: string;
  /** In-process sessions on this PTY spawner (tests); ignored when stateDir is set. */
  spawn?: PtySpawner;
  logger?: Logger;
  /** Environment the shells inherit (REXEC_* removed); default process.env. */
  env?: NodeJS.ProcessEnv;
  flushMs?: number;
  flushBytes?: number;
  stopGraceMs?: number;
  /** Output kept per session (SESSION_DEFAULTS.ringBufferBytes). */
  ringBytes?: number;
  windowBytes?: number;
  /** A session with nobody attached ends after this long. */
  idleTimeoutMs?: number;
  detachedPauseLimitMs?: number;
}


const LOGIN_SHELLS = new Set(['bash', 'zsh', 'fish', 'ksh', 'mksh', 'sh', 'dash']);

export function shellArgs(shell: string): string[] {
  return LOGIN_SHELLS.has(basename(shell)) ? ['-l'] : [];
}

/** One session as the manager sees it, wherever it lives. */
interface Entry {
  readonly id: string;
  /** Still starting (a host being spawned): messages wait in `queue`. */
  starting: boolean;
  queue: SessionMessage[];
  local?: { session: ShellSession; mirror: ScreenMirror };
  remote?: HostClient;
  gateSub?: { dispose(): void };
  /** The shell's pid. */
  pid: number;
}

/** How every session is run, whether in a host or in this process (the host's spec carries it). */
/**
 * Largest terminal output frame. The relay reads its sockets 64 KiB at a time, and a frame that
 * does not fit in the read it starts in is copied whole into a new buffer before it is forwarded.
 * With 64 KiB frames (plus a header) that was every frame: the relay held up to 13 MiB of read and
 * copy buffers waiting for the garbage collector during a flood. Frames of 32 KiB took the relay's
 * peak in `npm run bench` from 102 to 95-97 MiB in alternating runs, at the same throughput
 * (docs/benchmarks.md, sixth session).
 */
const OUTPUT_FRAME_BYTES = 32 * 1024;

type SessionTuning = Pick<HostSpec, 'flushMs' | 'flushBytes' | 'stopGraceMs' | 'ringBytes' | 'windowBytes' | 'idleTimeoutMs' | 'detachedPauseLimitMs'>;

export class SessionManager {
  private readonly sessions = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly spawn: PtySpawner;
  private releasing = false;
  private launcher: HostLauncher | null = null;

  constructor(private readonly opts: SessionManagerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.spawn = opts.spawn ?? spawnPty;
  }

  /** Starts host processes (one spare ahead); created on first use. */
  private hosts(): HostLauncher {
    const dir = this.opts.stateDir!;
    ensureOwnPrivateDir(dir);
    this.launcher ??= new HostLauncher(join(dir, 'hosts.log'), childEnv(this.opts.env ?? process.env, {}, { TERM: 'xterm-256color', COLORTERM: 'truecolor' }));
    return this.launcher;
  }

  get size(): number {
    return this.sessions.size;
  }

  private get hosted(): boolean {
    return this.opts.stateDir !== undefined;
  }

  handle(msg: ShellMessage): void {
    if (msg.type === 'shell_start') return this.start(msg);
    const e = this.sessions.get(msg.sessionId);
    if (!e) {
      if (msg.type === 'shell_nudge') return void this.opts.sink.sendJson({ type: 'shell_nudge_result', sessionId: msg.sessionId, requestId: msg.requestId, status: 'not_running' });
      return this.fail(msg.sessionId, ErrorCode.SessionNotFound, `no session ${msg.sessionId} on this agent`);
    }
    if (e.starting) return void e.queue.push(msg);
    this.deliver(e, msg);
  }

  private deliver(e: Entry, msg: SessionMessage): void {
    if (e.local) return serveSessionMessage(e.local.session, msg, this.opts.sink, e.local.mirror);
    e.remote?.send(msg);
  }

  /** The live sessions, for hello. */
  list(): LiveSession[] {
    const out: LiveSession[] = [];
    for (const e of this.sessions.values()) {
      if (e.local && e.local.session.state !== 'exited') {
        const s = e.local.session;
        out.push({ sessionId: s.id, pid: s.pid, cols: s.cols, rows: s.rows, outputBytes: s.outputBytes });
      } else if (e.remote && !e.remote.closed) {
        const r = e.remote;
        out.push({ sessionId: e.id, pid: e.pid, cols: r.cols, rows: r.rows, outputBytes: r.outputBytes });
      }
    }
    return out;
  }

  /** The link is gone: keep every session, stop streaming until the relay attaches again. */
  detachAll(): void {
    for (const e of this.sessions.values()) {
      if (e.local) e.local.session.detach();
      else e.remote?.send({ type: 'shell_detach', sessionId: e.id });
    }
  }

  /**
   * The agent is stopping. Hosted sessions: let go of the hosts, which keep the shells running
   * (detached) for the next agent process. In-process sessions cannot outlive us: stopped.
   */
  async release(): Promise<void> {
    this.releasing = true;
    this.launcher?.dispose();
    const waits: Promise<unknown>[] = [];
    for (const e of this.sessions.values()) {
      if (e.remote) waits.push(e.remote.close());
      if (e.local) {
        e.local.session.stop();
        waits.push(e.local.session.exited);
      }
    }
    await Promise.all(waits);
  }

  /**
   * Finds the session hosts an earlier agent process left: connects to each, lists the live ones
   * from now on, and removes the files of hosts that are gone.
   */
  async recover(): Promise<void> {
    const dir = this.opts.stateDir;
    if (!dir) return;
    try {
      this.hosts().warm();
    } catch (err) {
      this.log.warn('cannot prepare a session host', { err: (err as Error).message });
    }
    const { states, invalid } = readHostStates(dir);
    for (const path of invalid) {
      this.log.warn('removing an unreadable session state file', { path });
      rmSync(path, { force: true });
    }
    const known = new Set<string>();
    await Promise.all(
      states.map(async (st) => {
        known.add(st.socket);
        if (this.sessions.has(st.sessionId)) return;
        const e: Entry = { id: st.sessionId, starting: true, queue: [], pid: st.pid };
        this.sessions.set(st.sessionId, e);
        try {
          const client = await HostClient.connect(st.socket, this.hostEvents(e));
          if (client.welcome.sessionId !== st.sessionId) throw new Error(`the host at ${st.socket} serves ${client.welcome.sessionId}`);
          this.adopt(e, client);
          this.log.info('session recovered', {
            session: st.sessionId,
            pid: client.welcome.pid,
            hostPid: client.welcome.hostPid,
            outputBytes: client.welcome.outputBytes,
            exited: client.welcome.exited ? (client.welcome.exited.signal ?? client.welcome.exited.exitCode) : undefined,
          });
        } catch (err) {
          this.sessions.delete(st.sessionId);
          if (!hostAlive(st.hostPid)) {
            this.log.info('removing the files of a session host that is gone', { session: st.sessionId, hostPid: st.hostPid });
            removeHostFiles(dir, st);
          } else {
            this.log.warn('a session host is running but this agent cannot take it over (no answer, or another protocol version); leaving it', { session: st.sessionId, hostPid: st.hostPid, err: (err as Error).message });
          }
        }
      }),
    );
    // Sockets no state file names (a host killed between the two): remove them.
    for (const name of safeReaddir(dir)) {
      const p = join(dir, name);
      if (name.endsWith('.sock') && !known.has(p)) rmSync(p, { force: true });
    }
  }

  /** In-process sessions only (tests): stops every session and waits until all have exited. */
  async stopAll(): Promise<void> {
    const all = [...this.sessions.values()];
    for (const e of all) {
      if (e.local) e.local.session.stop();
      else e.remote?.send({ type: 'shell_stop', sessionId: e.id });
    }
    await Promise.all(all.map((e) => e.local?.session.exited));
  }

  private start(msg: Extract<ShellMessage, { type: 'shell_start' }>): void {
    const { sessionId } = msg;
    if (this.sessions.has(sessionId)) return this.fail(sessionId, ErrorCode.Conflict, `session ${sessionId} already exists`);
    if (this.sessions.size >= this.opts.maxSessions) {
      return this.fail(sessionId, ErrorCode.TooManySessions, `this agent serves at most ${this.opts.maxSessions} sessions at once`);
    }
    const shell = msg.shell || this.opts.shell;
    const cwd = msg.cwd || this.opts.workingDir || homedir();
    if (!isDirectory(cwd)) return this.fail(sessionId, ErrorCode.SpawnFailed, `working directory ${cwd} does not exist`);
    if (isAbsolute(shell) && !existsSync(shell)) return this.fail(sessionId, ErrorCode.SpawnFailed, `shell ${shell} not found`);
    const env = childEnv(this.opts.env ?? process.env, msg.env ?? {}, { TERM: 'xterm-256color', COLORTERM: 'truecolor' });
    const tuning: SessionTuning = {
      flushMs: this.opts.flushMs ?? 4,
      flushBytes: this.opts.flushBytes ?? OUTPUT_FRAME_BYTES,
      stopGraceMs: this.opts.stopGraceMs ?? 2000,
      ringBytes: this.opts.ringBytes ?? SESSION_DEFAULTS.ringBufferBytes,
      windowBytes: this.opts.windowBytes ?? SESSION_DEFAULTS.windowBytes,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? SESSION_DEFAULTS.idleTimeoutMs,
      detachedPauseLimitMs: this.opts.detachedPauseLimitMs ?? SESSION_DEFAULTS.detachedPauseLimitMs,
    };
    if (this.hosted) return void this.startHosted(msg, shell, cwd, env, tuning);

    let session: ShellSession;
    let mirror: ScreenMirror;
    try {
      const pty = this.spawn(shell, shellArgs(shell), { cols: msg.cols, rows: msg.rows, cwd, env });
      const ring = new OutputRing();
      mirror = new ScreenMirror({ cols: msg.cols, rows: msg.rows, source: ring });
      session = new ShellSession(sessionId, pty, this.opts.sink, this.opts.gate, { ...tuning, cols: msg.cols, rows: msg.rows, ring, tap: mirror });
    } catch (err) {
      return this.fail(sessionId, ErrorCode.SpawnFailed, `cannot start ${shell}: ${(err as Error).message}`);
    }
    this.sessions.set(sessionId, { id: sessionId, starting: false, queue: [], local: { session, mirror }, pid: session.pid });
    this.log.info('session started', { session: sessionId, pid: session.pid, shell, cols: msg.cols, rows: msg.rows });
    this.opts.sink.sendJson({ type: 'shell_started', sessionId, pid: session.pid, cols: msg.cols, rows: msg.rows });
    void session.ended.then((exit) => {
      mirror.dispose();
      this.sessions.delete(sessionId);
      this.log.info('session ended', { session: sessionId, exitCode: exit.exitCode, signal: exit.signal, bytes: session.outputBytes });
    });
  }

  private async startHosted(
    msg: Extract<ShellMessage, { type: 'shell_start' }>,
    shell: string,
    cwd: string,
    env: Record<string, string>,
    tuning: SessionTuning,
  ): Promise<void> {
    const { sessionId } = msg;
    const dir = this.opts.stateDir!;
    const e: Entry = { id: sessionId, starting: true, queue: [], pid: 0 };
    this.sessions.set(sessionId, e);
    const socketPath = socketPathFor(dir, sessionId, env);
    try {
      const started = await this.hosts().start({ sessionId, shell, args: shellArgs(shell), cwd, env, cols: msg.cols, rows: msg.rows, stateDir: dir, socketPath, ...tuning });
      e.pid = started.pid;
      const client = await HostClient.connect(socketPath, this.hostEvents(e));
      // A new shell streams from its first byte at once; the relay expects shell_started, not shell_attached.
      this.swallowAttach.add(sessionId);
      client.send({ type: 'shell_attach', sessionId, offset: 0 });
      this.adopt(e, client);
      this.log.info('session started', { session: sessionId, pid: started.pid, hostPid: started.hostPid, shell, cols: msg.cols, rows: msg.rows });
      this.opts.sink.sendJson({ type: 'shell_started', sessionId, pid: started.pid, cols: msg.cols, rows: msg.rows });
    } catch (err) {
      this.sessions.delete(sessionId);
      this.fail(sessionId, ErrorCode.SpawnFailed, `cannot start ${shell}: ${(err as Error).message}`);
    }
  }

  private readonly swallowAttach = new Set<string>();

  private adopt(e: Entry, client: HostClient): void {
    e.remote = client;
    e.pid = client.welcome.pid;
    e.gateSub = this.opts.gate.add(client);
    e.starting = false;
    for (const m of e.queue.splice(0)) this.deliver(e, m);
    if (this.releasing) void client.close();
  }

  private hostEvents(e: Entry) {
    return {
      message: (m: Parameters<Parameters<typeof HostClient.connect>[1]['message']>[0]) => {
        if (m.type === 'shell_attached' && this.swallowAttach.delete(e.id)) return;
        if (m.type === 'shell_stopped') {
          this.sessions.delete(e.id);
          e.gateSub?.dispose();
          this.log.info('session ended', { session: e.id, exitCode: m.exitCode, signal: m.signal, bytes: m.outputBytes });
        }
        this.opts.sink.sendJson(m);
      },
      output: (frame: Uint8Array) => {
        this.opts.sink.sendBinary(frame);
        this.opts.gate.check();
      },
      closed: (reason: string) => {
        e.gateSub?.dispose();
        if (this.releasing || this.sessions.get(e.id) !== e || !e.remote) return;
        // The host went away without reporting an end (killed): the session is lost.
        this.sessions.delete(e.id);
        this.log.warn('session host gone', { session: e.id, reason });
        this.fail(e.id, ErrorCode.SessionNotFound, `the session host of ${e.id} went away (${reason})`);
      },
      warn: (message: string) => this.log.warn(message, { session: e.id }),
    };
  }

  private fail(sessionId: string, code: ErrorCode, message: string): void {
    this.log.warn('session error', { session: sessionId, code, message });
    this.opts.sink.sendJson({ type: 'shell_error', sessionId, code, message });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
