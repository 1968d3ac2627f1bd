/**
 * One run: a `shell -c command` in its own process group (pipes) or session (PTY), its kept
 * output, and the stream of that output to the relay while one is attached.
 *
 * Phases (forward only): running -> finished. A run refused before it started (bad working
 * directory, prompt file, too many runs, spawn failure) is finished at once with status failed.
 *
 * Output: stdout and stderr go into ONE RunOutput (combined offsets, capped, held until acked).
 * While attached the run sends held output from its send cursor as RunStdout / RunStderr frames,
 * then, once finished, `run_finished`. It is attached from run_start (it arrived on the link) and
 * after run_attach; detached on link loss. Detached, it keeps running and keeps reading its
 * output (dropping what exceeds the cap), so a run never stalls for want of a relay. Attached, it
 * registers with the FlowGate: while the link's send buffer is high its pipes (or PTY) are paused
 * and the replay of held output waits.
 *
 * Ending:
 *   - run_kill / timeout: SIGTERM to the whole group, SIGKILL after killGraceMs; status killed /
 *     timeout.
 *   - the leader exits: its pipes get `exitDrainMs` to close (while processes it left behind may
 *     still write), then, if anything of the group is still alive, the group is terminated the
 *     same way (TERM, KILL after killGraceMs). A run is a unit of work: nothing it started
 *     survives it (processes that left the group with setsid are beyond reach). Status follows
 *     the leader: exit 0 completed, anything else (non-zero, a signal) failed.
 *   - run_finished is sent once the leader has exited, the group is gone (or was sent SIGKILL)
 *     and the pipes are closed (or were abandoned `exitDrainMs` after that, e.g. held open by a
 *     process that escaped the group).
 */
import { TimerSet } from '../timer-set.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { encodeFrame, FrameKind, LIMITS, type AgentRunEnd, type HeldRun, type RunFinished, type RunStart } from '@rexec/shared';
import { groupLive, terminateGroup, type GroupTermination } from '../exec/process-group.js';
import { spawnErrorMessage } from '../exec/spawn-error.js';
import type { Disposable, FlowGate, Pausable } from '../flow.js';
import type { Logger } from '../logger.js';
import type { PtySpawner } from '../sessions/pty.js';
import type { LinkSink } from '../sink.js';
import { readProcStat } from '../procfs.js';
import type { UsageSampler } from './resource-usage.js';
import { RunOutput, type RunStream } from './run-output.js';
import type { RunRecord } from './run-records.js';

/** PTY mode: after the exit, the terminal is read until it has been quiet this long (capped). */
const PTY_QUIET_MS = 200;
const PTY_DRAIN_CAP_MS = 2000;

export type RunPhase = 'running' | 'finished';

/** Why a run's group is being terminated. killed / timeout decide the status; the rest do not. */
export type TerminateReason = 'killed' | 'timeout' | 'leftovers' | 'forget' | 'shutdown';

/** What every run of one agent shares. */
export interface RunContext {
  sink: LinkSink;
  gate: FlowGate;
  log: Logger;
  /** Null where /proc is missing: resourceUsage is then null. */
  sampler: UsageSampler | null;
  spawnPty: PtySpawner;
  /** Time the pipes get after the leader exited (and after the group was killed). */
  exitDrainMs: number;
  /** Persists and removes the record of a running run (errors are the store's to log). */
  records: { write(rec: RunRecord): void; remove(runId: string): void };
  /** This agent process, for records. */
  agent: { pid: number; startTime: number | null };
}

/** How to start a run, after the manager checked and resolved the request. */
export interface RunLaunch {
  shell: string;
  /** Real path of the working directory. */
  cwd: string;
  env: Record<string, string>;
}

/** What tests and status look at. */
export interface RunInfo {
  phase: RunPhase;
  pid: number | null;
  attached: boolean;
  /** Output held in memory (not yet acknowledged), bytes. */
  heldBytes: number;
  /** Oldest held offset and the end of the output. */
  start: number;
  end: number;
  truncated: boolean;
}

interface Producer {
  pause(): void;
  resume(): void;
  /** Stop reading for good (pipes held open by a process outside the group). */
  abandon(): void;
}

export class Run implements Pausable {
  readonly id: string;
  /** Settles with the result once the run has finished (also for forgotten runs). */
  readonly done: Promise<RunFinished>;
  /** Date.now() when it finished. */
  finishedAt: number | undefined;
  private resolveDone!: (r: RunFinished) => void;
  private phaseNow: RunPhase = 'running';
  private pidNow: number | null = null;
  private readonly output: RunOutput;
  private readonly startedAt = performance.now();

  // streaming
  private attached = true;
  private forgotten = false;
  private gateSub: Disposable | undefined;
  private gatePaused = false;
  private sendCursor = 0;
  private result: RunFinished | undefined;
  private resultSent = false;

  // lifecycle
  private producer: Producer | undefined;
  private openPipes = 0;
  private pipesAbandoned = false;
  private exit: { code: number | null; signal: string | null } | undefined;
  private refusal: string | undefined;
  private endReason: 'killed' | 'timeout' | undefined;
  /** exitDrainMs have passed since the leader exited. */
  private drained = false;
  private finalDrainArmed = false;
  /** undefined: not terminated (yet); false: TERM sent, group still there; true: gone or KILL sent. */
  private groupSettled: boolean | undefined;
  private termination: GroupTermination | undefined;
  private killSent = false;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private readonly timers = new TimerSet();

  constructor(
    private readonly msg: RunStart,
    private readonly ctx: RunContext,
  ) {
    this.id = msg.runId;
    this.output = new RunOutput(msg.maxOutputBytes);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get phase(): RunPhase {
    return this.phaseNow;
  }

  get pid(): number | null {
    return this.pidNow;
  }

  get killGraceMs(): number {
    return this.msg.killGraceMs;
  }

  /** For hello. */
  held(): HeldRun {
    return { runId: this.id, state: this.phaseNow, pid: this.pidNow, outputBytes: this.output.end };
  }

  info(): RunInfo {
    const o = this.output;
    return { phase: this.phaseNow, pid: this.pidNow, attached: this.attached, heldBytes: o.heldBytes, start: o.start, end: o.end, truncated: o.truncated };
  }

  // ---- starting --------------------------------------------------------------------------------

  /** The run cannot start: it finishes at once, failed, with `error` shown to the user. */
  refuse(error: string): void {
    if (this.phaseNow !== 'running' || this.pidNow !== null) return;
    this.refusal = error;
    this.finish();
  }

  launch(l: RunLaunch): void {
    if (this.msg.pty) this.launchPty(l);
    else this.launchPipes(l);
  }

  private launchPipes(l: RunLaunch): void {
    let child: ChildProcess;
    try {
      child = spawn(l.shell, ['-c', this.msg.command], { cwd: l.cwd, env: l.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      return this.refuse(spawnErrorMessage(l.shell, err as NodeJS.ErrnoException));
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) this.refuse(spawnErrorMessage(l.shell, err));
      else this.ctx.log.warn('run process error', { run: this.id, error: err.message });
    });
    if (child.pid === undefined) return; // spawn failed; the 'error' event follows
    const streams = [child.stdout!, child.stderr!];
    this.producer = {
      pause: () => streams.forEach((s) => s.pause()),
      resume: () => streams.forEach((s) => s.resume()),
      abandon: () => streams.forEach((s) => s.destroy()),
    };
    this.openPipes = streams.length;
    this.started(child.pid, l);
    for (const [stream, name] of [[child.stdout!, 'stdout'], [child.stderr!, 'stderr']] as const) {
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        this.openPipes--;
        this.step();
      };
      stream.on('data', (chunk: Buffer) => this.onOutput(name, chunk));
      stream.on('end', close);
      stream.on('close', close);
      stream.on('error', close);
    }
    child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  private launchPty(l: RunLaunch): void {
    const m = this.msg;
    let pty: ReturnType<PtySpawner>;
    try {
      pty = this.ctx.spawnPty(l.shell, ['-c', m.command], { cols: m.cols, rows: m.rows, cwd: l.cwd, env: l.env });
    } catch (err) {
      return this.refuse(`cannot start ${l.shell} in a terminal: ${(err as Error).message}`);
    }
    const quiet = (fn: () => void) => () => {
      try {
        fn();
      } catch {
        /* the terminal is closing */
      }
    };
    // node-pty may report the exit before the last output has been read from the terminal. The
    // terminal counts as one open pipe that closes once it has been quiet for PTY_QUIET_MS after
    // the exit (at most PTY_DRAIN_CAP_MS), so the final lines are never cut off.
    let lastData = Date.now();
    this.openPipes = 1;
    this.producer = {
      pause: quiet(() => pty.pause()),
      resume: quiet(() => pty.resume()),
      abandon: () => {
        this.openPipes = 0;
      },
    };
    this.started(pty.pid, l);
    pty.onData((chunk) => {
      lastData = Date.now();
      this.onOutput('stdout', chunk);
    });
    pty.onExit((e) => {
      const exitedAt = Date.now();
      const settle = () => {
        if (this.openPipes <= 0) return;
        const now = Date.now();
        if (now - lastData >= PTY_QUIET_MS || now - exitedAt >= PTY_DRAIN_CAP_MS) {
          this.openPipes = 0;
          this.step();
        } else this.after(PTY_QUIET_MS, settle);
      };
      this.onExit(e.exitCode, e.signal);
      settle();
    });
  }

  private started(pid: number, l: RunLaunch): void {
    this.pidNow = pid;
    this.ctx.records.write({
      runId: this.id,
      pid,
      startTime: readProcStat(pid)?.startTime ?? null,
      agentPid: this.ctx.agent.pid,
      agentStartTime: this.ctx.agent.startTime,
      startedAt: new Date().toISOString(),
      killGraceMs: this.msg.killGraceMs,
    });
    this.ctx.sampler?.track(pid);
    this.ctx.log.info('run started', { run: this.id, pid, cwd: l.cwd, shell: l.shell, pty: this.msg.pty, timeoutMs: this.msg.timeoutMs });
    if (this.attached && !this.forgotten) this.ctx.sink.sendJson({ type: 'run_started', runId: this.id, pid, cwd: l.cwd });
    if (this.attached) this.gateSub ??= this.ctx.gate.add(this);
    this.timeoutTimer = setTimeout(() => {
      this.ctx.log.warn('run timed out', { run: this.id, timeoutMs: this.msg.timeoutMs });
      this.terminate('timeout');
    }, this.msg.timeoutMs);
  }

  // ---- output ---------------------------------------------------------------------------------

  private onOutput(stream: RunStream, chunk: Buffer): void {
    if (this.forgotten) return; // read and dropped while the group is being killed
    const wasTruncated = this.output.truncated;
    if (this.output.append(stream, chunk) > 0) this.pump();
    if (!wasTruncated && this.output.truncated) {
      this.ctx.log.info('run output reached its cap; the rest is dropped', { run: this.id, maxOutputBytes: this.msg.maxOutputBytes });
    }
  }

  /** Sends held output from the cursor while attached and the link has room; then run_finished. */
  private pump(): void {
    if (!this.attached || this.gatePaused || this.forgotten) return;
    for (;;) {
      const piece = this.output.read(this.sendCursor, LIMITS.maxFramePayloadBytes);
      if (!piece) break;
      const kind = piece.stream === 'stdout' ? FrameKind.RunStdout : FrameKind.RunStderr;
      if (!this.ctx.sink.sendBinary(encodeFrame(kind, this.id, piece.offset, piece.data))) return;
      this.sendCursor = piece.offset + piece.data.length;
      this.ctx.gate.check(); // may pause us (and every other producer)
      if (this.gatePaused) return;
    }
    if (this.result && !this.resultSent) this.resultSent = this.ctx.sink.sendJson(this.result);
  }

  // ---- relay control --------------------------------------------------------------------------

  /** Stream from `offset` (at least the oldest held byte); a finished run then repeats run_finished. */
  attach(offset: number): void {
    if (this.forgotten) return;
    this.attached = true;
    this.sendCursor = Math.min(Math.max(offset, this.output.start), this.output.end);
    this.resultSent = false;
    this.gateSub ??= this.ctx.gate.add(this);
    this.pump();
  }

  /** The link is gone: stop sending; keep running, reading and holding output. */
  detach(): void {
    this.attached = false;
    this.gateSub?.dispose();
    this.gateSub = undefined;
    if (this.gatePaused) {
      this.gatePaused = false;
      this.producer?.resume();
    }
  }

  /** The relay stored everything below `offset`: free it. */
  ack(offset: number): void {
    this.output.freeBelow(offset);
    if (this.sendCursor < this.output.start) this.sendCursor = this.output.start;
  }

  /** The relay is done with this run: no more messages; kill the group if it still runs. */
  forget(): Promise<RunFinished> {
    this.forgotten = true;
    this.detach();
    this.output.clear();
    this.terminate('forget');
    return this.done;
  }

  /** The agent is stopping: kill the group within `graceMs`. */
  shutdown(graceMs: number): Promise<RunFinished> {
    this.forgotten = true;
    this.detach();
    this.terminate('shutdown', graceMs);
    return this.done;
  }

  // ---- Pausable (the link's send buffer) ------------------------------------------------------

  pause(): void {
    if (this.gatePaused) return;
    this.gatePaused = true;
    this.producer?.pause();
  }

  resume(): void {
    if (!this.gatePaused) return;
    this.gatePaused = false;
    this.producer?.resume();
    this.pump();
  }

  // ---- ending ---------------------------------------------------------------------------------

  /** SIGTERM to the group, SIGKILL after the grace; asked again, the SIGKILL only comes sooner. */
  terminate(reason: TerminateReason, graceMs = this.msg.killGraceMs): void {
    const pgid = this.pidNow;
    if (pgid === null || this.phaseNow === 'finished') return;
    if ((reason === 'killed' || reason === 'timeout') && this.exit === undefined) this.endReason ??= reason;
    if (this.termination) return this.termination.hurry(graceMs);
    if (this.groupSettled === true) return; // already gone
    this.groupSettled = false;
    this.ctx.log.info('run terminating', { run: this.id, pgid, reason, graceMs });
    this.termination = terminateGroup(pgid, graceMs, (killSent) => {
      this.killSent = killSent;
      this.groupSettled = true;
      this.step();
    });
  }

  private onExit(code: number | null, signal: string | null): void {
    this.exit = { code, signal };
    clearTimeout(this.timeoutTimer);
    if (this.openPipes > 0) this.armDrain();
    this.step();
  }

  private pipesDone(): boolean {
    return this.openPipes <= 0 || this.pipesAbandoned;
  }

  /** After the leader exited: give the pipes a moment before dealing with what is left. */
  private armDrain(): void {
    this.after(this.ctx.exitDrainMs, () => {
      if (this.gatePaused) return this.armDrain(); // unread output is still ours to deliver
      this.drained = true;
      this.step();
    });
  }

  /** The group is gone but something outside it holds the pipes: stop waiting for them. */
  private armFinalDrain(): void {
    if (this.finalDrainArmed) return;
    this.finalDrainArmed = true;
    const arm = () =>
      this.after(this.ctx.exitDrainMs, () => {
        if (this.gatePaused) return arm();
        this.pipesAbandoned = true;
        this.producer?.abandon();
        this.step();
      });
    arm();
  }

  /** Moves towards run_finished; called whenever one of the things it waits for happened. */
  private step(): void {
    if (this.phaseNow === 'finished') return;
    if (this.pidNow === null) return; // not started; refuse() finishes
    if (this.exit === undefined) return;
    if (this.groupSettled === undefined) {
      if (!this.pipesDone() && !this.drained) return;
      if (groupLive(this.pidNow)) {
        this.ctx.log.info('run left processes behind; terminating its process group', { run: this.id, pgid: this.pidNow });
        return this.terminate('leftovers');
      }
      this.groupSettled = true;
    }
    if (this.groupSettled === false) return;
    if (!this.pipesDone()) return this.armFinalDrain();
    this.finish();
  }

  private finish(): void {
    if (this.phaseNow === 'finished') return;
    this.phaseNow = 'finished';
    this.finishedAt = Date.now();
    clearTimeout(this.timeoutTimer);
    this.timers.clear();
    this.termination?.cancel();
    this.producer = undefined;
    const pid = this.pidNow;
    const resourceUsage = pid !== null && this.ctx.sampler ? this.ctx.sampler.untrack(pid) : null;
    if (pid !== null) this.ctx.records.remove(this.id);

    let status: AgentRunEnd;
    let error: string | undefined;
    if (this.refusal !== undefined) {
      status = 'failed';
      error = this.refusal;
    } else if (this.endReason === 'timeout') {
      status = 'timeout';
      error = `timed out after ${formatMs(this.msg.timeoutMs)}`;
    } else if (this.endReason === 'killed') {
      status = 'killed';
      error = 'killed on request';
    } else {
      status = this.exit?.code === 0 ? 'completed' : 'failed';
    }
    const result: RunFinished = {
      type: 'run_finished',
      runId: this.id,
      status,
      exitCode: this.exit?.code ?? null,
      signal: this.exit?.signal ?? null,
      durationMs: Math.max(0, Math.round(performance.now() - this.startedAt)),
      ...(error !== undefined ? { error: error.slice(0, 2048) } : {}),
      outputBytes: this.output.end,
      truncated: this.output.truncated,
      resourceUsage,
    };
    this.result = result;
    const fields = { run: this.id, status, exitCode: result.exitCode, signal: result.signal, bytes: result.outputBytes, error, killSent: this.killSent || undefined };
    if (this.refusal !== undefined) this.ctx.log.warn('run refused', fields);
    else this.ctx.log.info('run finished', fields);
    this.pump();
    this.resolveDone(result);
  }

  private after(ms: number, fn: () => void): void {
    this.timers.after(ms, fn);
  }
}

/** 90000 -> "90 s", 120000 -> "2 min", 1500 -> "1500 ms". */
export function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
