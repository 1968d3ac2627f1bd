/**
 * Enrollment: `POST /api/enrollment-tokens` (operator) makes a single-use token and the command
 * to paste on the server; `POST /api/agents/register` with `Authorization: Bearer rxe_…` uses
 * it (handled here, before the normal authentication, which does not know enrollment tokens).
 */
import { Router } from 'express';
import { createEnrollmentRequestSchema, ErrorCode, registerAgentRequestSchema, RexecError, TOKEN_PREFIX } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { consumeEnrollment, createEnrollment, recordEnrolledAgent } from '../../auth/enrollment.js';
import { auditLog } from '../../audit/audit-log.js';
import { bearerFrom, describePrincipal } from '../../auth/principal.js';
import { KeyedRateLimiter } from '../../rate-limit.js';
import { parseBody } from '../errors.js';
import { clientIp, principalOf, requireRole } from '../auth-middleware.js';
import { registerWith } from './agents.js';
import type { EventBus } from '../../events/event-bus.js';

/** Before authentication: registration with an enrollment token. */
export function enrollmentRegisterRouter(prisma: PrismaClient, events?: EventBus): Router {
  const r = Router();
  const attempts = new KeyedRateLimiter(10 / 60, 10);
  r.post('/agents/register', async (req, res, next) => {
    const secret = bearerFrom(req.headers.authorization);
    if (!secret?.startsWith(TOKEN_PREFIX.enrollment)) return next();
    if (!attempts.take(clientIp(req))) throw new RexecError(ErrorCode.RateLimited, 'too many enrollment attempts; wait a minute');
    const body = parseBody(registerAgentRequestSchema, req.body);
    const token = await consumeEnrollment(prisma, secret);
    if (!token) throw new RexecError(ErrorCode.Unauthorized, 'enrollment token unknown, expired or already used; create a new one with "Add agent"');
    const registered = await registerWith(prisma, { ...body, ...(token.tags.length ? { tags: token.tags } : {}) }, `enrollment:${token.createdBy}`, clientIp(req), auditLog(prisma), events);
    await recordEnrolledAgent(prisma, token.id, registered.agent.id);
    res.status(201).json(registered);
  });
  return r;
}

export function enrollmentRouter(prisma: PrismaClient, publicUrl: () => string): Router {
  const r = Router();
  r.post('/enrollment-tokens', requireRole('operator'), async (req, res) => {
    const body = parseBody(createEnrollmentRequestSchema, req.body);
    const by = describePrincipal(principalOf(res));
    const created = await createEnrollment(prisma, { createdBy: by, publicUrl: publicUrl(), ...body });
    await auditLog(prisma).record({ actor: by, action: 'enrollment.create', target: created.expiresAt, ip: clientIp(req), details: { tags: body.tags, expiresInMinutes: body.expiresInMinutes } });
    res.status(201).json(created);
  });
  return r;
}
