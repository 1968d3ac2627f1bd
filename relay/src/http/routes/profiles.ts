/**
 * /api/profiles: how AI coding CLIs (or any command) are invoked. Reading needs viewer; changing
 * needs admin, since a profile decides what runs on servers. Templates are validated on save
 * (errors refuse the save, warnings are returned), secret variables are write-only.
 */
import { Router } from 'express';
import {
  ErrorCode,
  RexecError,
  createProfileSchema,
  pageQuerySchema,
  testProfileRequestSchema,
  updateProfileSchema,
  validateTemplateRequestSchema,
  agentTypeSchema,
  type TemplateCheck,
} from '@rexec/shared';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { SecretBox } from '../../auth/secret-box.js';
import { newRunId, type RunEngine } from '../../runs/run-engine.js';
import { findProfile, mergeEnv, profileView, storedEnv } from '../../runs/profiles.js';
import { validateTemplate } from '../../runs/template-validation.js';
import { loadRunnerSettings } from '../../runs/settings.js';
import { resolveRun } from '../../runs/launch.js';
import { describePrincipal } from '../../auth/principal.js';
import { parseBody } from '../errors.js';
import { clientIp, principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';
import { auditLog } from '../../audit/audit-log.js';

const listQuery = pageQuerySchema.extend({
  agentType: agentTypeSchema.optional(),
  enabled: z.enum(['true', 'false']).optional(),
  q: z.string().max(128).optional(),
});

/** The template checks; refuses (400 with every check in details) when an error-level check fails. */
async function checkOrRefuse(template: string, acknowledgeDangerous: boolean): Promise<TemplateCheck[]> {
  const v = await validateTemplate(template, acknowledgeDangerous);
  if (!v.valid) {
    const failed = v.checks.filter((c) => !c.ok && c.severity === 'error');
    throw new RexecError(ErrorCode.ValidationFailed, `invalid template: ${failed.map((c) => c.message).join('; ')}`, { details: { checks: v.checks } });
  }
  return v.checks;
}

function slugify(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'profile'
  );
}

async function freeSlug(prisma: PrismaClient, base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const slug = i === 1 ? base : `${base.slice(0, 60)}-${i}`;
    if (!(await prisma.agentProfile.findUnique({ where: { slug } }))) return slug;
  }
}

function conflictOnSlug(err: unknown, slug: string): never {
  if ((err as { code?: string }).code === 'P2002') throw new RexecError(ErrorCode.Conflict, `a profile with slug "${slug}" already exists`);
  throw err;
}

export function profilesRouter(prisma: PrismaClient, box: SecretBox, engine: RunEngine): Router {
  const r = Router();

  r.get('/profiles', requireRole('viewer'), async (req, res) => {
    const q = parseBody(listQuery, req.query);
    const where = {
      ...(q.agentType ? { agentType: q.agentType } : {}),
      ...(q.enabled ? { enabled: q.enabled === 'true' } : {}),
      ...(q.q ? { OR: [{ name: { contains: q.q, mode: 'insensitive' as const } }, { slug: { contains: q.q.toLowerCase() } }] } : {}),
    };
    const [rows, total] = await Promise.all([prisma.agentProfile.findMany({ where, orderBy: { name: 'asc' }, skip: q.offset, take: q.limit }), prisma.agentProfile.count({ where })]);
    res.json({ items: rows.map(profileView), total, limit: q.limit, offset: q.offset });
  });

  r.post('/profiles/validate', requireRole('viewer'), async (req, res) => {
    const body = parseBody(validateTemplateRequestSchema, req.body);
    res.json(await validateTemplate(body.invocationTemplate, body.acknowledgeDangerous));
  });

  r.get('/profiles/:id', requireRole('viewer'), async (req, res) => {
    const row = await findProfile(prisma, String(req.params.id));
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such profile');
    res.json({ profile: profileView(row) });
  });

  r.post('/profiles', requireRole('admin'), async (req, res) => {
    const body = parseBody(createProfileSchema, req.body);
    const checks = await checkOrRefuse(body.invocationTemplate, body.acknowledgeDangerous);
    const slug = body.slug ?? (await freeSlug(prisma, slugify(body.name)));
    const { acknowledgeDangerous: _a, env, ...fields } = body;
    const row = await prisma.agentProfile.create({ data: { ...fields, slug, env: mergeEnv([], env, box) } }).catch((e) => conflictOnSlug(e, slug));
    log.info('profile created', { profile: row.slug, by: describePrincipal(principalOf(res)) });
    await auditLog(prisma).record({ actor: describePrincipal(principalOf(res)), action: 'profile.create', target: row.slug, ip: clientIp(req), details: { template: row.invocationTemplate, env: env.map((e) => e.name) } });
    res.status(201).json({ profile: profileView(row), checks });
  });

  r.put('/profiles/:id', requireRole('admin'), async (req, res) => {
    const row = await findProfile(prisma, String(req.params.id));
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such profile');
    const body = parseBody(updateProfileSchema, req.body);
    const defaultTimeout = body.defaultTimeout ?? row.defaultTimeout;
    const maxTimeout = body.maxTimeout ?? row.maxTimeout;
    if (maxTimeout < defaultTimeout) throw new RexecError(ErrorCode.ValidationFailed, 'invalid request: maxTimeout: maxTimeout must be at least defaultTimeout');
    const checks = await checkOrRefuse(body.invocationTemplate ?? row.invocationTemplate, body.acknowledgeDangerous ?? false);
    const { acknowledgeDangerous: _a, env, ...fields } = body;
    const updated = await prisma.agentProfile
      .update({ where: { id: row.id }, data: { ...fields, ...(env ? { env: mergeEnv(storedEnv(row), env, box) } : {}) } })
      .catch((e) => conflictOnSlug(e, body.slug ?? row.slug));
    log.info('profile updated', { profile: updated.slug, by: describePrincipal(principalOf(res)) });
    await auditLog(prisma).record({ actor: describePrincipal(principalOf(res)), action: 'profile.update', target: updated.slug, ip: clientIp(req), details: { fields: Object.keys(body), template: updated.invocationTemplate } });
    res.json({ profile: profileView(updated), checks });
  });

  r.delete('/profiles/:id', requireRole('admin'), async (req, res) => {
    const row = await findProfile(prisma, String(req.params.id));
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such profile');
    const active = await prisma.run.count({ where: { agentProfileId: row.id, status: { in: ['queued', 'running'] } } });
    if (active) throw new RexecError(ErrorCode.Conflict, `profile "${row.name}" has ${active} queued or running run(s); kill them or wait`);
    await prisma.agentProfile.delete({ where: { id: row.id } });
    log.info('profile deleted', { profile: row.slug, by: describePrincipal(principalOf(res)) });
    await auditLog(prisma).record({ actor: describePrincipal(principalOf(res)), action: 'profile.delete', target: row.slug, ip: clientIp(req) });
    res.status(204).end();
  });

  r.post('/profiles/:id/duplicate', requireRole('admin'), async (req, res) => {
    const row = await findProfile(prisma, String(req.params.id));
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such profile');
    const name = z.object({ name: z.string().min(1).max(64).optional() }).parse(req.body ?? {}).name ?? `${row.name} (copy)`.slice(0, 64);
    const slug = await freeSlug(prisma, slugify(name));
    const { id: _id, createdAt: _c, updatedAt: _u, builtIn: _b, ...fields } = row;
    const copy = await prisma.agentProfile.create({ data: { ...fields, env: fields.env ?? [], name, slug, builtIn: false } });
    res.status(201).json({ profile: profileView(copy) });
  });

  r.post('/profiles/:id/validate', requireRole('viewer'), async (req, res) => {
    const row = await findProfile(prisma, String(req.params.id));
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such profile');
    const ack = z.object({ acknowledgeDangerous: z.boolean().default(false) }).parse(req.body ?? {}).acknowledgeDangerous;
    res.json(await validateTemplate(row.invocationTemplate, ack));
  });

  /** Runs the template with a harmless prompt on an agent and reports the result (waits up to 60 s). */
  r.post('/profiles/:id/test', requireRole('operator'), async (req, res) => {
    const row = await findProfile(prisma, String(req.params.id));
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such profile');
    const body = parseBody(testProfileRequestSchema, req.body);
    const settings = await loadRunnerSettings(prisma);
    const resolved = await resolveRun(prisma, box, settings, {
      profile: row.id,
      agent: body.agent,
      prompt: body.prompt,
      workingDirectory: body.workingDirectory,
      timeout: Math.min(1, row.maxTimeout),
      variables: {},
    }, principalOf(res));
    const run = await engine.submit({ ...resolved.row, id: newRunId(), requestedBy: describePrincipal(principalOf(res)), triggeredBy: 'manual' }, resolved.spec);
    const final = await engine.waitForEnd(run.id, 60_000);
    const output = await engine.output(run.id);
    res.json({ run: final, output: output?.stdout ?? '', stderr: output?.stderr ?? '', ok: final?.status === 'completed' });
  });

  return r;
}
