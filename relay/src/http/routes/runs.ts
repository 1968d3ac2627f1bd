/**
 * /api/run and /api/runs: start (or dry-run) a run, list and filter the history, follow, kill,
 * export, and download output. Starting and killing need operator; reading needs viewer.
 */
import { Router, type Response } from 'express';
import { cleanOutput, ErrorCode, RexecError, runListQuerySchema, runRequestSchema, type RunListQuery } from '@rexec/shared';
import type { z } from 'zod';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import type { SecretBox } from '../../auth/secret-box.js';
import { newRunId, type RunEngine } from '../../runs/run-engine.js';
import { resolveRun } from '../../runs/launch.js';
import { loadRunnerSettings } from '../../runs/settings.js';
import { runView } from '../../runs/run-view.js';
import { findAgent, usableAgentIds } from '../../agents/lookup.js';
import { findProfile } from '../../runs/profiles.js';
import { describePrincipal, type Principal } from '../../auth/principal.js';
import { parseBody } from '../errors.js';
import { clientIp, principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';
import { auditLog } from '../../audit/audit-log.js';

type ListQuery = z.output<typeof runListQuerySchema>;
const withProfile = { agentProfile: { select: { name: true } } } as const;
const EXPORT_MAX = 10_000;

/** The where clause of a run listing; unknown agent/profile names match nothing; only runs on agents the caller may use. */
async function runFilter(prisma: PrismaClient, q: ListQuery, p: Principal): Promise<Prisma.RunWhereInput> {
  const where: Prisma.RunWhereInput = {};
  const allowed = await usableAgentIds(prisma, p);
  if (allowed) where.AND = [{ agentId: { in: allowed } }];
  if (q.status) where.status = { in: q.status };
  if (q.trigger) where.triggeredBy = q.trigger;
  if (q.agent) where.agentId = (await findAgent(prisma, q.agent))?.id ?? q.agent;
  if (q.profile) where.agentProfileId = (await findProfile(prisma, q.profile))?.id ?? q.profile;
  if (q.prompt) where.promptId = q.prompt;
  if (q.schedule) where.scheduleId = q.schedule;
  if (q.directory) where.workingDirectory = { startsWith: q.directory };
  if (q.from || q.to) where.createdAt = { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) };
  if (q.q) where.promptContent = { contains: q.q, mode: 'insensitive' };
  return where;
}

const NULLABLE_SORTS = new Set(['startedAt', 'finishedAt', 'durationSeconds', 'exitCode']);
/** Sorting; runs without a value (not started, not finished) come last either way. */
function orderOf(q: ListQuery): Prisma.RunOrderByWithRelationInput {
  return { [q.sort]: NULLABLE_SORTS.has(q.sort) ? { sort: q.order, nulls: 'last' } : q.order };
}

function attachment(res: Response, filename: string, type: string): void {
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
}

export function runsRouter(prisma: PrismaClient, box: SecretBox, engine: RunEngine): Router {
  const r = Router();

  r.post('/run', requireRole('operator'), async (req, res) => {
    const body = parseBody(runRequestSchema, req.body);
    const settings = await loadRunnerSettings(prisma);
    const resolved = await resolveRun(prisma, box, settings, body, principalOf(res));
    if (body.dryRun) {
      res.json(resolved.dry);
      return;
    }
    const by = describePrincipal(principalOf(res));
    const run = await engine.submit({ ...resolved.row, id: newRunId(), requestedBy: by, triggeredBy: 'manual' }, resolved.spec);
    log.info('run requested', { run: run.id, agent: run.agentName, profile: resolved.row.agentProfileId, by });
    await auditLog(prisma).record({ actor: by, action: 'run.start', target: run.id, ip: clientIp(req), details: { agent: run.agentName, profile: run.profileName, workingDirectory: run.workingDirectory, promptId: run.promptId } });
    res.status(201).json({ run });
  });

  r.get('/runs', requireRole('viewer'), async (req, res) => {
    const q = parseBody(runListQuerySchema, req.query);
    const where = await runFilter(prisma, q, principalOf(res));
    const [rows, total] = await Promise.all([
      prisma.run.findMany({ where, orderBy: [orderOf(q), { id: 'asc' }], skip: q.offset, take: q.limit, include: withProfile }),
      prisma.run.count({ where }),
    ]);
    res.json({ items: rows.map(runView), total, limit: q.limit, offset: q.offset });
  });

  r.get('/runs/active', requireRole('viewer'), async (_req, res) => {
    const allowed = await usableAgentIds(prisma, principalOf(res));
    const rows = await prisma.run.findMany({ where: { status: { in: ['queued', 'running'] }, ...(allowed ? { agentId: { in: allowed } } : {}) }, orderBy: { createdAt: 'asc' }, include: withProfile });
    res.json({ items: rows.map(runView) });
  });

  /** All matching runs with their output, as a JSON file. */
  r.get('/runs/export', requireRole('viewer'), async (req, res) => {
    const q = parseBody(runListQuerySchema, { ...req.query, limit: 1 } satisfies RunListQuery);
    const where = await runFilter(prisma, q, principalOf(res));
    const rows = await prisma.run.findMany({ where, orderBy: [orderOf(q), { id: 'asc' }], take: EXPORT_MAX, include: withProfile });
    attachment(res, `rexec-runs-${new Date().toISOString().slice(0, 10)}.json`, 'application/json');
    res.send(JSON.stringify({ exportedAt: new Date().toISOString(), count: rows.length, runs: rows.map((row) => ({ ...runView(row), stdout: row.stdout, stderr: row.stderr, rawOutput: row.rawOutput })) }, null, 2));
  });

  /** A run the caller may see (on an agent it may use); 404 otherwise. */
  async function visibleRun(id: string, p: Principal) {
    const run = await engine.view(id);
    const allowed = run ? await usableAgentIds(prisma, p) : null;
    if (!run || (allowed && !allowed.includes(run.agentId))) throw new RexecError(ErrorCode.NotFound, 'no such run');
    return run;
  }

  r.get('/runs/:id', requireRole('viewer'), async (req, res) => {
    const run = await visibleRun(String(req.params.id), principalOf(res));
    res.json({ run });
  });

  /** stdout and stderr (cleaned) and the raw combined output, so far or final. */
  r.get('/runs/:id/output', requireRole('viewer'), async (req, res) => {
    await visibleRun(String(req.params.id), principalOf(res));
    const out = await engine.output(String(req.params.id));
    if (!out) throw new RexecError(ErrorCode.NotFound, 'no such run');
    res.json(out);
  });

  /** The output as a .log download: cleaned, or as produced with ?raw=1. */
  r.get('/runs/:id/log', requireRole('viewer'), async (req, res) => {
    const id = String(req.params.id);
    await visibleRun(id, principalOf(res));
    const out = await engine.output(id);
    if (!out) throw new RexecError(ErrorCode.NotFound, 'no such run');
    const raw = req.query.raw === '1' || req.query.raw === 'true';
    attachment(res, `run-${id}${raw ? '.raw' : ''}.log`, 'text/plain; charset=utf-8');
    // The readable log: the raw output cleaned, streams interleaved as produced.
    res.send(raw ? out.rawOutput : cleanOutput(out.rawOutput));
  });

  r.post('/runs/:id/kill', requireRole('operator'), async (req, res) => {
    const id = String(req.params.id);
    const before = await visibleRun(id, principalOf(res));
    if (before.status !== 'queued' && before.status !== 'running') throw new RexecError(ErrorCode.Conflict, `the run has already ended (${before.status})`);
    const run = await engine.kill(id);
    log.info('run kill requested', { run: id, by: describePrincipal(principalOf(res)) });
    await auditLog(prisma).record({ actor: describePrincipal(principalOf(res)), action: 'run.kill', target: id, ip: clientIp(req), details: { agent: before.agentName } });
    res.status(202).json({ run });
  });

  return r;
}
