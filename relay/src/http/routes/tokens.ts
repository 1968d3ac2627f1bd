import { Router } from 'express';
import { ErrorCode, RexecError, createTokenRequestSchema } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../auth/tokens.js';
import { parseBody } from '../errors.js';
import { principalOf, requireRole } from '../auth-middleware.js';
import { describePrincipal } from '../../auth/principal.js';
import { log } from '../../log.js';
import { auditLog } from '../../audit/audit-log.js';
import type { AccessEffects } from '../../ws/live-sockets.js';
import { clientIp } from '../auth-middleware.js';

export function tokensRouter(prisma: PrismaClient, effects: AccessEffects): Router {
  const r = Router();
  const audit = auditLog(prisma);
  r.use('/tokens', requireRole('admin'));
  r.get('/tokens', async (_req, res) => {
    res.json({ tokens: await listApiTokens(prisma) });
  });
  r.post('/tokens', async (req, res) => {
    const body = parseBody(createTokenRequestSchema, req.body);
    const p = principalOf(res);
    const created = await createApiToken(prisma, { ...body, ...(p.kind === 'user' ? { userId: p.id } : {}) });
    log.info('api token created', { name: body.name, role: body.role, by: describePrincipal(p) });
    await audit.record({ actor: describePrincipal(p), action: 'token.create', target: body.name, ip: clientIp(req), details: { role: body.role, agentTags: body.agentTags, expiresAt: created.info.expiresAt } });
    res.status(201).json(created);
  });
  r.delete('/tokens/:id', async (req, res) => {
    const revoked = await revokeApiToken(prisma, String(req.params.id));
    if (!revoked) throw new RexecError(ErrorCode.NotFound, 'no such active token');
    log.info('api token revoked', { name: revoked.name, by: describePrincipal(principalOf(res)) });
    effects.tokenRevoked(revoked.id, 'token revoked');
    await audit.record({ actor: describePrincipal(principalOf(res)), action: 'token.revoke', target: revoked.name, ip: clientIp(req) });
    res.json({ token: revoked });
  });
  return r;
}
