/**
 * /api/schedules: cron schedules of saved prompts. Reading needs viewer; creating, editing,
 * deleting, toggling and run-now need operator (as starting a run does). Schedules are named by
 * id or name. Expressions are checked on save (invalid or never-firing ones are refused with a
 * 400 that says why); conflicts with other schedules are returned as warnings.
 */
import { Router } from 'express';
import {
  createScheduleSchema,
  cronPreviewQuerySchema,
  ErrorCode,
  fireListQuerySchema,
  previewQuerySchema,
  RexecError,
  runNowRequestSchema,
  scheduleListQuerySchema,
  updateScheduleSchema,
  type PreviewResponse,
} from '@rexec/shared';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import type { Scheduler } from '../../schedules/scheduler.js';
import { compileCron, formatLocal } from '../../schedules/cron.js';
import { findConflicts } from '../../schedules/conflicts.js';
import { claimFire, type ScheduleRow } from '../../schedules/fire.js';
import { fireView, scheduleViews } from '../../schedules/view.js';
import type { SecretBox } from '../../auth/secret-box.js';
import type { RunEngine } from '../../runs/run-engine.js';
import { findAgent, findUsableAgent } from '../../agents/lookup.js';
import { findProfile } from '../../runs/profiles.js';
import { canUseAgent, describePrincipal, type Principal } from '../../auth/principal.js';
import { auditChanges } from '../audit-changes.js';
import { parseBody } from '../errors.js';
import { principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';

export async function findSchedule(prisma: PrismaClient, ref: string): Promise<ScheduleRow | null> {
  if (ref.length > 128) return null;
  return (await prisma.schedule.findUnique({ where: { id: ref } })) ?? (await prisma.schedule.findUnique({ where: { name: ref } }));
}

function preview(cron: string, timezone: string, n: number, after: number): PreviewResponse {
  const spec = compileCron(cron, timezone, after);
  const times = spec.nextN(n, after);
  return { cronExpression: spec.expression, timezone, times: times.map((t) => new Date(t).toISOString()), local: times.map((t) => formatLocal(t, timezone)) };
}

function nameTaken(err: unknown, name: string): never {
  if ((err as { code?: string }).code === 'P2002') throw new RexecError(ErrorCode.Conflict, `a schedule named "${name}" already exists`);
  throw err;
}

export function schedulesRouter(prisma: PrismaClient, box: SecretBox, engine: RunEngine, scheduler: Scheduler): Router {
  const r = Router();
  const now = () => scheduler.clock.now();
  const views = (rows: ScheduleRow[]) => scheduleViews(prisma, rows, (s) => scheduler.nextRunTime(s));
  r.use('/schedules', auditChanges(prisma, 'schedule'));
  const one = async (row: ScheduleRow) => (await views([row]))[0]!;
  const announce = (type: 'schedule.created' | 'schedule.updated' | 'schedule.deleted', row: ScheduleRow) =>
    scheduler.events?.publish({ type, scheduleId: row.id, name: row.name }, { agentId: row.agentId, agentTag: row.agentTag });
  const warnings = (row: ScheduleRow) => (row.enabled ? findConflicts(prisma, row, now()) : Promise.resolve([]));
  const mustFind = async (ref: string) => {
    const row = await findSchedule(prisma, ref);
    if (!row) throw new RexecError(ErrorCode.NotFound, `no schedule "${ref}"`);
    return row;
  };

  /** Ids for the references in a create or update body; unknown ones are a 404 that names them. */
  const refs = async (b: { promptId?: string | undefined; profile?: string | null | undefined; agent?: string | null | undefined; agentTag?: string | null | undefined }, p: Principal) => {
    // A schedule runs with the scheduler's rights later, so its author must be allowed to use its agents now.
    if (b.agentTag && !canUseAgent(p, { id: '', tags: [b.agentTag] })) throw new RexecError(ErrorCode.Forbidden, `you may not use agents tagged "${b.agentTag}"`);
    const out: { promptId?: string; agentProfileId?: string | null; agentId?: string | null } = {};
    if (b.promptId !== undefined) {
      if (!(await prisma.prompt.findUnique({ where: { id: b.promptId }, select: { id: true } }))) throw new RexecError(ErrorCode.NotFound, `no prompt with id ${b.promptId}`);
      out.promptId = b.promptId;
    }
    if (b.profile !== undefined) {
      if (b.profile === null) out.agentProfileId = null;
      else {
        const p = await findProfile(prisma, b.profile);
        if (!p) throw new RexecError(ErrorCode.NotFound, `no profile "${b.profile}"`);
        out.agentProfileId = p.id;
      }
    }
    if (b.agent !== undefined) {
      if (b.agent === null) out.agentId = null;
      else {
        const a = await findUsableAgent(prisma, b.agent, p);
        if (!a) throw new RexecError(ErrorCode.NotFound, `no agent "${b.agent}"`);
        out.agentId = a.id;
      }
    }
    return out;
  };

  r.get('/schedules/preview', requireRole('viewer'), async (req, res) => {
    const q = parseBody(cronPreviewQuerySchema, req.query);
    res.json(preview(q.cron, q.timezone, q.n, now()));
  });

  r.get('/schedules', requireRole('viewer'), async (req, res) => {
    const q = parseBody(scheduleListQuerySchema, req.query);
    const where: Prisma.ScheduleWhereInput = {
      ...(q.enabled ? { enabled: q.enabled === 'true' } : {}),
      ...(q.agent ? { agentId: (await findAgent(prisma, q.agent))?.id ?? q.agent } : {}),
      ...(q.tag ? { agentTag: q.tag } : {}),
      ...(q.prompt ? { promptId: q.prompt } : {}),
      ...(q.q ? { OR: [{ name: { contains: q.q, mode: 'insensitive' } }, { description: { contains: q.q, mode: 'insensitive' } }] } : {}),
    };
    const [rows, total] = await Promise.all([prisma.schedule.findMany({ where, orderBy: { name: 'asc' }, skip: q.offset, take: q.limit }), prisma.schedule.count({ where })]);
    res.json({ items: await views(rows), total, limit: q.limit, offset: q.offset });
  });

  r.post('/schedules', requireRole('operator'), async (req, res) => {
    const body = parseBody(createScheduleSchema, req.body);
    compileCron(body.cronExpression, body.timezone, now());
    const ids = await refs(body, principalOf(res));
    const by = describePrincipal(principalOf(res));
    const { profile: _p, agent: _a, promptId: _q, ...fields } = body;
    const row = await prisma.schedule
      .create({ data: { ...fields, promptId: ids.promptId!, agentProfileId: ids.agentProfileId ?? null, agentId: ids.agentId ?? null, checkedUntil: new Date(now()), createdBy: by } })
      .catch((e) => nameTaken(e, body.name));
    log.info('schedule created', { schedule: row.name, cron: row.cronExpression, timezone: row.timezone, enabled: row.enabled, by });
    scheduler.reload();
    announce('schedule.created', row);
    res.status(201).json({ schedule: await one(row), warnings: await warnings(row) });
  });

  r.get('/schedules/:id', requireRole('viewer'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    res.json({ schedule: await one(row), warnings: await warnings(row) });
  });

  r.put('/schedules/:id', requireRole('operator'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const body = parseBody(updateScheduleSchema, req.body);
    const ids = await refs(body, principalOf(res));
    // Naming one kind of target clears the other, unless both are given (then the refine below refuses).
    const target = {
      agentId: ids.agentId !== undefined ? ids.agentId : body.agentTag != null ? null : row.agentId,
      agentTag: body.agentTag !== undefined ? body.agentTag : ids.agentId != null ? null : row.agentTag,
    };
    if ((target.agentId === null) === (target.agentTag === null)) {
      throw new RexecError(ErrorCode.ValidationFailed, 'invalid request: agent: give exactly one of "agent" (an agent id or name) or "agentTag" (every online agent with that tag)');
    }
    const cronExpression = body.cronExpression ?? row.cronExpression;
    const timezone = body.timezone ?? row.timezone;
    compileCron(cronExpression, timezone, now());
    const enabled = body.enabled ?? row.enabled;
    // A new expression or zone, or enabling, starts counting from now: nothing before is "missed".
    const restart = cronExpression !== row.cronExpression || timezone !== row.timezone || (enabled && !row.enabled);
    const { profile: _p, agent: _a, promptId: _q, agentTag: _t, ...fields } = body;
    const updated = await prisma.schedule
      .update({
        where: { id: row.id },
        data: { ...fields, ...ids, ...target, ...(restart ? { checkedUntil: new Date(now()) } : {}) },
      })
      .catch((e) => nameTaken(e, body.name ?? row.name));
    log.info('schedule updated', { schedule: updated.name, cron: updated.cronExpression, enabled: updated.enabled, by: describePrincipal(principalOf(res)) });
    scheduler.reload();
    announce('schedule.updated', updated);
    res.json({ schedule: await one(updated), warnings: await warnings(updated) });
  });

  r.delete('/schedules/:id', requireRole('operator'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    await prisma.schedule.delete({ where: { id: row.id } });
    log.info('schedule deleted', { schedule: row.name, by: describePrincipal(principalOf(res)) });
    scheduler.reload();
    announce('schedule.deleted', row);
    res.status(204).end();
  });

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    r.post(`/schedules/:id/${action}`, requireRole('operator'), async (req, res) => {
      const row = await mustFind(String(req.params.id));
      const updated =
        row.enabled === enabled ? row : await prisma.schedule.update({ where: { id: row.id }, data: { enabled, ...(enabled ? { checkedUntil: new Date(now()) } : {}) } });
      if (updated !== row) {
        log.info(`schedule ${action}d`, { schedule: row.name, by: describePrincipal(principalOf(res)) });
        announce('schedule.updated', updated);
      }
      scheduler.reload();
      res.json({ schedule: await one(updated), warnings: await warnings(updated) });
    });
  }

  /** Runs the schedule now (outside its cron times), on its agent or every online tagged agent. */
  r.post('/schedules/:id/run', requireRole('operator'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const body = parseBody(runNowRequestSchema, req.body);
    const by = describePrincipal(principalOf(res));
    const out = await claimFire({ prisma, box, engine, relayId: scheduler.relayId, events: scheduler.events }, row.id, now(), { trigger: 'manual', force: body.force, requestedBy: by });
    if (out.status === 'fired') {
      res.status(201).json({ runs: out.runs, skipped: out.skippedAgents });
      return;
    }
    if (out.status === 'skipped' && /still (queued|running)/.test(out.reason ?? '')) throw new RexecError(ErrorCode.Conflict, `${out.reason}; pass "force": true to start another run anyway`);
    throw new RexecError(out.status === 'gone' ? ErrorCode.NotFound : ErrorCode.Conflict, out.reason ?? `the schedule could not run (${out.status})`);
  });

  r.get('/schedules/:id/preview', requireRole('viewer'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const q = parseBody(previewQuerySchema, req.query);
    res.json(preview(row.cronExpression, row.timezone, q.n, Math.max(now(), row.checkedUntil.getTime())));
  });

  r.get('/schedules/:id/fires', requireRole('viewer'), async (req, res) => {
    const row = await mustFind(String(req.params.id));
    const q = parseBody(fireListQuerySchema, req.query);
    const where: Prisma.ScheduleFireWhereInput = { scheduleId: row.id, ...(q.status ? { status: { in: q.status } } : {}) };
    const [rows, total] = await Promise.all([prisma.scheduleFire.findMany({ where, orderBy: { fireTime: 'desc' }, skip: q.offset, take: q.limit }), prisma.scheduleFire.count({ where })]);
    res.json({ items: rows.map(fireView), total, limit: q.limit, offset: q.offset });
  });

  return r;
}
