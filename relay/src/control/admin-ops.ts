/**
 * Administrative operations available both over the control socket (relay running) and
 * directly on the database (relay stopped). One implementation, two transports. Each change is
 * written to the audit log as actor "local-admin" (whoever can reach the data directory).
 */
import { z } from 'zod';
import { auditQuerySchema, createEnrollmentRequestSchema, createTokenRequestSchema, createUserRequestSchema, usernameSchema, updateUserRequestSchema } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../auth/tokens.js';
import { createUser, listUsers, resetPassword, updateUser } from '../auth/users.js';
import { auditLog } from '../audit/audit-log.js';
import { queryAudit } from '../audit/audit-query.js';
import { createEnrollment } from '../auth/enrollment.js';
import type { AccessEffects } from '../ws/live-sockets.js';

const userRef = z.object({ user: z.string().min(1).max(128) });

export const adminRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('token.create'), args: createTokenRequestSchema }),
  z.object({ op: z.literal('token.list'), args: z.object({}).default({}) }),
  z.object({ op: z.literal('token.revoke'), args: z.object({ id: z.string().min(1).max(128) }) }),
  z.object({ op: z.literal('user.create'), args: createUserRequestSchema.extend({ username: usernameSchema }) }),
  z.object({ op: z.literal('user.list'), args: z.object({}).default({}) }),
  z.object({ op: z.literal('user.update'), args: userRef.extend(updateUserRequestSchema.shape) }),
  z.object({ op: z.literal('user.reset-password'), args: userRef }),
  z.object({ op: z.literal('enrollment.create'), args: createEnrollmentRequestSchema.extend({ publicUrl: z.url() }) }),
  z.object({ op: z.literal('audit.verify'), args: z.object({}).default({}) }),
  z.object({ op: z.literal('audit.list'), args: auditQuerySchema }),
]);
export type AdminRequest = z.input<typeof adminRequestSchema>;

const ACTOR = 'local-admin';
const NO_EFFECTS: AccessEffects = { userAccessChanged: () => {}, tokenRevoked: () => {} };

export async function runAdminOp(prisma: PrismaClient, req: z.infer<typeof adminRequestSchema>, effects: AccessEffects = NO_EFFECTS): Promise<unknown> {
  const audit = auditLog(prisma);
  switch (req.op) {
    case 'token.create': {
      const created = await createApiToken(prisma, req.args);
      await audit.record({ actor: ACTOR, action: 'token.create', target: created.info.name, details: { role: created.info.role, agentTags: created.info.agentTags, expiresAt: created.info.expiresAt } });
      return created;
    }
    case 'token.list':
      return listApiTokens(prisma);
    case 'token.revoke': {
      const t = await revokeApiToken(prisma, req.args.id);
      if (!t) throw Object.assign(new Error(`no active token with id or name "${req.args.id}"`), { code: 'not_found' });
      effects.tokenRevoked(t.id, 'token revoked');
      await audit.record({ actor: ACTOR, action: 'token.revoke', target: t.name });
      return t;
    }
    case 'user.create': {
      const r = await createUser(prisma, req.args);
      await audit.record({ actor: ACTOR, action: 'user.create', target: r.user.username, details: { role: r.user.role, agentTags: r.user.agentTags } });
      return r;
    }
    case 'user.list':
      return listUsers(prisma);
    case 'user.update': {
      const { user, ...patch } = req.args;
      const r = await updateUser(prisma, user, patch);
      if (r.narrowed) effects.userAccessChanged(r.user.id, 'your access was changed by an administrator');
      await audit.record({ actor: ACTOR, action: 'user.update', target: r.user.username, details: patch });
      return r.user;
    }
    case 'user.reset-password': {
      const r = await resetPassword(prisma, req.args.user);
      effects.userAccessChanged(r.user.id, 'your password was reset by an administrator');
      await audit.record({ actor: ACTOR, action: 'user.reset_password', target: r.user.username });
      return r;
    }
    case 'enrollment.create': {
      const { publicUrl, ...rest } = req.args;
      const created = await createEnrollment(prisma, { createdBy: ACTOR, publicUrl: publicUrl.replace(/\/+$/, ''), ...rest });
      await audit.record({ actor: ACTOR, action: 'enrollment.create', target: created.expiresAt, details: { tags: rest.tags, expiresInMinutes: rest.expiresInMinutes } });
      return created;
    }
    case 'audit.verify':
      return audit.verify();
    case 'audit.list':
      return queryAudit(prisma, req.args);
  }
}
