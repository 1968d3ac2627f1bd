/** API token lifecycle, shared by the REST API, the control socket and `rexec-relay token`. */
import type { Role, TokenView } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { newSecret } from './secrets.js';

export interface CreatedToken {
  token: string;
  info: TokenView;
}

type TokenRow = { id: string; name: string; role: string; prefix: string; agentTags: string[]; createdAt: Date; expiresAt: Date | null; lastUsedAt: Date | null; revokedAt: Date | null };

export function tokenView(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    prefix: row.prefix,
    agentTags: row.agentTags,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export async function createApiToken(
  prisma: PrismaClient,
  opts: { name: string; role: Role; expiresInDays?: number; userId?: string; agentTags?: string[] },
): Promise<CreatedToken> {
  const { secret, hash, prefix } = newSecret('apiToken');
  const row = await prisma.apiToken.create({
    data: {
      name: opts.name,
      role: opts.role,
      tokenHash: hash,
      prefix,
      agentTags: opts.agentTags ?? [],
      userId: opts.userId ?? null,
      expiresAt: opts.expiresInDays ? new Date(Date.now() + opts.expiresInDays * 86_400_000) : null,
    },
  });
  return { token: secret, info: tokenView(row) };
}

export async function listApiTokens(prisma: PrismaClient): Promise<TokenView[]> {
  return (await prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' } })).map(tokenView);
}

/** Revokes by id or by unique name; returns the revoked token or null if none matched. */
export async function revokeApiToken(prisma: PrismaClient, idOrName: string): Promise<TokenView | null> {
  const rows = await prisma.apiToken.findMany({ where: { OR: [{ id: idOrName }, { name: idOrName }], revokedAt: null } });
  if (rows.length !== 1) return null;
  return tokenView(await prisma.apiToken.update({ where: { id: rows[0]!.id }, data: { revokedAt: new Date() } }));
}
