/** /api/users: user management (admin). Narrowing someone's access closes their live sockets at once. */
import { Router } from 'express';
import { createUserRequestSchema, updateUserRequestSchema } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { createUser, findUser, listUsers, resetPassword, updateUser, userView } from '../../auth/users.js';
import { auditLog } from '../../audit/audit-log.js';
import { describePrincipal } from '../../auth/principal.js';
import type { AccessEffects } from '../../ws/live-sockets.js';
import { parseBody } from '../errors.js';
import { clientIp, principalOf, requireRole } from '../auth-middleware.js';

export function usersRouter(prisma: PrismaClient, effects: AccessEffects): Router {
  const r = Router();
  const audit = auditLog(prisma);
  r.use('/users', requireRole('admin'));

  r.get('/users', async (_req, res) => {
    res.json({ items: await listUsers(prisma) });
  });
  r.get('/users/:id', async (req, res) => {
    res.json({ user: userView(await findUser(prisma, String(req.params.id))) });
  });
  r.post('/users', async (req, res) => {
    const body = parseBody(createUserRequestSchema, req.body);
    const created = await createUser(prisma, body);
    await audit.record({ actor: describePrincipal(principalOf(res)), action: 'user.create', target: created.user.username, ip: clientIp(req), details: { role: body.role, agentTags: body.agentTags } });
    res.status(201).json(created);
  });
  r.put('/users/:id', async (req, res) => {
    const patch = parseBody(updateUserRequestSchema, req.body);
    const r2 = await updateUser(prisma, String(req.params.id), patch);
    if (r2.narrowed) effects.userAccessChanged(r2.user.id, 'your access was changed by an administrator');
    await audit.record({ actor: describePrincipal(principalOf(res)), action: 'user.update', target: r2.user.username, ip: clientIp(req), details: patch });
    res.json({ user: r2.user });
  });
  r.post('/users/:id/reset-password', async (req, res) => {
    const r2 = await resetPassword(prisma, String(req.params.id));
    effects.userAccessChanged(r2.user.id, 'your password was reset by an administrator');
    await audit.record({ actor: describePrincipal(principalOf(res)), action: 'user.reset_password', target: r2.user.username, ip: clientIp(req) });
    res.json(r2);
  });
  return r;
}
