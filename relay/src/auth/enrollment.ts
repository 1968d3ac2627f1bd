/**
 * Enrollment tokens ("Add agent"): single-use, short-lived secrets (`rxe_…`) that can do exactly
 * one thing, register one agent, so long-lived API tokens are never pasted onto servers. Only a
 * SHA-256 hash is stored; using one is an atomic conditional update, so it works once even with
 * several relays racing.
 */
import type { EnrollmentResponse } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { hashSecret, newSecret } from './secrets.js';

export async function createEnrollment(
  prisma: PrismaClient,
  opts: { createdBy: string; expiresInMinutes: number; tags: string[]; publicUrl: string },
): Promise<EnrollmentResponse> {
  const { secret, hash } = newSecret('enrollment');
  const expiresAt = new Date(Date.now() + opts.expiresInMinutes * 60_000);
  await prisma.enrollmentToken.create({ data: { tokenHash: hash, createdBy: opts.createdBy, tags: opts.tags, expiresAt } });
  const args = `--host ${opts.publicUrl} --token ${secret}`;
  return {
    token: secret,
    expiresAt: expiresAt.toISOString(),
    tags: opts.tags,
    installCommand: `./install-agent.sh ${args}`,
    registerCommand: `rexec-agent register ${args} && rexec-agent start --daemon`,
  };
}

/** Uses a token: returns its tags, or null when unknown, expired or already used. */
export async function consumeEnrollment(prisma: PrismaClient, secret: string): Promise<{ id: string; tags: string[]; createdBy: string } | null> {
  const hash = hashSecret(secret);
  const used = await prisma.enrollmentToken.updateMany({ where: { tokenHash: hash, usedAt: null, expiresAt: { gt: new Date() } }, data: { usedAt: new Date() } });
  if (used.count !== 1) return null;
  const row = await prisma.enrollmentToken.findUniqueOrThrow({ where: { tokenHash: hash } });
  return { id: row.id, tags: row.tags, createdBy: row.createdBy };
}

export async function recordEnrolledAgent(prisma: PrismaClient, id: string, agentId: string): Promise<void> {
  await prisma.enrollmentToken.update({ where: { id }, data: { agentId } });
}
