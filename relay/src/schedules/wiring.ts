/**
 * Starts what schedules and notifications need on a relay (called from server.ts):
 * - the scheduler, with its clock: the host clock corrected to the database's clock on
 *   PostgreSQL (re-measured every 10 minutes), or REXEC_SCHEDULER_TEST_CLOCK in tests;
 * - the webhook notifier, and usage parsing, both fed by RunEngine.onEnded;
 * - on PostgreSQL, a periodic RunEngine.pump(): a run queued by another relay (a scheduled fire
 *   claimed there, or POST /api/run there) for an agent held here starts within REXEC_RUN_PUMP_MS.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { RunEngine } from '../runs/run-engine.js';
import type { DatabaseKind } from '../db/open.js';
import type { RelayConfig } from '../config.js';
import { recordUsage } from '../analytics/record-usage.js';
import { WebhookNotifier } from '../notify/webhooks.js';
import { log } from '../log.js';
import { DatabaseClock, parseTestClock, systemClock, type Clock } from './clock.js';
import { Scheduler } from './scheduler.js';
import type { EventBus } from '../events/event-bus.js';

const CLOCK_SYNC_MS = 10 * 60_000;

export async function startScheduling(prisma: PrismaClient, box: SecretBox, runs: RunEngine, kind: DatabaseKind, cfg: Pick<RelayConfig, 'scheduler' | 'webhooks' | 'runPumpMs'>, events?: EventBus) {
  const timers: NodeJS.Timeout[] = [];
  let clock: Clock = systemClock;
  if (cfg.scheduler.testClock) {
    clock = parseTestClock(cfg.scheduler.testClock);
    log.warn('scheduler uses a test clock (REXEC_SCHEDULER_TEST_CLOCK); do not use this in production', { now: new Date(clock.now()).toISOString() });
  } else if (kind === 'postgresql') {
    const dbClock = new DatabaseClock(async () => (await prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`)[0]!.now);
    const sync = async () => {
      const offset = await dbClock.sync().catch(() => null);
      if (offset !== null && Math.abs(offset) > 2000) log.warn('this host clock differs from the database clock; schedules use the database clock', { offsetMs: offset });
    };
    await sync();
    timers.push(setInterval(() => void sync(), CLOCK_SYNC_MS));
    clock = dbClock;
  }
  const scheduler = new Scheduler(prisma, box, runs, clock, cfg.scheduler);
  scheduler.events = events;
  const notifier = new WebhookNotifier(prisma, box, runs, cfg.webhooks);
  const unsubscribe = runs.onEnded((runId, status) => {
    void recordUsage(prisma, runId).catch((err) => log.warn('could not record run usage', { run: runId, err: (err as Error).message }));
    void notifier.onRunEnded(runId, status).catch((err) => log.error('could not queue webhook deliveries', { run: runId, err: (err as Error).message }));
  });
  if (cfg.scheduler.enabled) scheduler.start();
  else log.info('scheduler is off on this relay (REXEC_SCHEDULER=off)');
  notifier.start();
  if (kind === 'postgresql') timers.push(setInterval(() => runs.pump(), cfg.runPumpMs));
  for (const t of timers) t.unref();
  return {
    scheduler,
    notifier,
    async stop() {
      for (const t of timers) clearInterval(t);
      unsubscribe();
      await scheduler.stop();
      await notifier.stop();
    },
  };
}
