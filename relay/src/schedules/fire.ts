/**
 * Fire claiming: turns one fire time of a schedule into runs, exactly once however many relays
 * share the database.
 *
 * What a fire would run is resolved first (read-only, the same resolveRun as POST /api/run).
 * Then ONE transaction: lock the schedule row (SELECT ... FOR UPDATE, so fires of one schedule
 * are decided one at a time), check that no row exists for (schedule, fire time), apply the
 * overlap policy, create the runs (RunEngine.submit inside the transaction), insert the fire row
 * (unique key on schedule_id + fire_time), and record lastFireTime / lastRunId. Either all of it
 * commits or none: a relay killed half way leaves no claim behind, so another relay (or this one
 * after a restart, within the grace period) fires it; a relay that loses the race finds the row
 * and does nothing.
 *
 * Tag selectors fan out: one run per agent that carries the tag and is online at fire time
 * (offline ones are named in the fire's reason). The whole fan-out belongs to the one fire row.
 */
import type { Principal } from '../auth/principal.js';
import { RexecError, type RunView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { SecretBox } from '../auth/secret-box.js';
import { newRunId, type RunEngine } from '../runs/run-engine.js';
import { resolveRun, type ResolvedRun } from '../runs/launch.js';
import { loadRunnerSettings } from '../runs/settings.js';
import { log } from '../log.js';
import type { EventBus } from '../events/event-bus.js';

/** Fires run with the scheduler's own rights; who may target which agents is checked when a schedule is saved. */
const SCHEDULER_PRINCIPAL: Principal = { kind: 'token', id: 'scheduler', name: 'scheduler', role: 'admin', agentTags: [], userId: null };

export type ScheduleRow = Awaited<ReturnType<PrismaClient['schedule']['findUniqueOrThrow']>>;
export type FireTrigger = 'cron' | 'catch_up' | 'manual';
export type FireStatus = 'fired' | 'skipped' | 'queued' | 'missed' | 'error';

export interface FireDeps {
  prisma: PrismaClient;
  box: SecretBox;
  engine: RunEngine;
  /** host:pid, recorded on the fire rows this relay claims. */
  relayId: string;
  /** Live events (schedule.fired). */
  events?: EventBus | undefined;
}

export interface FireOutcome {
  /** taken: another relay (or an earlier tick) already decided this fire; gone: the schedule was
   *  deleted or disabled; waiting: a queued fire whose previous run is still active. */
  status: FireStatus | 'taken' | 'gone' | 'waiting';
  fireId: string | null;
  runs: RunView[];
  reason: string | null;
  skippedAgents: { agent: string; reason: string }[];
}

export interface FireOptions {
  trigger: FireTrigger;
  /** Start even when a previous run of the schedule is still active (run now --force). */
  force?: boolean;
  requestedBy?: string;
  /** Release this queued fire (overlap policy queue) instead of claiming a new fire time. */
  releaseFireId?: string;
}

interface Targets {
  resolved: ResolvedRun[];
  skipped: { agent: string; reason: string }[];
  /** Nothing can run at all (prompt deleted, ...). */
  error: string | null;
  /** No tagged agent is online: the fire is skipped rather than failed. */
  nobodyOnline: boolean;
}

/** What a fire would run now, per target agent; every problem becomes a reason, never a throw. */
export async function resolveTargets(prisma: PrismaClient, box: SecretBox, s: ScheduleRow): Promise<Targets> {
  const out: Targets = { resolved: [], skipped: [], error: null, nobodyOnline: false };
  if (!s.promptId) {
    out.error = "the schedule's prompt was deleted; edit the schedule to choose another";
    return out;
  }
  let agents: string[];
  if (s.agentId) agents = [s.agentId];
  else {
    const tagged = await prisma.agent.findMany({ where: { tags: { has: s.agentTag ?? '' } }, orderBy: { name: 'asc' }, select: { id: true, name: true, status: true } });
    agents = tagged.filter((a) => a.status === 'online').map((a) => a.id);
    for (const a of tagged) if (a.status !== 'online') out.skipped.push({ agent: a.name, reason: 'offline' });
    if (!agents.length) {
      out.error = tagged.length ? `no agent with tag "${s.agentTag}" is online` : `no agent has tag "${s.agentTag}"`;
      out.nobodyOnline = tagged.length > 0;
      return out;
    }
  }
  const settings = await loadRunnerSettings(prisma);
  for (const agent of agents) {
    try {
      out.resolved.push(
        await resolveRun(prisma, box, settings, {
          promptId: s.promptId,
          profile: s.agentProfileId ?? undefined,
          agent,
          workingDirectory: s.workingDirectory ?? undefined,
          timeout: s.timeout ?? undefined,
          variables: (s.variables ?? {}) as Record<string, string>,
        }, SCHEDULER_PRINCIPAL),
      );
    } catch (err) {
      if (!(err instanceof RexecError)) throw err;
      out.skipped.push({ agent, reason: err.message });
    }
  }
  if (!out.resolved.length) out.error = out.skipped.map((x) => (s.agentId ? x.reason : `${x.agent}: ${x.reason}`)).join('; ');
  return out;
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'P2002' || /unique constraint/i.test((err as Error).message ?? '');

/** Decides one fire (see the header). Never throws for a lost race; throws on database failure. */
export async function claimFire(d: FireDeps, scheduleId: string, fireTime: number, opts: FireOptions): Promise<FireOutcome> {
  const none = (status: FireOutcome['status'], reason: string | null = null): FireOutcome => ({ status, fireId: null, runs: [], reason, skippedAgents: [] });
  const s = await d.prisma.schedule.findUnique({ where: { id: scheduleId } });
  if (!s || (!s.enabled && opts.trigger !== 'manual' && !opts.releaseFireId)) return none('gone');
  const at = new Date(fireTime);
  if (!opts.releaseFireId && (await d.prisma.scheduleFire.findUnique({ where: { scheduleId_fireTime: { scheduleId, fireTime: at } }, select: { id: true } }))) return none('taken');

  const targets = await resolveTargets(d.prisma, d.box, s);
  const requestedBy = opts.requestedBy ?? `schedule:${s.name}`;
  let outcome: FireOutcome;
  try {
    outcome = await d.prisma.$transaction(
      async (tx) => {
        const locked = await tx.$queryRaw<{ enabled: boolean }[]>`SELECT "enabled" FROM "schedules" WHERE "id" = ${scheduleId} FOR UPDATE`;
        if (!locked[0]) return none('gone');
        if (opts.releaseFireId) {
          const f = await tx.scheduleFire.findUnique({ where: { id: opts.releaseFireId } });
          if (!f || f.status !== 'queued') return none('taken');
          if (!locked[0].enabled) {
            await tx.scheduleFire.update({ where: { id: f.id }, data: { status: 'skipped', reason: 'the schedule was disabled while this fire waited' } });
            return none('skipped', 'the schedule was disabled while this fire waited');
          }
        } else {
          if (!locked[0].enabled && opts.trigger !== 'manual') return none('gone');
          if (await tx.scheduleFire.findUnique({ where: { scheduleId_fireTime: { scheduleId, fireTime: at } }, select: { id: true } })) return none('taken');
        }

        let status: FireStatus;
        let reason: string | null = null;
        const runs: RunView[] = [];
        const active = await tx.run.findFirst({ where: { scheduleId, status: { in: ['queued', 'running'] } }, orderBy: { createdAt: 'asc' }, select: { id: true, status: true } });
        if (targets.error) {
          [status, reason] = [targets.nobodyOnline ? 'skipped' : 'error', targets.error];
        } else if (active && !opts.force) {
          if (opts.releaseFireId) return none('waiting');
          const busy = `the previous run ${active.id} is still ${active.status}`;
          if (s.overlapPolicy === 'queue' && opts.trigger !== 'manual') {
            const waiting = await tx.scheduleFire.findFirst({ where: { scheduleId, status: 'queued' }, select: { id: true } });
            if (waiting) [status, reason] = ['skipped', `${busy} and another fire already waits for it`];
            else [status, reason] = ['queued', `${busy}; this fire starts when it ends`];
          } else [status, reason] = ['skipped', busy];
        } else {
          for (const r of targets.resolved) {
            runs.push(await d.engine.submit({ ...r.row, id: newRunId(), scheduleId, requestedBy, triggeredBy: opts.trigger === 'manual' ? 'manual' : 'schedule' }, r.spec, tx));
          }
          status = 'fired';
          const notes = [
            ...(opts.trigger === 'catch_up' ? ['catch-up of a fire time missed while no relay was running'] : []),
            ...(opts.releaseFireId ? ['started after the previous run ended (overlap policy queue)'] : []),
            ...targets.skipped.map((x) => `not on ${x.agent}: ${x.reason}`),
          ];
          reason = notes.length ? notes.join('; ') : null;
        }

        const data = { status, reason, runIds: runs.map((r) => r.id), relay: d.relayId };
        const fire = opts.releaseFireId
          ? await tx.scheduleFire.update({ where: { id: opts.releaseFireId }, data })
          : await tx.scheduleFire.create({ data: { ...data, scheduleId, fireTime: at, trigger: opts.trigger } });
        await tx.schedule.update({
          where: { id: scheduleId },
          data: {
            ...(opts.trigger !== 'manual' && !opts.releaseFireId ? { lastFireTime: at } : {}),
            ...(runs.length ? { lastRunId: runs[runs.length - 1]!.id } : {}),
          },
        });
        return { status, fireId: fire.id, runs, reason, skippedAgents: targets.skipped };
      },
      { maxWait: 10_000, timeout: 20_000 },
    );
  } catch (err) {
    if (isUniqueViolation(err)) return none('taken');
    throw err;
  }
  if (outcome.runs.length) d.engine.committed(outcome.runs);
  if (outcome.fireId && (outcome.status === 'fired' || outcome.status === 'skipped' || outcome.status === 'queued' || outcome.status === 'error')) {
    d.events?.publish({ type: 'schedule.fired', scheduleId: s.id, name: s.name, status: outcome.status, runIds: outcome.runs.map((r) => r.id) }, { agentId: s.agentId, agentTag: s.agentTag });
  }
  if (outcome.fireId) {
    const fields = { schedule: s.name, fireTime: at.toISOString(), trigger: opts.trigger, runs: outcome.runs.map((r) => r.id).join(',') || undefined, reason: outcome.reason ?? undefined };
    if (outcome.status === 'fired') log.info('schedule fired', fields);
    else if (outcome.status === 'queued') log.info('schedule fire queued behind the previous run', fields);
    else log.warn(`schedule fire ${outcome.status}`, fields);
  }
  return outcome;
}

/** Records fire times nobody ran (relay down) as `missed`; rows that exist already stay. */
export async function recordMissed(d: FireDeps, scheduleId: string, times: number[]): Promise<number> {
  if (!times.length) return 0;
  const r = await d.prisma.scheduleFire.createMany({
    data: times.map((t) => ({ scheduleId, fireTime: new Date(t), trigger: 'cron', status: 'missed', reason: 'no relay was running at this fire time', relay: d.relayId })),
    skipDuplicates: true,
  });
  return r.count;
}
