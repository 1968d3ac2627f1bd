/** Reading the audit log: filtered, newest first, paginated. */
import type { z } from 'zod';
import type { auditQuerySchema, AuditEventView } from '@rexec/shared';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

export function auditWhere(q: Partial<z.infer<typeof auditQuerySchema>>): Prisma.AuditEventWhereInput {
  return {
    ...(q.action ? { action: q.action.endsWith('.') ? { startsWith: q.action } : q.action } : {}),
    ...(q.actor ? { actor: q.actor } : {}),
    ...(q.target ? { target: q.target } : {}),
    ...(q.from || q.to ? { at: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) } } : {}),
  };
}

export async function queryAudit(prisma: PrismaClient, q: z.infer<typeof auditQuerySchema>): Promise<{ items: AuditEventView[]; total: number; limit: number; offset: number }> {
  const where = auditWhere(q);
  const [rows, total] = await Promise.all([prisma.auditEvent.findMany({ where, orderBy: { seq: 'desc' }, skip: q.offset, take: q.limit }), prisma.auditEvent.count({ where })]);
  return {
    items: rows.map((r) => ({ seq: r.seq, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, ip: r.ip, details: r.details, hash: r.hash })),
    total,
    limit: q.limit,
    offset: q.offset,
  };
}
