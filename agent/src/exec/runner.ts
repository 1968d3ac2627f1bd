/**
 * One-shot commands (`exec` / `exec_kill` / `exec_flow`).
 *
 * Each exec runs in its own process group (`detached: true`), stdin closed. stdout and stderr go
 * to the relay as binary ExecStdout / ExecStderr frames with per-stream byte offsets; each stream
 * forwards at most `maxOutputBytes` (then `truncated` is set and the rest is read and dropped, so
 * the program never blocks on a full pipe for that). The exec ends with `exec_result`.
 *
 * Backpressure: the pipes are not read while the link is backed up (the flow gate) or while the
 * client the relay streams the output to is behind (`exec_flow` paused), so the command blocks
 * in write instead of its output piling up in the agent or the relay.
 *
 * Timeout and exec_kill signal the whole group: SIGTERM, then SIGKILL after killGraceMs, and the
 * result is sent only once the group is gone or has been sent SIGKILL, so nothing the command
 * started outlives it.
 *
 * Normal exit: when the leader exits but background children still hold the pipes, the runner
 * waits `exitDrainMs` (200 ms) for the pipes to close, then closes its ends and reports. Those
 * background processes are left running (like `nohup cmd &` in an ssh session); output they
 * write afterwards is lost (they get EPIPE/SIGPIPE). Use setsid or a service manager for real
 * daemons; kill and timeout always take the whole group.
 */
import { TimerSet } from '../timer-set.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { encodeFrame, ErrorCode, FrameKind, LIMITS, type ExecMessage, type ExecResult } from '@rexec/shared';
import { childEnv } from '../child-env.js';
import type { CommandAllowlist } from '../command-allowlist.js';
import type { FlowGate } from '../flow.js';
import { silentLogger, type Logger } from '../logger.js';
import type { LinkSink } from '../sink.js';
import { terminateGroup } from './process-group.js';
import { spawnErrorMessage } from './spawn-error.js';

export type ExecControl = ExecMessage | { type: 'exec_kill'; execId: string } | { type: 'exec_flow'; execId: string; paused: boolean };

export interface ExecRunnerOptions {
  sink: LinkSink;
  gate: FlowGate;
  /** Shell for `command` execs (`shell -c command`). */
  shell: string;
  /** Default working directory; default $HOME. */
  workingDir?: string;
  /** Environment the commands inherit (REXEC_* removed); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** When active, an exec's command text must match it. */
  allowlist?: CommandAllowlist;
  /** Per-stream output cap; default LIMITS.maxExecOutputBytes. */
  maxOutputBytes?: number;
  /** Wait for pipes after the leader exited; default 200 ms. */
  exitDrainMs?: number;
  logger?: Logger;
}

interface StreamState {
  kind: FrameKind;
  offset: number;
  ended: boolean;
  /** The pipe, once the command runs. */
  pipe?: NodeJS.ReadableStream;
  /** The link is backed up (the flow gate paused this stream). */
  linkPaused: boolean;
}

export class ExecRunner {
  private readonly running = new Map<string, RunningExec>();
  private readonly log: Logger;

  constructor(private readonly opts: ExecRunnerOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  get size(): number {
    return this.running.size;
  }

  handle(msg: ExecControl): void {
    if (msg.type === 'exec') void this.start(msg);
    else if (msg.type === 'exec_flow') this.flow(msg.execId, msg.paused);
    else this.kill(msg.execId);
  }

  /**
   * exec_flow: the relay's client is behind (paused) or has caught up. An exec that is not running
   * (it has just finished) is ignored: the relay may send this while the result is on its way.
   */
  flow(execId: string, paused: boolean): boolean {
    const run = this.running.get(execId);
    run?.setClientPaused(paused);
    return run !== undefined;
  }

  /**
   * Starts an exec; the promise settles with the result after exec_result was sent. Null when the
   * execId is already running (an `error` with code conflict was sent instead).
   */
  start(msg: ExecMessage): Promise<ExecResult> | null {
    if (this.running.has(msg.execId)) {
      this.opts.sink.sendJson({ type: 'error', code: ErrorCode.Conflict, message: `exec ${msg.execId} is already running`, ref: 'exec', execId: msg.execId });
      return null;
    }
    const run = new RunningExec(msg, this.opts, this.log);
    this.running.set(msg.execId, run);
    return run.result.then((result) => {
      this.running.delete(msg.execId);
      return result;
    });
  }

  /** exec_kill: TERM the group, KILL after the grace. False when no such exec runs. */
  kill(execId: string): boolean {
    const run = this.running.get(execId);
    if (!run) {
      this.opts.sink.sendJson({ type: 'error', code: ErrorCode.NotFound, message: `no exec ${execId} is running`, ref: 'exec_kill', execId });
      return false;
    }
    run.terminate(false);
    return true;
  }

  /** Kills every running exec (agent shutdown or link loss) and waits for their results. */
  async killAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.terminate(false);
    await Promise.all(all.map((r) => r.result));
  }
}

/**
 * One exec. finish() sends the result once everything it waits for has happened: the leader
 * exited, both pipes closed (or were abandoned after exitDrainMs), and after a kill or timeout
 * the group is gone (or was sent SIGKILL). Each event sets its flag and calls finish().
 */
class RunningExec {
  readonly result: Promise<ExecResult>;
  private resolveResult!: (r: ExecResult) => void;
  private child: ChildProcess | undefined;
  private readonly startedAt = performance.now();
  private readonly cap: number;
  private readonly streams: { stdout: StreamState; stderr: StreamState };
  private truncated = false;
  private timedOut = false;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: string | undefined;
  private pipesAbandoned = false;
  /** undefined: never terminated; false: TERM sent, group still there; true: group gone or KILL sent. */
  private groupSettled: boolean | undefined;
  private killSent = false;
  private finished = false;
  private readonly timers = new TimerSet();
  /** The relay's client is behind (exec_flow); cleared when the exec is terminated. */
  private clientPaused = false;

  constructor(
    private readonly msg: ExecMessage,
    private readonly opts: ExecRunnerOptions,
    private readonly log: Logger,
  ) {
    this.result = new Promise((r) => (this.resolveResult = r));
    this.cap = opts.maxOutputBytes ?? LIMITS.maxExecOutputBytes;
    this.streams = {
      stdout: { kind: FrameKind.ExecStdout, offset: 0, ended: false, linkPaused: false },
      stderr: { kind: FrameKind.ExecStderr, offset: 0, ended: false, linkPaused: false },
    };
    this.launch();
  }

  private launch(): void {
    const { msg, opts } = this;
    const [file, args] = msg.argv ? [msg.argv[0]!, msg.argv.slice(1)] : [opts.shell, ['-c', msg.command!]];
    const notAllowed = opts.allowlist?.check(msg.command ?? msg.argv!.join(' ')) ?? null;
    if (notAllowed) {
      this.spawnError = notAllowed;
      return this.finish();
    }
    const cwd = msg.cwd || opts.workingDir || homedir();
    if (!isDirectory(cwd)) {
      this.spawnError = `working directory not found: ${cwd}`;
      return this.finish();
    }
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd,
        env: childEnv(opts.env ?? process.env, msg.env ?? {}),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.spawnError = spawnErrorMessage(file, err as NodeJS.ErrnoException);
      return this.finish();
    }
    this.child = child;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        this.spawnError = spawnErrorMessage(file, err);
        this.finish();
      } else this.log.warn('exec process error', { exec: msg.execId, error: err.message });
    });
    if (child.pid === undefined) return; // spawn failed; the 'error' event follows

    this.log.info('exec started', { exec: msg.execId, pid: child.pid, program: file });
    opts.sink.sendJson({ type: 'exec_started', execId: msg.execId, pid: child.pid });
    this.pipe(child.stdout!, this.streams.stdout);
    this.pipe(child.stderr!, this.streams.stderr);
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      if (!this.pipesClosed()) this.armDrain();
      this.finish();
    });
    this.after(msg.timeoutMs, () => {
      this.log.warn('exec timed out', { exec: msg.execId, timeoutMs: msg.timeoutMs });
      this.terminate(true);
    });
  }

  /** Reads a pipe unless the link or the relay's client is backed up. */
  private sync(state: StreamState): void {
    if (state.linkPaused || this.clientPaused) state.pipe?.pause();
    else state.pipe?.resume();
  }

  setClientPaused(paused: boolean): void {
    if (paused && this.groupSettled !== undefined) return; // terminating: its output must drain
    this.clientPaused = paused;
    this.sync(this.streams.stdout);
    this.sync(this.streams.stderr);
  }

  private pipe(stream: NodeJS.ReadableStream, state: StreamState): void {
    state.pipe = stream;
    const linkPaused = (paused: boolean) => () => {
      state.linkPaused = paused;
      this.sync(state);
    };
    const sub = this.opts.gate.add({ pause: linkPaused(true), resume: linkPaused(false) });
    const ended = () => {
      if (state.ended) return;
      state.ended = true;
      sub.dispose();
      this.finish();
    };
    stream.on('data', (chunk: Buffer) => this.forward(state, chunk));
    stream.on('end', ended);
    stream.on('close', ended);
    stream.on('error', ended);
  }

  private forward(state: StreamState, chunk: Buffer): void {
    const room = this.cap - state.offset;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    let data = chunk;
    if (data.length > room) {
      data = data.subarray(0, room);
      this.truncated = true;
    }
    for (let at = 0; at < data.length; at += LIMITS.maxFramePayloadBytes) {
      const piece = data.subarray(at, at + LIMITS.maxFramePayloadBytes);
      this.opts.sink.sendBinary(encodeFrame(state.kind, this.msg.execId, state.offset, piece));
      state.offset += piece.length;
    }
    this.opts.gate.check();
  }

  private pipesClosed(): boolean {
    return this.pipesAbandoned || (this.streams.stdout.ended && this.streams.stderr.ended);
  }

  /** After the leader exited: give the pipes a moment, then stop waiting for stragglers. */
  private armDrain(): void {
    this.after(this.opts.exitDrainMs ?? 200, () => {
      if (this.finished || this.pipesClosed()) return;
      if (this.opts.gate.paused || this.clientPaused) return this.armDrain(); // unread output is still ours to deliver
      this.pipesAbandoned = true;
      this.child?.stdout?.destroy();
      this.child?.stderr?.destroy();
      this.finish();
    });
  }

  /** SIGTERM to the group now, SIGKILL after killGraceMs unless the group is gone by then. */
  terminate(timedOut: boolean): void {
    const pgid = this.child?.pid;
    if (this.groupSettled !== undefined || this.finished || pgid === undefined) return;
    this.groupSettled = false;
    // A client that stopped reading must not keep a killed command's pipes from closing.
    this.setClientPaused(false);
    this.timedOut = timedOut;
    this.log.info('exec terminating', { exec: this.msg.execId, pgid, timedOut });
    terminateGroup(pgid, this.msg.killGraceMs, (killSent) => {
      this.killSent = killSent;
      this.groupSettled = true;
      this.finish();
    });
  }

  private finish(): void {
    if (this.finished) return;
    if (this.child?.pid !== undefined) {
      if (this.exit === undefined || !this.pipesClosed() || this.groupSettled === false) return;
    }
    this.finished = true;
    this.timers.clear();
    const result: ExecResult = {
      type: 'exec_result',
      execId: this.msg.execId,
      exitCode: this.exit?.code ?? null,
      signal: this.exit?.signal ?? null,
      durationMs: Math.max(0, Math.round(performance.now() - this.startedAt)),
      timedOut: this.timedOut,
      ...(this.spawnError ? { error: this.spawnError } : {}),
      stdoutBytes: this.streams.stdout.offset,
      stderrBytes: this.streams.stderr.offset,
      truncated: this.truncated,
    };
    this.log.info('exec finished', {
      exec: this.msg.execId,
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      error: result.error,
      killSent: this.killSent || undefined,
    });
    this.opts.sink.sendJson(result);
    this.resolveResult(result);
  }

  private after(ms: number, fn: () => void): void {
    this.timers.after(ms, fn);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
