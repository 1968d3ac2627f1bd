/**
 * Terminal sessions of one agent, keyed by the relay's sessionId.
 *
 * Handles shell_start / shell_input / shell_resize / shell_stop / shell_attach / shell_detach /
 * shell_ack and answers with shell_started, shell_attached, binary output frames, shell_stopped,
 * or shell_error (session_not_found, conflict, too_many_sessions, spawn_failed).
 *
 * Sessions outlive the link: when it drops they are detached (see session.ts) and listed in the
 * next hello, so the relay, restarted or not, can attach them again from any offset the ring
 * still holds. They do not yet outlive the agent process (a per-session host is planned).
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute } from 'node:path';
import { ErrorCode, SESSION_DEFAULTS, type LiveSession, type RelayToAgent } from '@rexec/shared';
import { childEnv } from '../child-env.js';
import type { FlowGate } from '../flow.js';
import { silentLogger, type Logger } from '../logger.js';
import type { LinkSink } from '../sink.js';
import { spawnPty, type PtySpawner } from './pty.js';
import { ShellSession } from './session.js';

export type ShellMessage = Extract<
  RelayToAgent,
  { type: 'shell_start' | 'shell_input' | 'shell_resize' | 'shell_stop' | 'shell_attach' | 'shell_detach' | 'shell_ack' | 'shell_peek' | 'shell_nudge' }
>;

export interface SessionManagerOptions {
  sink: LinkSink;
  gate: FlowGate;
  /** Default shell when shell_start names none. */
  shell: string;
  /** Start directory when shell_start names none; default $HOME. */
  workingDir?: string;
  maxSessions: number;
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

export class SessionManager {
  private readonly sessions = new Map<string, ShellSession>();
  private readonly log: Logger;
  private readonly spawn: PtySpawner;

  constructor(private readonly opts: SessionManagerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.spawn = opts.spawn ?? spawnPty;
  }

  get size(): number {
    return this.sessions.size;
  }

  handle(msg: ShellMessage): void {
    switch (msg.type) {
      case 'shell_start':
        return this.start(msg);
      case 'shell_input':
        return this.withSession(msg.sessionId, (s) => s.write(msg.data));
      case 'shell_resize':
        return this.withSession(msg.sessionId, (s) => s.resize(msg.cols, msg.rows));
      case 'shell_stop':
        return this.withSession(msg.sessionId, (s) => s.stop());
      case 'shell_attach':
        return this.withSession(msg.sessionId, (s) => {
          const fromOffset = s.attach(msg.offset);
          this.opts.sink.sendJson({ type: 'shell_attached', sessionId: msg.sessionId, fromOffset, outputBytes: s.outputBytes, cols: s.cols, rows: s.rows });
          s.kick();
        });
      case 'shell_detach':
        return this.withSession(msg.sessionId, (s) => s.detach());
      case 'shell_ack':
        return this.withSession(msg.sessionId, (s) => s.ack(msg.offset));
      case 'shell_peek':
        return this.withSession(msg.sessionId, (s) =>
          this.opts.sink.sendJson({
            type: 'shell_peek_result',
            sessionId: msg.sessionId,
            requestId: msg.requestId,
            data: s.recent(msg.bytes).toString('base64'),
            outputBytes: s.outputBytes,
            idleMs: s.idleMs,
          }),
        );
      case 'shell_nudge': {
        const s = this.sessions.get(msg.sessionId);
        const reply = (r: { status: 'delivered' | 'timed_out' | 'not_running'; idleMs?: number }): void => {
          this.opts.sink.sendJson({ type: 'shell_nudge_result', sessionId: msg.sessionId, requestId: msg.requestId, ...r });
        };
        if (!s) return reply({ status: 'not_running' });
        void s.nudge(msg.data, msg.quietMs, msg.timeoutMs).then(reply);
        return;
      }
    }
  }

  /** The live sessions, for hello. */
  list(): LiveSession[] {
    return [...this.sessions.values()]
      .filter((s) => s.state !== 'exited')
      .map((s) => ({ sessionId: s.id, pid: s.pid, cols: s.cols, rows: s.rows, outputBytes: s.outputBytes }));
  }

  /** The link is gone: keep every session, stop streaming until the relay attaches again. */
  detachAll(): void {
    for (const s of this.sessions.values()) s.detach();
  }

  /** Stops every session (SIGHUP, then SIGKILL after the grace) and waits until all have exited. */
  async stopAll(): Promise<void> {
    const all = [...this.sessions.values()];
    for (const s of all) s.stop();
    await Promise.all(all.map((s) => s.exited));
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
    let session: ShellSession;
    try {
      const pty = this.spawn(shell, shellArgs(shell), { cols: msg.cols, rows: msg.rows, cwd, env });
      session = new ShellSession(sessionId, pty, this.opts.sink, this.opts.gate, {
        flushMs: this.opts.flushMs ?? 4,
        flushBytes: this.opts.flushBytes ?? 64 * 1024,
        stopGraceMs: this.opts.stopGraceMs ?? 2000,
        cols: msg.cols,
        rows: msg.rows,
        ringBytes: this.opts.ringBytes ?? SESSION_DEFAULTS.ringBufferBytes,
        windowBytes: this.opts.windowBytes ?? SESSION_DEFAULTS.windowBytes,
        idleTimeoutMs: this.opts.idleTimeoutMs ?? SESSION_DEFAULTS.idleTimeoutMs,
        detachedPauseLimitMs: this.opts.detachedPauseLimitMs ?? SESSION_DEFAULTS.detachedPauseLimitMs,
      });
    } catch (err) {
      return this.fail(sessionId, ErrorCode.SpawnFailed, `cannot start ${shell}: ${(err as Error).message}`);
    }
    this.sessions.set(sessionId, session);
    this.log.info('session started', { session: sessionId, pid: session.pid, shell, cols: msg.cols, rows: msg.rows });
    this.opts.sink.sendJson({ type: 'shell_started', sessionId, pid: session.pid, cols: msg.cols, rows: msg.rows });
    void session.exited.then((exit) => {
      this.sessions.delete(sessionId);
      this.log.info('session ended', { session: sessionId, exitCode: exit.exitCode, signal: exit.signal, bytes: session.outputBytes });
    });
  }

  private withSession(sessionId: string, act: (s: ShellSession) => void): void {
    const s = this.sessions.get(sessionId);
    if (!s) return this.fail(sessionId, ErrorCode.SessionNotFound, `no session ${sessionId} on this agent`);
    act(s);
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
