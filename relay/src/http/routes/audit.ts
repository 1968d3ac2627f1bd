/** /api/audit: the audit log for admins: query, export, verify the hash chain. */
import { Router } from 'express';
import { auditQuerySchema } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { auditLog } from '../../audit/audit-log.js';
import { auditWhere, queryAudit } from '../../audit/audit-query.js';
import { parseBody } from '../errors.js';
import { requireRole } from '../auth-middleware.js';

export function auditRouter(prisma: PrismaClient): Router {
  const r = Router();
  r.use('/audit', requireRole('admin'));
  r.get('/audit', async (req, res) => {
    res.json(await queryAudit(prisma, parseBody(auditQuerySchema, req.query)));
  });
  r.get('/audit/verify', async (_req, res) => {
    res.json(await auditLog(prisma).verify());
  });
  /** Every matching entry, oldest first, with its hashes: enough to re-verify the chain elsewhere. */
  r.get('/audit/export', async (req, res) => {
    const q = parseBody(auditQuerySchema, { ...req.query, limit: 1 });
    const rows = await prisma.auditEvent.findMany({ where: auditWhere(q), orderBy: { seq: 'asc' }, take: 100_000 });
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Disposition', `attachment; filename="rexec-audit-${new Date().toISOString().slice(0, 10)}.json"`);
    res.send(JSON.stringify({ exportedAt: new Date().toISOString(), count: rows.length, events: rows.map((e) => ({ ...e, at: e.at.toISOString() })) }, null, 2));
  });
  return r;
}
