/**
 * The run state machine: queued -> running -> completed | failed | timeout | killed | lost,
 * persisted at each step (runs table), with concurrency limits, output persisted as it arrives,
 * live watchers, and reconciliation after relay or agent restarts.
 *
 * - Dispatch (pump): queued runs start in creation order while fewer than maxConcurrentRuns run
 *   overall and fewer than maxConcurrentRunsPerAgent on that agent, and the agent is online.
 *   A run is claimed with a conditional update (queued -> running) before run_start is sent.
 * - Output: RunStdout/RunStderr frames are de-duplicated by offset, shown to watchers at once,
 *   written to run_output_chunks in small batches, and acknowledged to the agent (run_ack) once
 *   stored. When the run ends the chunks are also folded into stdout / stderr / raw_output (the
 *   chunks stay: they are the byte-exact record with stream tags that followers replay).
 * - Two timeout layers: the agent kills the process group at the run's timeout; the relay's
 *   watchdog marks the run `timeout` if no result arrives by timeout + grace + slack.
 * - No loss across restarts: a relay that starts finds runs `running` and waits for their agents;
 *   an agent's hello lists the runs it holds, and the relay asks for output from the offset it has
 *   stored (run_attach). A run the agent no longer holds, an orphan the agent killed after its own
 *   restart, and a run whose agent stays away longer than lostAfterMs become `lost` with a
 *   reason. A lost run is never started again.
 */
import { FrameKind, takeNewBytes, type AgentToRelay, type Frame, type HeldRun, type RunFinished, type RunStart, type RunStatus, type RunView } from '@rexec/shared';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { AgentHub } from '../hub/agent-hub.js';
import type { AgentLink } from '../hub/agent-link.js';
import type { RunHooks } from '../hub/sinks.js';
import type { SecretBox } from '../auth/secret-box.js';
import { log } from '../log.js';
import { CoalescedPass } from '../coalesced-pass.js';
import { loadRunnerSettings } from './settings.js';
import { newId } from '../auth/secrets.js';
import { currentOutput, foldChunks, readChunks, type Chunk, type FoldedOutput, type Stream } from './run-output.js';
import { isActive, runView, type RunRow } from './run-view.js';

export const newRunId = (): string => newId(12);

/** What run_start carries besides its type and id; stored encrypted until the run starts. */
export type LaunchSpec = Omit<RunStart, 'type' | 'runId'>;

export interface RunEngineOptions {
  /** A run whose agent stays disconnected this long becomes lost. */
  lostAfterMs: number;
  /** Extra time past timeout + kill grace before the relay's watchdog gives up on the agent. */
  watchdogSlackMs: number;
  /** Stored output is written at most this long after it arrived. */
  flushIntervalMs: number;
}

type RunMessage = Extract<AgentToRelay, { type: 'run_started' | 'run_finished' }>;

export const RUN_ENGINE_DEFAULTS: RunEngineOptions = { lostAfterMs: 5 * 60_000, watchdogSlackMs: 30_000, flushIntervalMs: 100 };

/** created: queued; updated: started or its facts changed; finished: reached an end state. */
export type RunChange = 'created' | 'updated' | 'finished';
export type RunChangeListener = (run: RunView, change: RunChange) => void;

export interface RunWatcher {
  output(stream: Stream, offset: number, data: Uint8Array): void;
  update(run: RunView): void;
}

interface LiveRun {
  id: string;
  agentId: string;
  /** Bytes accepted (stored or pending). */
  have: number;
  cap: number;
  killGraceMs: number;
  pending: Chunk[];
  /** Taken from `pending` by a flush and not committed yet (a follower must still get them). */
  storing: Chunk[];
  /** Database work of this run, in order. */
  chain: Promise<void>;
  flushTimer: NodeJS.Timeout | undefined;
  watchdog: NodeJS.Timeout | undefined;
  lostTimer: NodeJS.Timeout | undefined;
  ending: boolean;
}

const FLUSH_BYTES = 256 * 1024;
const RETENTION_SWEEP_MS = 3600_000;

export class RunEngine implements RunHooks {
  private readonly live = new Map<string, LiveRun>();
  private readonly watchers = new Map<string, Set<RunWatcher>>();
  private readonly endedListeners = new Set<(runId: string, status: RunStatus) => void>();
  private readonly changeListeners = new Set<RunChangeListener>();
  private readonly dispatcher = new CoalescedPass(
    () => this.pumpOnce().catch((err) => log.error('run dispatch failed', { err: (err as Error).message })),
    () => !this.stopped,
  );
  private stopped = false;
  private retentionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly hub: AgentHub,
    private readonly box: SecretBox,
    private readonly opts: RunEngineOptions = RUN_ENGINE_DEFAULTS,
  ) {}

  /** Picks up runs a previous relay process left running, then starts queued ones. */
  async start(): Promise<void> {
    const running = await this.prisma.run.findMany({ where: { status: 'running' } });
    for (const row of running) {
      const live = this.track(row);
      this.armWatchdog(live, row);
      if (!this.hub.get(row.agentId)) this.armLost(live);
    }
    if (running.length) log.info('runs still running from before the restart: waiting for their agents', { runs: running.length });
    this.pump();
    void this.applyRetention();
    this.retentionTimer = setInterval(() => void this.applyRetention(), RETENTION_SWEEP_MS);
    this.retentionTimer.unref();
  }

  /**
   * Output retention (runner setting outputRetentionDays, 0 = keep forever): the output of runs
   * that ended longer ago is deleted; the run records stay for history and analytics. Runs at
   * start, hourly, and when the settings change.
   */
  async applyRetention(): Promise<number> {
    const { outputRetentionDays: days } = await loadRunnerSettings(this.prisma);
    if (!days) return 0;
    const cutoff = new Date(Date.now() - days * 86_400_000);
    const old = { finishedAt: { lt: cutoff }, status: { notIn: ['queued', 'running'] } };
    const [, cleared] = await this.prisma.$transaction([
      this.prisma.runOutputChunk.deleteMany({ where: { run: old } }),
      this.prisma.run.updateMany({ where: { ...old, OR: [{ rawOutput: { not: '' } }, { stdout: { not: '' } }, { stderr: { not: '' } }] }, data: { rawOutput: '', stdout: '', stderr: '' } }),
    ]);
    if (cleared.count) log.info('run output past retention deleted', { runs: cleared.count, days });
    return cleared.count;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.retentionTimer);
    for (const l of this.live.values()) {
      clearTimeout(l.watchdog);
      clearTimeout(l.lostTimer);
      this.flush(l);
    }
    await Promise.all([...this.live.values()].map((l) => l.chain));
    await this.dispatcher.running;
  }

  // ---- requests ----------------------------------------------------------------------------

  /**
   * Queues a run (row data without status) and starts it when limits allow. Inside a transaction
   * (`tx`, used by the scheduler so a fire claim and its runs commit together) nothing starts:
   * the caller calls pump() once the transaction has committed.
   */
  async submit(data: Omit<Parameters<PrismaClient['run']['create']>[0]['data'], 'launchSpec' | 'status'>, spec: LaunchSpec, tx?: Prisma.TransactionClient): Promise<RunView> {
    const row = await (tx ?? this.prisma).run.create({ data: { ...data, status: 'queued', launchSpec: this.box.seal(JSON.stringify(spec)) } as never, include: { agentProfile: { select: { name: true } } } });
    log.info('run queued', { run: row.id, agent: row.agentName, by: row.requestedBy });
    const view = runView(row);
    if (!tx) this.committed([view]);
    return view;
  }

  /** Runs submitted inside a transaction that has now committed: announce them and start what can start. */
  committed(runs: RunView[]): void {
    for (const r of runs) this.emitChange(r, 'created');
    this.pump();
  }

  /** Calls `listener` on every run created, changed or ended through this relay; returns an unsubscribe. */
  onChange(listener: RunChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private emitChange(run: RunView, change: RunChange): void {
    for (const l of this.changeListeners) {
      try {
        l(run, change);
      } catch (err) {
        log.warn('run change listener failed', { err: (err as Error).message });
      }
    }
  }

  /** Calls `listener` once after each run this relay ends (any end state); returns an unsubscribe. */
  onEnded(listener: (runId: string, status: RunStatus) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** Kills a run: a queued one ends at once; a running one is signalled on its agent. */
  async kill(runId: string): Promise<RunView | null> {
    const row = await this.prisma.run.findUnique({ where: { id: runId } });
    if (!row) return null;
    if (row.status === 'queued') {
      await this.end(runId, 'killed', 'killed before it started', ['queued']);
    } else if (row.status === 'running') {
      const link = this.hub.get(row.agentId);
      const live = this.live.get(runId);
      if (link && live && link.send({ type: 'run_kill', runId })) {
        // The agent answers run_finished (killed) once the group is gone; if it never does, end it here.
        setTimeout(() => void this.end(runId, 'killed', 'killed; the agent did not confirm that the process group ended'), live.killGraceMs + 15_000).unref();
      } else {
        await this.end(runId, 'killed', 'killed while the agent was offline; the agent stops it when it reconnects');
      }
    }
    return this.view(runId);
  }

  async view(runId: string): Promise<RunView | null> {
    const row = await this.prisma.run.findUnique({ where: { id: runId }, include: { agentProfile: { select: { name: true } } } });
    return row ? runView(row) : null;
  }

  /**
   * Follows a run: `watcher` gets every output frame and status change from now on. `pending` is
   * the output received but not yet stored at this moment; together with the stored chunks read
   * AFTER this call and the frames delivered to the watcher, nothing is missed (de-duplicate by offset).
   */
  watch(runId: string, watcher: RunWatcher): { pending: Chunk[]; unwatch(): void } {
    let set = this.watchers.get(runId);
    if (!set) this.watchers.set(runId, (set = new Set()));
    set.add(watcher);
    const live = this.live.get(runId);
    // Chunks being stored count as pending: on PostgreSQL a follower's read of the stored chunks
    // can run before their transaction commits, and they must not fall between the two.
    const pending = live ? [...live.storing, ...live.pending] : [];
    return {
      pending,
      unwatch: () => {
        set.delete(watcher);
        if (set.size === 0 && this.watchers.get(runId) === set) this.watchers.delete(runId);
      },
    };
  }

  /** Resolves with the run once it has ended, or as it stands after `ms`. */
  async waitForEnd(runId: string, ms: number): Promise<RunView | null> {
    return new Promise((resolve) => {
      const w: RunWatcher = {
        output: () => {},
        update: (run) => {
          if (!isActive(run.status)) finish(run);
        },
      };
      const { unwatch } = this.watch(runId, w);
      const timer = setTimeout(() => void this.view(runId).then(finish), ms);
      const finish = (run: RunView | null) => {
        clearTimeout(timer);
        unwatch();
        resolve(run);
      };
      void this.view(runId).then((run) => (!run || !isActive(run.status) ? finish(run) : undefined));
    });
  }

  /** The output of a run as it stands (folded and cleaned). */
  async output(runId: string): Promise<FoldedOutput | null> {
    const live = this.live.get(runId);
    if (live) await this.flush(live);
    const row = await this.prisma.run.findUnique({ where: { id: runId } });
    return row ? currentOutput(this.prisma, row) : null;
  }

  activeCount(): number {
    return this.live.size;
  }

  // ---- dispatch ----------------------------------------------------------------------------

  /** Starts queued runs while the limits allow. Calls during a pass make it run once more. */
  pump(): void {
    if (!this.stopped) void this.dispatcher.run();
  }

  private async pumpOnce(): Promise<void> {
    const queued = await this.prisma.run.findMany({ where: { status: 'queued' }, orderBy: { createdAt: 'asc' }, take: 500 });
    if (queued.length === 0) return;
    const settings = await loadRunnerSettings(this.prisma);
    const running = await this.prisma.run.findMany({ where: { status: 'running' }, select: { agentId: true } });
    let total = running.length;
    const perAgent = new Map<string, number>();
    for (const r of running) perAgent.set(r.agentId, (perAgent.get(r.agentId) ?? 0) + 1);
    for (const row of queued) {
      if (total >= settings.maxConcurrentRuns) break;
      if ((perAgent.get(row.agentId) ?? 0) >= settings.maxConcurrentRunsPerAgent) continue;
      const link = this.hub.get(row.agentId);
      if (!link) continue;
      if (await this.dispatch(row, link)) {
        total++;
        perAgent.set(row.agentId, (perAgent.get(row.agentId) ?? 0) + 1);
      }
    }
  }

  private async dispatch(row: RunRow, link: AgentLink): Promise<boolean> {
    const spec = this.specOf(row);
    if (!spec) {
      await this.end(row.id, 'failed', 'the run could not be decrypted (was the relay secret key changed?)', ['queued']);
      return false;
    }
    const startedAt = new Date();
    const claimed = await this.prisma.run.updateMany({ where: { id: row.id, status: 'queued' }, data: { status: 'running', startedAt } });
    if (claimed.count !== 1) return false;
    const live = this.track(row);
    if (!link.send({ type: 'run_start', runId: row.id, ...spec })) {
      // The link closed under us: the agent never got the run, so it may wait for the next chance.
      this.untrack(live);
      await this.prisma.run.updateMany({ where: { id: row.id, status: 'running' }, data: { status: 'queued', startedAt: null } });
      return false;
    }
    this.armWatchdog(live, { startedAt, timeoutMinutes: row.timeoutMinutes });
    log.info('run started', { run: row.id, agent: row.agentName });
    void this.notify(row.id);
    return true;
  }

  // ---- agent traffic (RunHooks) --------------------------------------------------------------

  onAgentReady(link: AgentLink, held: HeldRun[]): void {
    void this.reconcileAgent(link, held)
      .catch((err) => log.error('run reconciliation failed', { agent: link.agentName, err: (err as Error).message }))
      .finally(() => this.pump());
  }

  private async reconcileAgent(link: AgentLink, held: HeldRun[]): Promise<void> {
    const heldById = new Map(held.map((h) => [h.runId, h]));
    const rows = await this.prisma.run.findMany({
      where: { OR: [{ id: { in: [...heldById.keys()] } }, { agentId: link.agentId, status: 'running' }] },
    });
    const known = new Set<string>();
    for (const row of rows) {
      known.add(row.id);
      const h = heldById.get(row.id);
      const ours = row.status === 'running' && row.agentId === link.agentId;
      if (!ours) {
        if (h) link.send({ type: 'run_forget', runId: row.id, reason: `the run is ${row.status}` });
        continue;
      }
      if (!h) {
        await this.end(row.id, 'lost', `agent ${link.agentName} no longer holds this run (it was restarted, or the run never reached it)`);
      } else if (h.state === 'orphaned') {
        await this.end(row.id, 'lost', `agent ${link.agentName} was restarted during the run; it killed the run's leftover processes`);
        link.send({ type: 'run_forget', runId: row.id, reason: 'lost' });
      } else {
        const live = this.live.get(row.id) ?? this.track(row);
        clearTimeout(live.lostTimer);
        live.lostTimer = undefined;
        live.agentId = link.agentId;
        link.send({ type: 'run_attach', runId: row.id, offset: live.have });
        log.info('run reattached', { run: row.id, agent: link.agentName, offset: live.have, state: h.state });
      }
    }
    for (const h of held) if (!known.has(h.runId)) link.send({ type: 'run_forget', runId: h.runId, reason: 'unknown run' });
  }

  onAgentGone(agentId: string): void {
    for (const live of this.live.values()) if (live.agentId === agentId && !live.ending) this.armLost(live);
  }

  onRunMessage(link: AgentLink, msg: RunMessage): void {
    const live = this.live.get(msg.runId);
    if (!live || live.agentId !== link.agentId) {
      if (msg.type === 'run_finished') link.send({ type: 'run_forget', runId: msg.runId, reason: 'unknown run' });
      return;
    }
    if (msg.type === 'run_started') {
      live.chain = live.chain
        .then(() => this.prisma.run.updateMany({ where: { id: msg.runId, status: 'running' }, data: { pid: msg.pid, workingDirectory: msg.cwd } }))
        .then(() => this.notify(msg.runId))
        .catch((err) => log.warn('could not record run start', { run: msg.runId, err: (err as Error).message }));
      return;
    }
    void this.finish(live, link, msg);
  }

  onRunOutput(link: AgentLink, frame: Frame): void {
    const live = this.live.get(frame.id);
    if (!live || live.agentId !== link.agentId || live.ending) return;
    const take = takeNewBytes(live.have, frame.offset, frame.payload);
    if (!take) return;
    if (take.skipped > 0) log.warn('run output gap', { run: live.id, missing: take.skipped });
    let data = take.fresh;
    const start = take.end - data.length;
    if (start >= live.cap) return;
    if (start + data.length > live.cap) data = data.subarray(0, live.cap - start);
    const stream: Stream = frame.kind === FrameKind.RunStderr ? 'stderr' : 'stdout';
    live.have = start + data.length;
    live.pending.push({ offset: start, stream, data: new Uint8Array(data) });
    for (const w of this.watchers.get(live.id) ?? []) w.output(stream, start, data);
    if (live.pending.reduce((n, c) => n + c.data.length, 0) >= FLUSH_BYTES) this.flush(live);
    else live.flushTimer ??= setTimeout(() => this.flush(live), this.opts.flushIntervalMs);
  }

  onRunError(link: AgentLink, runId: string, code: string, message: string, ref?: string): void {
    log.warn('agent refused a run message', { agent: link.agentName, run: runId, code, message, ref });
    // run_attach / run_kill for a run the agent does not hold: it is gone.
    if (code === 'not_found' && (ref === 'run_attach' || ref === 'run_kill')) void this.end(runId, 'lost', `agent ${link.agentName} no longer holds this run`);
  }

  // ---- output and endings ------------------------------------------------------------------

  /** Stores pending output (in order with the run's other database work), then acknowledges it. */
  private flush(live: LiveRun): Promise<void> {
    clearTimeout(live.flushTimer);
    live.flushTimer = undefined;
    if (live.pending.length === 0) return live.chain;
    const taken = live.pending.splice(0);
    live.storing.push(...taken);
    const batch = coalesce(taken);
    const end = batch[batch.length - 1]!.offset + batch[batch.length - 1]!.data.length;
    live.chain = live.chain
      .then(async () => {
        await this.prisma.$transaction([
          this.prisma.runOutputChunk.createMany({ data: batch.map((c) => ({ runId: live.id, offset: c.offset, stream: c.stream, data: c.data as Uint8Array<ArrayBuffer> })), skipDuplicates: true }),
          this.prisma.run.update({ where: { id: live.id }, data: { outputBytes: end } }),
        ]);
        this.hub.get(live.agentId)?.send({ type: 'run_ack', runId: live.id, offset: end });
      })
      .catch((err) => log.error('could not store run output', { run: live.id, err: (err as Error).message }))
      // Batches are stored in order, so this one is at the front.
      .finally(() => void live.storing.splice(0, taken.length));
    return live.chain;
  }

  private async finish(live: LiveRun, link: AgentLink, msg: RunFinished): Promise<void> {
    const reason =
      msg.error ??
      (msg.status === 'timeout' ? 'the run exceeded its timeout and was killed' : msg.status === 'killed' ? 'killed on request' : null);
    await this.end(live.id, msg.status, reason, ['running'], {
      exitCode: msg.exitCode,
      signal: msg.signal,
      durationSeconds: msg.durationMs / 1000,
      truncated: msg.truncated,
      resourceUsage: msg.resourceUsage ?? undefined,
    });
    link.send({ type: 'run_forget', runId: live.id, reason: msg.status });
  }

  /**
   * Ends a run once: folds its stored output into the run row and sets the end state, if the run
   * is still in one of `from`. Later calls for the same run change nothing.
   */
  private async end(
    runId: string,
    status: Exclude<RunStatus, 'queued' | 'running'>,
    reason: string | null,
    from: RunStatus[] = ['queued', 'running'],
    extra: { exitCode?: number | null; signal?: string | null; durationSeconds?: number; truncated?: boolean; resourceUsage?: object } = {},
  ): Promise<void> {
    const live = this.live.get(runId);
    if (live) {
      live.ending = true;
      clearTimeout(live.watchdog);
      clearTimeout(live.lostTimer);
      await this.flush(live);
    }
    const work = async () => {
      const row = await this.prisma.run.findUnique({ where: { id: runId } });
      if (!row || !from.includes(row.status as RunStatus)) return false;
      const chunks = await readChunks(this.prisma, runId);
      const folded = foldChunks(chunks);
      const finishedAt = new Date();
      const outputBytes = chunks.length ? chunks[chunks.length - 1]!.offset + chunks[chunks.length - 1]!.data.length : row.outputBytes;
      const done = await this.prisma.run.updateMany({
        where: { id: runId, status: { in: from } },
        data: {
          status,
          statusReason: reason,
          finishedAt,
          durationSeconds: extra.durationSeconds ?? (row.startedAt ? (finishedAt.getTime() - row.startedAt.getTime()) / 1000 : null),
          ...(extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
          ...(extra.signal !== undefined ? { signal: extra.signal } : {}),
          ...(extra.resourceUsage !== undefined ? { resourceUsage: extra.resourceUsage } : {}),
          truncated: extra.truncated ?? row.truncated,
          outputBytes,
          ...folded,
          launchSpec: null,
        },
      });
      return done.count === 1;
    };
    let endedHere = false; // whether this call (not an earlier one) ended the run
    const ended = await (live ? (live.chain = live.chain.then(work).then((d) => void (endedHere = d))).then(() => endedHere) : work()).catch((err) => {
      log.error('could not record the end of a run', { run: runId, err: (err as Error).message });
      return false;
    });
    if (live) this.untrack(live);
    if (ended) {
      log.info('run ended', { run: runId, status, reason: reason ?? undefined });
      for (const l of this.endedListeners) l(runId, status);
    }
    await this.notify(runId);
    this.pump();
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  /** The decrypted run_start contents of a run that has not ended, or null. */
  private specOf(row: Pick<RunRow, 'launchSpec'>): LaunchSpec | null {
    try {
      return JSON.parse(this.box.open(row.launchSpec ?? '')) as LaunchSpec;
    } catch {
      return null;
    }
  }

  private track(row: Pick<RunRow, 'id' | 'agentId' | 'outputBytes' | 'launchSpec'>): LiveRun {
    const spec = this.specOf(row);
    const live: LiveRun = {
      id: row.id,
      agentId: row.agentId,
      have: row.outputBytes,
      cap: spec?.maxOutputBytes ?? Number.MAX_SAFE_INTEGER,
      killGraceMs: spec?.killGraceMs ?? 5000,
      pending: [],
      storing: [],
      chain: Promise.resolve(),
      flushTimer: undefined,
      watchdog: undefined,
      lostTimer: undefined,
      ending: false,
    };
    this.live.set(row.id, live);
    return live;
  }

  private untrack(live: LiveRun): void {
    clearTimeout(live.flushTimer);
    clearTimeout(live.watchdog);
    clearTimeout(live.lostTimer);
    if (this.live.get(live.id) === live) this.live.delete(live.id);
  }

  private armWatchdog(live: LiveRun, row: { startedAt: Date | null; timeoutMinutes: number }): void {
    const deadline = (row.startedAt?.getTime() ?? Date.now()) + row.timeoutMinutes * 60_000 + live.killGraceMs + this.opts.watchdogSlackMs;
    clearTimeout(live.watchdog);
    live.watchdog = setTimeout(() => {
      this.hub.get(live.agentId)?.send({ type: 'run_kill', runId: live.id });
      void this.end(live.id, 'timeout', 'the agent did not report the end of the run within its timeout');
    }, Math.max(0, deadline - Date.now()));
    live.watchdog.unref();
  }

  private armLost(live: LiveRun): void {
    if (live.lostTimer) return;
    live.lostTimer = setTimeout(() => {
      live.lostTimer = undefined;
      if (this.hub.get(live.agentId)) return;
      void this.end(live.id, 'lost', `the agent went offline and did not come back within ${Math.round(this.opts.lostAfterMs / 1000)} s`);
    }, this.opts.lostAfterMs);
    live.lostTimer.unref();
  }

  /** Tells watchers and change listeners how the run stands now. */
  private async notify(runId: string): Promise<void> {
    const set = this.watchers.get(runId);
    if (!set?.size && this.changeListeners.size === 0) return;
    const view = await this.view(runId).catch(() => null);
    if (!view) return;
    for (const w of set ?? []) w.update(view);
    this.emitChange(view, isActive(view.status) ? 'updated' : 'finished');
  }
}

/** Merges adjacent chunks of the same stream into one row each. */
function coalesce(chunks: Chunk[]): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunks) {
    const last = out[out.length - 1];
    if (last && last.stream === c.stream && last.offset + last.data.length === c.offset) {
      const merged = new Uint8Array(last.data.length + c.data.length);
      merged.set(last.data);
      merged.set(c.data, last.data.length);
      last.data = merged;
    } else out.push({ ...c });
  }
  return out;
}
