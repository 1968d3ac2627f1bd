/**
 * Audits every successful change (POST, PUT, PATCH, DELETE) under a router: who, what (method and
 * path, e.g. "schedule.put /schedules/nightly"), from where. Request bodies are not recorded
 * (they may hold secrets such as webhook secrets).
 */
import type { RequestHandler } from 'express';
import type { PrismaClient } from '../generated/prisma/client.js';
import { auditLog } from '../audit/audit-log.js';
import { describePrincipal, type Principal } from '../auth/principal.js';
import { clientIp } from './auth-middleware.js';

export function auditChanges(prisma: PrismaClient, kind: string): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.on('finish', () => {
        if (res.statusCode >= 400) return;
        const p = res.locals.principal as Principal | undefined;
        void auditLog(prisma).record({ actor: p ? describePrincipal(p) : 'anonymous', action: `${kind}.${req.method.toLowerCase()}`, target: req.originalUrl.split('?')[0]!.replace(/^\/api/, ''), ip: clientIp(req), details: { status: res.statusCode } });
      });
    }
    next();
  };
}
