/**
 * The scheduler loop. Each tick (at most tickMs apart, and woken at the next fire time) it reads
 * the enabled schedules from the database, so every create / update / delete / toggle, through
 * this relay or another, takes effect on the next tick without a restart (routes also call
 * reload() for an immediate tick).
 *
 * Per schedule, fire times in (checkedUntil, now] are due:
 * - on time (now - t <= missedGraceMs): claimed and fired (fire.ts, exactly once across relays);
 * - older (nobody was running at t): missed: recorded as `missed` fire rows and logged, not run;
 *   with missedPolicy run_once the latest of them fires once (trigger catch_up) unless an on-time
 *   fire happens in the same tick.
 * checkedUntil then moves to now (only forward, only when all went well, so a database error
 * retries on the next tick). Enabling a schedule or changing its expression resets checkedUntil
 * to now: time while it was disabled is not "missed".
 *
 * Fires queued behind a running previous run (overlapPolicy queue) are released once the
 * schedule has no queued or running run left.
 */
import { CoalescedPass } from '../coalesced-pass.js';
import os from 'node:os';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { RunEngine } from '../runs/run-engine.js';
import { log } from '../log.js';
import type { Clock } from './clock.js';
import { compileCron, type CronSpec } from './cron.js';
import type { EventBus } from '../events/event-bus.js';
import { claimFire, recordMissed, type FireDeps, type FireOutcome, type ScheduleRow } from './fire.js';

export interface SchedulerOptions {
  /** Longest sleep between ticks (the loop also wakes at the next fire time). */
  tickMs: number;
  /** A fire time at most this late still fires; older ones count as missed. */
  missedGraceMs: number;
}
export const SCHEDULER_DEFAULTS: SchedulerOptions = { tickMs: 1000, missedGraceMs: 60_000 };

/** At most this many missed fire times per schedule and tick get their own row (the log counts all). */
const MISSED_ROWS = 20;
const MISSED_COUNT_CAP = 100_000;

export interface TickReport {
  fired: FireOutcome[];
  missed: { scheduleId: string; count: number; truncated: boolean }[];
}

export class Scheduler {
  readonly relayId = `${os.hostname()}:${process.pid}`;
  private readonly specs = new Map<string, { key: string; spec: CronSpec | null }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly passes = new CoalescedPass(() => this.tickOnce(), () => !this.stopped);
  private stopped = true;
  /** Live events (schedule.fired); set by startScheduling. */
  events: EventBus | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly engine: RunEngine,
    readonly clock: Clock,
    private readonly opts: SchedulerOptions = SCHEDULER_DEFAULTS,
  ) {}

  private get deps(): FireDeps {
    return { prisma: this.prisma, box: this.box, engine: this.engine, relayId: this.relayId, events: this.events };
  }

  start(): void {
    this.stopped = false;
    this.wake(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.passes.running?.catch(() => undefined);
  }

  /** Re-reads the schedules now (after a change through the API). */
  reload(): void {
    if (!this.stopped) this.wake(0);
  }

  private wake(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    let nextFire: number | null = null;
    try {
      await this.tick();
      nextFire = this.earliestNext();
    } catch (err) {
      log.error('scheduler tick failed', { err: (err as Error).message });
    }
    if (this.stopped) return;
    const untilFire = nextFire === null ? this.opts.tickMs : nextFire - this.clock.now() + 5;
    this.wake(Math.max(10, Math.min(this.opts.tickMs, untilFire)));
  }

  /** The compiled expression of a schedule (cached by expression and zone); null if invalid. */
  spec(s: Pick<ScheduleRow, 'id' | 'cronExpression' | 'timezone'>): CronSpec | null {
    const key = `${s.cronExpression}\u0000${s.timezone}`;
    const hit = this.specs.get(s.id);
    if (hit?.key === key) return hit.spec;
    let spec: CronSpec | null = null;
    try {
      spec = compileCron(s.cronExpression, s.timezone, this.clock.now());
    } catch (err) {
      log.error('schedule has an invalid cron expression; it will not fire', { schedule: s.id, err: (err as Error).message });
    }
    this.specs.set(s.id, { key, spec });
    return spec;
  }

  /** The next fire time of an enabled schedule after now, or null. */
  nextRunTime(s: Pick<ScheduleRow, 'id' | 'cronExpression' | 'timezone' | 'enabled' | 'checkedUntil'>): number | null {
    if (!s.enabled) return null;
    return this.spec(s)?.next(Math.max(this.clock.now(), s.checkedUntil.getTime())) ?? null;
  }

  private nextBySchedule = new Map<string, number>();
  private earliestNext(): number | null {
    let min: number | null = null;
    for (const t of this.nextBySchedule.values()) if (min === null || t < min) min = t;
    return min;
  }

  /** One pass; concurrent calls share it (and cause one more pass after it). */
  tick(): Promise<TickReport> {
    return this.passes.run();
  }

  private async tickOnce(): Promise<TickReport> {
    const report: TickReport = { fired: [], missed: [] };
    const now = this.clock.now();
    // Fires waiting behind a previous run go first, so a fire due now queues behind them.
    await this.releaseQueued(report).catch((err) => log.error('could not release queued schedule fires', { err: (err as Error).message }));
    const schedules = await this.prisma.schedule.findMany({ where: { enabled: true }, orderBy: { createdAt: 'asc' } });
    const seen = new Set<string>();
    for (const s of schedules) {
      seen.add(s.id);
      const spec = this.spec(s);
      if (!spec) continue;
      try {
        await this.handleDue(s, spec, now, report);
      } catch (err) {
        log.error('schedule fire failed; retrying on the next tick', { schedule: s.name, err: (err as Error).message });
      }
      const next = spec.next(Math.max(now, s.checkedUntil.getTime()));
      if (next === null) this.nextBySchedule.delete(s.id);
      else this.nextBySchedule.set(s.id, next);
    }
    for (const id of [...this.nextBySchedule.keys()]) if (!seen.has(id)) this.nextBySchedule.delete(id);
    for (const id of [...this.specs.keys()]) if (!seen.has(id)) this.specs.delete(id);
    return report;
  }

  private async handleDue(s: ScheduleRow, spec: CronSpec, now: number, report: TickReport): Promise<void> {
    const from = s.checkedUntil.getTime();
    if (from >= now) return;
    const lateLimit = now - this.opts.missedGraceMs;
    const onTime = spec.between(Math.max(from, lateLimit), now, 1000).times;
    let catchUp: number | null = null;
    if (from < lateLimit) {
      const missed = spec.between(from, lateLimit, MISSED_COUNT_CAP);
      if (missed.times.length) {
        const times = missed.times;
        if (s.missedPolicy === 'run_once' && onTime.length === 0) catchUp = times.pop()!;
        const recorded = await recordMissed(this.deps, s.id, times.slice(-MISSED_ROWS));
        if (times.length) {
          log.warn('schedule missed fire times while no relay was running; not run', {
            schedule: s.name,
            missed: `${times.length}${missed.truncated ? '+' : ''}`,
            first: new Date(times[0]!).toISOString(),
            last: new Date(times[times.length - 1]!).toISOString(),
            recorded,
            policy: s.missedPolicy,
          });
        }
        report.missed.push({ scheduleId: s.id, count: times.length, truncated: missed.truncated });
      }
    }
    if (catchUp !== null) report.fired.push(await claimFire(this.deps, s.id, catchUp, { trigger: 'catch_up' }));
    for (const t of onTime) report.fired.push(await claimFire(this.deps, s.id, t, { trigger: 'cron' }));
    await this.prisma.schedule.updateMany({ where: { id: s.id, checkedUntil: { lt: new Date(now) } }, data: { checkedUntil: new Date(now) } });
  }

  private async releaseQueued(report: TickReport): Promise<void> {
    const queued = await this.prisma.scheduleFire.findMany({ where: { status: 'queued' }, orderBy: { fireTime: 'asc' } });
    const done = new Set<string>();
    for (const f of queued) {
      if (done.has(f.scheduleId)) continue;
      done.add(f.scheduleId);
      const active = await this.prisma.run.count({ where: { scheduleId: f.scheduleId, status: { in: ['queued', 'running'] } } });
      if (active) continue;
      const out = await claimFire(this.deps, f.scheduleId, f.fireTime.getTime(), { trigger: f.trigger as 'cron', releaseFireId: f.id });
      report.fired.push(out);
    }
  }
}
