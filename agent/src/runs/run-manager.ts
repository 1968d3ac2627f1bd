/**
 * The runs of one agent (protocol v3, see shared run-messages.ts), keyed by the relay's runId.
 *
 * Handles run_start / run_kill / run_attach / run_ack / run_forget and answers with run_started,
 * output frames, run_finished, or an `error` (not_found for an unknown runId, conflict for a
 * run_start whose runId is already held).
 *
 * Runs outlive the link (detachAll keeps them running and buffering) but not the agent process:
 * stopAll kills them. What a crashed agent left behind is found through the run records (see
 * run-records.ts) when the next agent starts: those process groups are killed and the runs listed
 * in hello as `orphaned` until the relay forgets them.
 *
 * Held runs (running, finished, orphaned) are bounded: at most `maxHeldRuns`, dropping the oldest
 * finished (then orphaned) ones first, and finished runs are dropped after `finishedTtlMs` even
 * when no relay ever forgot them.
 */
import type { CommandAllowlist } from '../command-allowlist.js';
import { existsSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute } from 'node:path';
import { ErrorCode, LIMITS, type HeldRun, type RelayToAgent, type RunFinished, type RunStart } from '@rexec/shared';
import { childEnv } from '../child-env.js';
import { groupLive, processAlive, terminateGroup, type GroupTermination } from '../exec/process-group.js';
import type { FlowGate } from '../flow.js';
import { silentLogger, type Logger } from '../logger.js';
import { spawnPty, type PtySpawner } from '../sessions/pty.js';
import type { LinkSink } from '../sink.js';
import { readPromptFile, resolveAllowedRoots, resolveWorkingDir } from './confine.js';
import { readProcStat } from '../procfs.js';
import { UsageSampler } from './resource-usage.js';
import { readRunRecords, removeRunRecord, writeRunRecord, type RunRecord } from './run-records.js';
import { Run, type RunContext, type RunInfo } from './run.js';
import { DEFAULT_MAX_RUNS } from './settings.js';

export type RunMessage = Extract<RelayToAgent, { type: 'run_start' | 'run_kill' | 'run_attach' | 'run_ack' | 'run_forget' }>;

export const FINISHED_RUN_TTL_MS = 24 * 60 * 60 * 1000;

export interface RunManagerOptions {
  sink: LinkSink;
  gate: FlowGate;
  /** Shell when run_start names none (`shell -c command`). */
  shell: string;
  /** Default working directory (relative cwd resolves against it); default $HOME. */
  workingDir?: string;
  /** Directories runs may work in, as configured: realpath'd here, missing ones dropped with a warning. */
  allowedRoots: readonly string[];
  /** Where run records live (orphan detection); null keeps none. */
  recordsDir: string | null;
  /** Runs running at once; default DEFAULT_MAX_RUNS. */
  maxRuns?: number;
  /** When active, a run's template must match it. */
  allowlist?: CommandAllowlist;
  /** Environment the runs inherit (REXEC_* removed); default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** For tests; default the real node-pty. */
  spawnPty?: PtySpawner;
  /** Time the pipes get after the leader exited; default 200 ms. */
  exitDrainMs?: number;
  /** Resource sampling interval; default 250 ms. */
  sampleIntervalMs?: number;
  /** Longest SIGTERM->SIGKILL grace at agent shutdown; default 3000 ms. */
  stopGraceMs?: number;
  /** Finished runs nobody forgot are dropped after this long; default 24 h. */
  finishedTtlMs?: number;
  /** Runs held at once (running + finished + orphaned); default LIMITS.maxHeldRuns. */
  maxHeldRuns?: number;
}

interface Orphan {
  record: RunRecord;
  termination?: GroupTermination;
}

export class RunManager {
  private readonly runs = new Map<string, Run>();
  /** Forgotten runs whose group is still being killed. */
  private readonly dying = new Set<Run>();
  private readonly orphans = new Map<string, Orphan>();
  private readonly orphanKills: Promise<void>[] = [];
  private readonly log: Logger;
  private readonly ctx: RunContext;
  private readonly sampler: UsageSampler | null;
  private readonly maxRuns: number;
  private readonly maxHeld: number;
  private readonly defaultDir: string;
  private readonly pruneTimer: NodeJS.Timeout;
  /** The allowed roots after realpath. */
  readonly roots: readonly string[];
  /** Settles once the process groups of orphaned runs are gone (or were sent SIGKILL). */
  readonly ready: Promise<void>;

  constructor(private readonly opts: RunManagerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.maxHeld = opts.maxHeldRuns ?? LIMITS.maxHeldRuns;
    this.maxRuns = Math.min(opts.maxRuns ?? DEFAULT_MAX_RUNS, this.maxHeld);
    this.defaultDir = opts.workingDir || homedir();
    const { roots, warnings } = resolveAllowedRoots(opts.allowedRoots, homedir());
    for (const w of warnings) this.log.warn(w);
    if (roots.length === 0) this.log.warn('no usable allowed roots: every run will be refused');
    this.roots = roots;
    this.sampler = UsageSampler.create(opts.sampleIntervalMs !== undefined ? { intervalMs: opts.sampleIntervalMs } : {});
    const dir = opts.recordsDir;
    this.ctx = {
      sink: opts.sink,
      gate: opts.gate,
      log: this.log,
      sampler: this.sampler,
      spawnPty: opts.spawnPty ?? spawnPty,
      exitDrainMs: opts.exitDrainMs ?? 200,
      agent: { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? null },
      records: {
        write: (rec) => {
          if (!dir) return;
          try {
            writeRunRecord(dir, rec);
          } catch (err) {
            this.log.warn('cannot write run record; the run is not protected against an agent crash', { run: rec.runId, error: (err as Error).message });
          }
        },
        remove: (runId) => this.removeRecord(runId),
      },
    };
    this.ready = dir ? this.adoptLeftovers(dir) : Promise.resolve();
    this.pruneTimer = setInterval(() => this.prune(0), 10 * 60 * 1000);
    this.pruneTimer.unref?.();
  }

  /** Runs currently running. */
  get size(): number {
    let n = 0;
    for (const r of this.runs.values()) if (r.phase === 'running') n++;
    return n;
  }

  handle(msg: RunMessage): void {
    switch (msg.type) {
      case 'run_start':
        void this.start(msg);
        return;
      case 'run_kill':
        return this.withRun(msg, (r) => r.terminate('killed'), () => {});
      case 'run_attach':
        return this.withRun(
          msg,
          (r) => r.attach(msg.offset),
          (o) =>
            this.error(
              msg,
              ErrorCode.NotFound,
              `run ${msg.runId} was left behind by an earlier agent process (pid ${o.record.pid}) and has been killed; its output is gone`,
            ),
        );
      case 'run_ack':
        return this.withRun(msg, (r) => r.ack(msg.offset), () => {});
      case 'run_forget':
        return this.forget(msg);
    }
  }

  /**
   * run_start. Settles with the result once run_finished was produced; null when the runId is
   * already held (an `error` with code conflict was sent instead).
   */
  start(msg: RunStart): Promise<RunFinished> | null {
    if (this.runs.has(msg.runId) || this.orphans.has(msg.runId) || [...this.dying].some((r) => r.id === msg.runId)) {
      this.error(msg, ErrorCode.Conflict, `run ${msg.runId} is already held by this agent`);
      return null;
    }
    this.prune(1);
    const running = this.size;
    const run = new Run(msg, this.ctx);
    this.runs.set(msg.runId, run);
    void run.done.then(() => this.prune(0));
    if (running >= this.maxRuns) {
      run.refuse(`this agent runs at most ${this.maxRuns} runs at once and ${running} are running; try again later`);
      return run.done;
    }
    const notAllowed = this.opts.allowlist?.check(msg.command) ?? null;
    if (notAllowed) {
      run.refuse(notAllowed);
      return run.done;
    }
    const cwd = resolveWorkingDir(msg.cwd, this.defaultDir, this.roots);
    if (!cwd.ok) {
      run.refuse(cwd.error);
      return run.done;
    }
    const fixed: Record<string, string> = { WORKING_DIR: cwd.value };
    if (msg.promptFile) {
      const prompt = readPromptFile(msg.promptFile, cwd.value, this.roots);
      if (!prompt.ok) {
        run.refuse(prompt.error);
        return run.done;
      }
      fixed.PROMPT = prompt.value;
    }
    const inherited = this.opts.env ?? process.env;
    // A terminal wants a TERM; the relay's env (and the agent's own) may still name another.
    const env = childEnv(msg.pty ? { TERM: 'xterm-256color', ...inherited } : inherited, msg.env, fixed);
    const shell = msg.shell || this.opts.shell;
    // Same wording in both modes (a PTY would only report the failed exec as output and exit 1).
    if (isAbsolute(shell) && !existsSync(shell)) {
      run.refuse(`command not found: ${shell}`);
      return run.done;
    }
    run.launch({ shell, cwd: cwd.value, env });
    return run.done;
  }

  /** The runs this agent holds, for hello. */
  list(): HeldRun[] {
    this.prune(0);
    const out: HeldRun[] = [...this.runs.values()].map((r) => r.held());
    for (const [runId, o] of this.orphans) out.push({ runId, state: 'orphaned', pid: o.record.pid, outputBytes: 0 });
    return out.slice(0, this.maxHeld);
  }

  /** State of one held run (tests, diagnostics); undefined when not held. */
  info(runId: string): RunInfo | undefined {
    return this.runs.get(runId)?.info();
  }

  /** The link is gone: every run keeps running and buffering until a relay attaches it again. */
  detachAll(): void {
    for (const r of this.runs.values()) r.detach();
  }

  /**
   * Agent shutdown: kills every running run's process group (SIGTERM, SIGKILL after its grace,
   * at most stopGraceMs), removes their records and drops every run.
   */
  async stopAll(): Promise<void> {
    clearInterval(this.pruneTimer);
    const grace = this.opts.stopGraceMs ?? 3000;
    const all = [...this.runs.values(), ...this.dying];
    this.runs.clear();
    for (const r of all) void r.shutdown(Math.min(r.killGraceMs, grace));
    for (const o of this.orphans.values()) o.termination?.hurry(grace);
    await Promise.all([...all.map((r) => r.done), ...this.orphanKills]);
    this.sampler?.dispose();
  }

  private forget(msg: Extract<RunMessage, { type: 'run_forget' }>): void {
    const run = this.runs.get(msg.runId);
    if (run) {
      this.runs.delete(msg.runId);
      if (run.phase === 'running') {
        this.log.info('run forgotten while running; killing it', { run: msg.runId, reason: msg.reason });
        this.dying.add(run);
        void run.forget().then(() => this.dying.delete(run));
      } else void run.forget();
      return;
    }
    const orphan = this.orphans.get(msg.runId);
    if (orphan) {
      this.orphans.delete(msg.runId);
      this.removeRecord(msg.runId);
      this.log.info('orphaned run forgotten', { run: msg.runId });
      return;
    }
    this.error(msg, ErrorCode.NotFound, `no run ${msg.runId} on this agent`);
  }

  private withRun(msg: Exclude<RunMessage, { type: 'run_start' }>, act: (r: Run) => void, orphan: (o: Orphan) => void): void {
    const run = this.runs.get(msg.runId);
    if (run) return act(run);
    const o = this.orphans.get(msg.runId);
    if (o) return orphan(o);
    this.error(msg, ErrorCode.NotFound, `no run ${msg.runId} on this agent`);
  }

  private error(msg: RunMessage, code: ErrorCode, message: string): void {
    this.log.warn('run error', { run: msg.runId, ref: msg.type, code, message });
    this.opts.sink.sendJson({ type: 'error', code, message: message.slice(0, 1024), ref: msg.type, runId: msg.runId });
  }

  /**
   * Drops finished runs older than the TTL, then, while more than maxHeld - room runs are held,
   * the oldest finished run (else the oldest orphan).
   */
  private prune(room: number): void {
    const ttl = this.opts.finishedTtlMs ?? FINISHED_RUN_TTL_MS;
    const now = Date.now();
    for (const [id, r] of this.runs) {
      if (r.finishedAt !== undefined && now - r.finishedAt > ttl) this.drop(id, r, 'finished more than its time-to-live ago');
    }
    while (this.runs.size + this.orphans.size + room > this.maxHeld) {
      let oldest: [string, Run] | undefined;
      for (const [id, r] of this.runs) {
        if (r.finishedAt !== undefined && (!oldest || r.finishedAt < oldest[1].finishedAt!)) oldest = [id, r];
      }
      if (oldest) {
        this.drop(oldest[0], oldest[1], 'too many runs held');
        continue;
      }
      const firstOrphan = this.orphans.keys().next();
      if (firstOrphan.done) break;
      this.orphans.delete(firstOrphan.value);
      this.removeRecord(firstOrphan.value);
      this.log.warn('orphaned run dropped: too many runs held', { run: firstOrphan.value });
    }
  }

  private drop(id: string, run: Run, why: string): void {
    this.runs.delete(id);
    run.detach();
    this.log.info(`finished run dropped before the relay forgot it: ${why}`, { run: id });
  }

  private removeRecord(runId: string): void {
    if (!this.opts.recordsDir) return;
    try {
      removeRunRecord(this.opts.recordsDir, runId);
    } catch (err) {
      this.log.warn('cannot remove run record', { run: runId, error: (err as Error).message });
    }
  }

  /**
   * Records left by an earlier agent process (crashed, killed, or restarted without cleaning up):
   * kill what is left of each run's process group and hold the run as orphaned.
   */
  private adoptLeftovers(dir: string): Promise<void> {
    const { records, bad } = readRunRecords(dir);
    for (const path of bad) {
      this.log.warn('unreadable run record removed', { path });
      rmSync(path, { force: true });
    }
    for (const rec of records) {
      if (rec.agentPid !== process.pid && agentStillRuns(rec)) {
        this.log.warn('run record of another live agent process left alone', { run: rec.runId, agentPid: rec.agentPid });
        continue;
      }
      const orphan: Orphan = { record: rec };
      this.orphans.set(rec.runId, orphan);
      if (!leftoverGroupAlive(rec)) {
        this.log.warn('orphaned run of an earlier agent process: its processes are gone', { run: rec.runId, pgid: rec.pid, startedAt: rec.startedAt });
        continue;
      }
      this.log.warn('orphaned run of an earlier agent process: killing its process group', { run: rec.runId, pgid: rec.pid, startedAt: rec.startedAt });
      this.orphanKills.push(
        new Promise<void>((resolve) => {
          orphan.termination = terminateGroup(rec.pid, rec.killGraceMs, (killSent) => {
            this.log.info('orphaned run killed', { run: rec.runId, pgid: rec.pid, killSent: killSent || undefined });
            resolve();
          });
        }),
      );
    }
    return Promise.all(this.orphanKills).then(() => undefined);
  }
}

/** The agent that wrote `rec` is still running (same pid and, where known, same start time). */
function agentStillRuns(rec: RunRecord): boolean {
  if (!processAlive(rec.agentPid)) return false;
  if (rec.agentStartTime === null) return true; // cannot tell a reused pid apart: assume it is that agent
  const st = readProcStat(rec.agentPid);
  return !st || st.startTime === rec.agentStartTime;
}

/**
 * Something of the run's process group is still alive. When the leader's pid now belongs to a
 * process with another start time, the pid was reused, so the run's group is gone (Linux never
 * hands out a pid still in use as a process group id).
 */
function leftoverGroupAlive(rec: RunRecord): boolean {
  if (rec.startTime !== null) {
    const st = readProcStat(rec.pid);
    if (st && st.startTime !== rec.startTime) return false;
  }
  return groupLive(rec.pid);
}
