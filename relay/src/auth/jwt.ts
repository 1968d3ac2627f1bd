/**
 * Session tokens for people: JWTs signed with HS256 (algorithm pinned on verify, so `none` and
 * key-confusion tricks fail), `exp` required, small leeway. The secret lives in the settings
 * table so every relay on one database shares it.
 */
import jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';

export const JWT_ALGORITHM = 'HS256' as const;
export const JWT_ISSUER = 'rexec-relay';
export const JWT_LEEWAY_SECONDS = 5;

export interface SessionClaims {
  sub: string;
  /** Password version: changing the password invalidates older sessions. */
  pv: number;
}

export class JwtSigner {
  constructor(private readonly secret: Buffer, readonly ttlSeconds: number) {}

  sign(claims: SessionClaims): { token: string; expiresAt: Date } {
    const token = jwt.sign(claims, this.secret, { algorithm: JWT_ALGORITHM, expiresIn: this.ttlSeconds, issuer: JWT_ISSUER });
    return { token, expiresAt: new Date(Date.now() + this.ttlSeconds * 1000) };
  }

  /** Returns the claims or null for any invalid, expired or exp-less token. */
  verify(token: string): SessionClaims | null {
    try {
      const payload = jwt.verify(token, this.secret, {
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        clockTolerance: JWT_LEEWAY_SECONDS,
      });
      if (typeof payload !== 'object' || payload === null) return null;
      if (typeof payload.exp !== 'number' || typeof payload.sub !== 'string' || typeof payload.pv !== 'number') return null;
      return { sub: payload.sub, pv: payload.pv };
    } catch {
      return null;
    }
  }
}

export async function loadJwtSecret(prisma: PrismaClient): Promise<Buffer> {
  const fresh = randomBytes(64).toString('base64url');
  // Insert-if-absent then read: concurrent relays on one database all end up with the same secret.
  await prisma.setting.upsert({ where: { key: 'jwt_secret' }, create: { key: 'jwt_secret', value: fresh }, update: {} });
  const row = await prisma.setting.findUniqueOrThrow({ where: { key: 'jwt_secret' } });
  return Buffer.from(row.value, 'base64url');
}
