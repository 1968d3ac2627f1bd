/** /api/prompts: saved prompts (inline text or "@path" file references) with their last run. */
import { Router } from 'express';
import { ErrorCode, RexecError, createPromptSchema, pageQuerySchema, updatePromptSchema, type PromptView } from '@rexec/shared';
import { z } from 'zod';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { findProfile } from '../../runs/profiles.js';
import { describePrincipal } from '../../auth/principal.js';
import { parseBody } from '../errors.js';
import { principalOf, requireRole } from '../auth-middleware.js';
import { log } from '../../log.js';

type PromptRow = Awaited<ReturnType<PrismaClient['prompt']['findUniqueOrThrow']>>;

const listQuery = pageQuerySchema.extend({
  tag: z.string().max(64).optional(),
  profile: z.string().max(64).optional(),
  directory: z.string().max(4096).optional(),
  q: z.string().max(256).optional(),
});

async function withLastRuns(prisma: PrismaClient, rows: PromptRow[]): Promise<PromptView[]> {
  const last = rows.length
    ? await prisma.run.findMany({ where: { promptId: { in: rows.map((r) => r.id) } }, orderBy: { createdAt: 'desc' }, distinct: ['promptId'], select: { promptId: true, status: true, createdAt: true } })
    : [];
  const byPrompt = new Map(last.map((l) => [l.promptId, l]));
  return rows.map((r) => {
    const l = byPrompt.get(r.id);
    return {
      id: r.id,
      name: r.name,
      content: r.content,
      type: r.type === 'file-reference' ? 'file-reference' : 'inline',
      agentProfileId: r.agentProfileId,
      workingDirectory: r.workingDirectory,
      timeout: r.timeout,
      tags: r.tags,
      variables: (r.variables ?? []) as PromptView['variables'],
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
      lastRunStatus: (l?.status ?? null) as PromptView['lastRunStatus'],
      lastRunAt: l?.createdAt.toISOString() ?? null,
    };
  });
}

async function profileIdOf(prisma: PrismaClient, ref: string | null | undefined): Promise<string | null | undefined> {
  if (ref === undefined || ref === null) return ref;
  const p = await findProfile(prisma, ref);
  if (!p) throw new RexecError(ErrorCode.NotFound, `no profile "${ref}"`);
  return p.id;
}

export function promptsRouter(prisma: PrismaClient): Router {
  const r = Router();

  r.get('/prompts', requireRole('viewer'), async (req, res) => {
    const q = parseBody(listQuery, req.query);
    const where: Prisma.PromptWhereInput = {
      ...(q.tag ? { tags: { has: q.tag } } : {}),
      ...(q.profile ? { agentProfileId: (await findProfile(prisma, q.profile))?.id ?? q.profile } : {}),
      ...(q.directory ? { workingDirectory: { startsWith: q.directory } } : {}),
      ...(q.q ? { OR: [{ name: { contains: q.q, mode: 'insensitive' } }, { content: { contains: q.q, mode: 'insensitive' } }] } : {}),
    };
    const [rows, total] = await Promise.all([prisma.prompt.findMany({ where, orderBy: { name: 'asc' }, skip: q.offset, take: q.limit }), prisma.prompt.count({ where })]);
    res.json({ items: await withLastRuns(prisma, rows), total, limit: q.limit, offset: q.offset });
  });

  r.get('/prompts/:id', requireRole('viewer'), async (req, res) => {
    const row = await prisma.prompt.findUnique({ where: { id: String(req.params.id) } });
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such prompt');
    res.json({ prompt: (await withLastRuns(prisma, [row]))[0] });
  });

  r.post('/prompts', requireRole('operator'), async (req, res) => {
    const body = parseBody(createPromptSchema, req.body);
    const row = await prisma.prompt.create({ data: { ...body, agentProfileId: (await profileIdOf(prisma, body.agentProfileId)) ?? null } });
    log.info('prompt created', { prompt: row.id, by: describePrincipal(principalOf(res)) });
    res.status(201).json({ prompt: (await withLastRuns(prisma, [row]))[0] });
  });

  r.put('/prompts/:id', requireRole('operator'), async (req, res) => {
    const row = await prisma.prompt.findUnique({ where: { id: String(req.params.id) } });
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such prompt');
    const body = parseBody(updatePromptSchema, req.body);
    const merged = createPromptSchema.safeParse({ ...row, variables: row.variables ?? [], ...body });
    if (!merged.success) throw new RexecError(ErrorCode.ValidationFailed, `invalid request: ${merged.error.issues[0]?.path.join('.')}: ${merged.error.issues[0]?.message}`);
    const profileId = await profileIdOf(prisma, body.agentProfileId);
    const updated = await prisma.prompt.update({ where: { id: row.id }, data: { ...body, ...(profileId !== undefined ? { agentProfileId: profileId } : {}) } });
    res.json({ prompt: (await withLastRuns(prisma, [updated]))[0] });
  });

  r.delete('/prompts/:id', requireRole('operator'), async (req, res) => {
    const row = await prisma.prompt.findUnique({ where: { id: String(req.params.id) } });
    if (!row) throw new RexecError(ErrorCode.NotFound, 'no such prompt');
    await prisma.prompt.delete({ where: { id: row.id } });
    log.info('prompt deleted', { prompt: row.id, by: describePrincipal(principalOf(res)) });
    res.status(204).end();
  });

  return r;
}
