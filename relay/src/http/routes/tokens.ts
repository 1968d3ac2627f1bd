import { Router } from 'express';
import { ErrorCode, RexecError, createTokenRequestSchema } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../auth/tokens.js';
import { parseBody } from '../errors.js';
import { principalOf, requireRole } from '../auth-middleware.js';
import { describePrincipal } from '../../auth/principal.js';
import { log } from '../../log.js';

export function tokensRouter(prisma: PrismaClient): Router {
  const r = Router();
  r.use('/tokens', requireRole('admin'));
  r.get('/tokens', async (_req, res) => {
    res.json({ tokens: await listApiTokens(prisma) });
  });
  r.post('/tokens', async (req, res) => {
    const body = parseBody(createTokenRequestSchema, req.body);
    const p = principalOf(res);
    const created = await createApiToken(prisma, { ...body, ...(p.kind === 'user' ? { userId: p.id } : {}) });
    log.info('api token created', { name: body.name, role: body.role, by: describePrincipal(p) });
    res.status(201).json(created);
  });
  r.delete('/tokens/:id', async (req, res) => {
    const revoked = await revokeApiToken(prisma, String(req.params.id));
    if (!revoked) throw new RexecError(ErrorCode.NotFound, 'no such active token');
    log.info('api token revoked', { name: revoked.name, by: describePrincipal(principalOf(res)) });
    res.json({ token: revoked });
  });
  return r;
}
