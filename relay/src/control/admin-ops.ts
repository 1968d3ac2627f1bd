/**
 * Administrative operations available both over the control socket (relay running) and
 * directly on the database (relay stopped). One implementation, two transports.
 */
import { z } from 'zod';
import { createTokenRequestSchema } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../auth/tokens.js';

export const adminRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('token.create'), args: createTokenRequestSchema }),
  z.object({ op: z.literal('token.list'), args: z.object({}).default({}) }),
  z.object({ op: z.literal('token.revoke'), args: z.object({ id: z.string().min(1).max(128) }) }),
]);
export type AdminRequest = z.input<typeof adminRequestSchema>;

export async function runAdminOp(prisma: PrismaClient, req: z.infer<typeof adminRequestSchema>): Promise<unknown> {
  switch (req.op) {
    case 'token.create':
      return createApiToken(prisma, req.args);
    case 'token.list':
      return listApiTokens(prisma);
    case 'token.revoke': {
      const t = await revokeApiToken(prisma, req.args.id);
      if (!t) throw Object.assign(new Error(`no active token with id or name "${req.args.id}"`), { code: 'not_found' });
      return t;
    }
  }
}
