/**
 * Share links of terminal sessions (schemas and paths in shared/src/api/shares.ts).
 *
 * Creating, listing and revoking need the session's owner (the person who opened it) or an
 * admin, on an agent they may use. Revoking closes the link's live sockets at once. `GET
 * /api/share` answers the holder of a link (Bearer rxs_…, no account) what it opens, or why
 * not (401 with "expired", "revoked" or "unknown"; 404 when the session has ended).
 */
import { Router } from 'express';
import { ErrorCode, RexecError, createShareRequestSchema, type CreateShareResponse, type ShareInfo } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { bearerFrom, canUseAgent, describePrincipal, hasRole, type Principal } from '../../auth/principal.js';
import { auditLog } from '../../audit/audit-log.js';
import { KeyedRateLimiter } from '../../rate-limit.js';
import { log } from '../../log.js';
import { createShare, resolveShare, shareView } from '../../shares/share-store.js';
import type { ShareSockets } from '../../shares/share-sockets.js';
import { parseBody } from '../errors.js';
import { clientIp, principalOf, requireRole } from '../auth-middleware.js';

/** The page that opens a share: the token sits in the fragment, which browsers never send. */
export function shareUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/#/share/${token}`;
}

/** Before authentication: what a share link opens. */
export function shareInfoRouter(prisma: PrismaClient): Router {
  const r = Router();
  const attempts = new KeyedRateLimiter(2, 20);
  r.get('/share', async (req, res) => {
    if (!attempts.take(clientIp(req))) throw new RexecError(ErrorCode.RateLimited, 'too many attempts; slow down');
    const found = await resolveShare(prisma, bearerFrom(req.headers.authorization));
    if (!found.ok) throw new RexecError(found.reason === 'ended' ? ErrorCode.SessionNotFound : ErrorCode.Unauthorized, found.message, { details: { reason: found.reason } });
    const body: ShareInfo = { sessionId: found.row.sessionId, agentId: found.agent.id, agentName: found.agent.name, label: found.row.label, mode: found.grant.mode, expiresAt: found.row.expiresAt.toISOString() };
    res.json(body);
  });
  return r;
}

export function sharesRouter(prisma: PrismaClient, sockets: ShareSockets, publicUrl: () => string): Router {
  const r = Router();
  const audit = auditLog(prisma);

  /** The session, when the caller owns it or is an admin (others: 404, no existence leak). */
  async function ownedSession(sessionId: string, p: Principal) {
    const row = sessionId.length <= 64 ? await prisma.terminalSession.findUnique({ where: { id: sessionId }, include: { agent: true } }) : null;
    if (!row || !canUseAgent(p, row.agent) || (row.openedBy !== describePrincipal(p) && !hasRole(p, 'admin'))) {
      throw new RexecError(ErrorCode.SessionNotFound, 'no such session (only its owner or an admin can share it)');
    }
    return row;
  }

  r.post('/sessions/:session/shares', requireRole('operator'), async (req, res) => {
    const p = principalOf(res);
    const body = parseBody(createShareRequestSchema, req.body);
    const session = await ownedSession(String(req.params.session), p);
    if (session.endedAt) throw new RexecError(ErrorCode.Conflict, 'the session has ended; there is nothing to share');
    const by = describePrincipal(p);
    const { token, row } = await createShare(prisma, { sessionId: session.id, mode: body.mode, expiresInSeconds: body.expiresInSeconds, label: body.label, createdBy: by });
    await audit.record({ actor: by, action: 'share.create', target: session.id, ip: clientIp(req), details: { share: row.id, mode: row.mode, label: row.label, agent: session.agent.name, expiresAt: row.expiresAt.toISOString() } });
    log.info('share link created', { session: session.id, share: row.id, mode: row.mode, by });
    const out: CreateShareResponse = { id: row.id, url: shareUrl(publicUrl(), token), token, expiresAt: row.expiresAt.toISOString(), share: shareView(row, 0) };
    res.status(201).json(out);
  });

  r.get('/sessions/:session/shares', requireRole('operator'), async (req, res) => {
    const session = await ownedSession(String(req.params.session), principalOf(res));
    const rows = await prisma.terminalShare.findMany({ where: { sessionId: session.id }, orderBy: { createdAt: 'desc' } });
    res.json({ shares: rows.map((s) => shareView(s, sockets.count(s.id))) });
  });

  r.delete('/sessions/:session/shares/:share', requireRole('operator'), async (req, res) => {
    const p = principalOf(res);
    const session = await ownedSession(String(req.params.session), p);
    const row = await prisma.terminalShare.findUnique({ where: { id: String(req.params.share) } });
    if (!row || row.sessionId !== session.id) throw new RexecError(ErrorCode.NotFound, 'no such share link on this session');
    if (!row.revokedAt) await prisma.terminalShare.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
    const closed = sockets.close(row.id, 'share link revoked');
    const by = describePrincipal(p);
    await audit.record({ actor: by, action: 'share.revoke', target: session.id, ip: clientIp(req), details: { share: row.id, closedSockets: closed } });
    log.info('share link revoked', { session: session.id, share: row.id, by, closedSockets: closed });
    res.status(204).end();
  });

  return r;
}
