/**
 * Who is calling. A bearer secret is one of: an API token (`rxt_…`), an agent credential
 * (`rxa_…`), or a session JWT. Each is checked against the database on every request, so
 * revocation, deletion and disabling take effect at once.
 */
import { TOKEN_PREFIX, type Role } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { hashSecret } from './secrets.js';
import type { JwtSigner } from './jwt.js';

export type Principal =
  | { kind: 'user'; id: string; name: string; role: Role; mustChangePassword: boolean; agentTags: string[] }
  | { kind: 'token'; id: string; name: string; role: Role; agentTags: string[]; userId: string | null }
  | { kind: 'agent'; id: string; name: string };

const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function hasRole(p: Principal, min: Role): boolean {
  return p.kind !== 'agent' && ROLE_RANK[p.role] >= ROLE_RANK[min];
}

/**
 * Whether a principal may use (see, open terminals on, run on) an agent: admins and unrestricted
 * principals may use every agent, a principal with agent tags only agents carrying one of them,
 * and an agent only itself.
 */
export function canUseAgent(p: Principal, agent: { id: string; tags: string[] }): boolean {
  if (p.kind === 'agent') return p.id === agent.id;
  if (p.role === 'admin' || p.agentTags.length === 0) return true;
  return agent.tags.some((t) => p.agentTags.includes(t));
}

/** How a principal appears in records and logs (never a secret). */
export function describePrincipal(p: Principal): string {
  return `${p.kind}:${p.name}`;
}

export class Authenticator {
  private lastUsedWrites = new Map<string, number>();
  constructor(private readonly prisma: PrismaClient, private readonly signer: JwtSigner) {}

  async authenticate(secret: string | undefined): Promise<Principal | null> {
    if (!secret || secret.length > 4096) return null;
    if (secret.startsWith(TOKEN_PREFIX.apiToken)) return this.apiToken(secret);
    if (secret.startsWith(TOKEN_PREFIX.agentCredential)) return this.agentCredential(secret);
    return this.session(secret);
  }

  private async apiToken(secret: string): Promise<Principal | null> {
    const row = await this.prisma.apiToken.findUnique({ where: { tokenHash: hashSecret(secret) }, include: { user: true } });
    if (!row || row.revokedAt) return null;
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return null;
    if (row.user?.disabled) return null;
    this.touchToken(row.id);
    return { kind: 'token', id: row.id, name: row.name, role: row.role as Role, agentTags: row.agentTags, userId: row.userId };
  }

  private touchToken(id: string): void {
    const now = Date.now();
    if ((this.lastUsedWrites.get(id) ?? 0) > now - 60_000) return;
    this.lastUsedWrites.set(id, now);
    this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: new Date(now) } }).catch(() => {});
  }

  private async agentCredential(secret: string): Promise<Principal | null> {
    const row = await this.prisma.agent.findUnique({ where: { credentialHash: hashSecret(secret) }, select: { id: true, name: true } });
    return row ? { kind: 'agent', id: row.id, name: row.name } : null;
  }

  private async session(token: string): Promise<Principal | null> {
    const claims = this.signer.verify(token);
    if (!claims) return null;
    const user = await this.prisma.user.findUnique({ where: { id: claims.sub } });
    if (!user || user.disabled || user.passwordVersion !== claims.pv) return null;
    return { kind: 'user', id: user.id, name: user.username, role: user.role as Role, mustChangePassword: user.mustChangePassword, agentTags: user.agentTags };
  }
}

/** `Authorization: Bearer X` -> X. */
export function bearerFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
