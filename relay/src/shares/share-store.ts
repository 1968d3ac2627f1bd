/**
 * Share links in the database: create (the secret is returned once, only its SHA-256 is kept),
 * list, revoke, and resolve a presented token to what it opens, with the reason when it opens
 * nothing (unknown, expired, revoked, session ended).
 */
import { TOKEN_PREFIX, type ShareView, type ViewerMode } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { hashSecret, newId, newSecret } from '../auth/secrets.js';
import type { ShareGrant } from '../ws/viewer-access.js';

export type ShareRow = Awaited<ReturnType<PrismaClient['terminalShare']['findUniqueOrThrow']>>;

export async function createShare(
  prisma: PrismaClient,
  input: { sessionId: string; mode: ViewerMode; expiresInSeconds: number; label: string; createdBy: string },
): Promise<{ token: string; row: ShareRow }> {
  const { secret, hash, prefix } = newSecret('share');
  const row = await prisma.terminalShare.create({
    data: {
      id: newId(),
      sessionId: input.sessionId,
      tokenHash: hash,
      prefix,
      label: input.label,
      mode: input.mode,
      createdBy: input.createdBy,
      expiresAt: new Date(Date.now() + input.expiresInSeconds * 1000),
    },
  });
  return { token: secret, row };
}

export function isActive(row: ShareRow, now = Date.now()): boolean {
  return !row.revokedAt && row.expiresAt.getTime() > now;
}

export function shareView(row: ShareRow, connected: number): ShareView {
  return {
    id: row.id,
    sessionId: row.sessionId,
    label: row.label,
    mode: row.mode === 'rw' ? 'rw' : 'ro',
    prefix: row.prefix,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    active: isActive(row),
    connected,
  };
}

export function grantOf(row: ShareRow): ShareGrant {
  return { id: row.id, sessionId: row.sessionId, label: row.label, prefix: row.prefix, mode: row.mode === 'rw' ? 'rw' : 'ro', expiresAt: row.expiresAt };
}

export type ResolvedShare =
  | { ok: true; row: ShareRow; grant: ShareGrant; agent: { id: string; name: string } }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'ended'; row?: ShareRow; message: string };

/** What a presented share token opens now. */
export async function resolveShare(prisma: PrismaClient, token: string | undefined): Promise<ResolvedShare> {
  if (!token || !token.startsWith(TOKEN_PREFIX.share) || token.length > 200) return { ok: false, reason: 'unknown', message: 'unknown share link' };
  const row = await prisma.terminalShare.findUnique({ where: { tokenHash: hashSecret(token) }, include: { session: { include: { agent: { select: { id: true, name: true } } } } } });
  if (!row) return { ok: false, reason: 'unknown', message: 'unknown share link' };
  const { session, ...share } = row;
  if (share.revokedAt) return { ok: false, reason: 'revoked', row: share, message: 'this share link was revoked' };
  if (share.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired', row: share, message: 'this share link has expired' };
  if (session.endedAt) return { ok: false, reason: 'ended', row: share, message: 'the shared terminal session has ended' };
  return { ok: true, row: share, grant: grantOf(share), agent: session.agent };
}
