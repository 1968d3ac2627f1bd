import { Router } from 'express';
import { ErrorCode, RexecError, changePasswordRequestSchema, loginRequestSchema, type LoginResponse, type MeResponse, type Role } from '@rexec/shared';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { JwtSigner } from '../../auth/jwt.js';
import type { Authenticator } from '../../auth/principal.js';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../../auth/passwords.js';
import { removeInitialPasswordFile } from '../../auth/bootstrap.js';
import { KeyedRateLimiter } from '../../rate-limit.js';
import { parseBody } from '../errors.js';
import { authenticate, clientIp, principalOf } from '../auth-middleware.js';
import { log } from '../../log.js';
import { auditLog } from '../../audit/audit-log.js';
import type { AccessEffects } from '../../ws/live-sockets.js';

type UserRow = { id: string; username: string; role: string; mustChangePassword: boolean; passwordVersion: number };

/** Consecutive failed logins that lock an account, and for how long. */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_MS = 5 * 60_000;

export function authRouter(prisma: PrismaClient, signer: JwtSigner, auth: Authenticator, dataDir: string, effects?: AccessEffects): Router {
  const r = Router();
  const audit = auditLog(prisma);
  // Failed logins: 5 per minute per IP and per username, then 429 until the bucket refills.
  const failuresByIp = new KeyedRateLimiter(5 / 60, 5);
  const failuresByUser = new KeyedRateLimiter(5 / 60, 5);
  const attemptsByIp = new KeyedRateLimiter(2, 20);

  const session = (u: UserRow): LoginResponse => {
    const { token, expiresAt } = signer.sign({ sub: u.id, pv: u.passwordVersion });
    return {
      token,
      expiresAt: expiresAt.toISOString(),
      user: { id: u.id, username: u.username, role: u.role as Role, mustChangePassword: u.mustChangePassword },
    };
  };

  r.post('/auth/login', async (req, res) => {
    const ip = clientIp(req);
    if (!attemptsByIp.take(ip)) throw new RexecError(ErrorCode.RateLimited, 'too many login attempts; wait a minute');
    const body = parseBody(loginRequestSchema, req.body);
    const user = await prisma.user.findUnique({ where: { username: body.username } });
    if (user?.lockedUntil && user.lockedUntil > new Date()) {
      await audit.record({ actor: 'anonymous', action: 'auth.login_failed', target: body.username, ip, details: { reason: 'locked' } });
      throw new RexecError(ErrorCode.RateLimited, `too many failed logins: this account is locked until ${user.lockedUntil.toISOString()}`);
    }
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
    if (!user || !ok || user.disabled) {
      const ipOk = failuresByIp.take(ip);
      const userOk = failuresByUser.take(body.username);
      log.warn('login failed', { username: body.username, ip });
      const reason = !user ? 'unknown user' : user.disabled ? 'disabled' : 'wrong password';
      await audit.record({ actor: 'anonymous', action: 'auth.login_failed', target: body.username, ip, details: { reason } });
      if (user && !user.disabled) {
        // Count in the database so the lock holds across relays and restarts.
        const after = await prisma.user.update({ where: { id: user.id }, data: { failedLogins: { increment: 1 } } });
        if (after.failedLogins >= LOCKOUT_THRESHOLD) {
          const until = new Date(Date.now() + LOCKOUT_MS);
          await prisma.user.update({ where: { id: user.id }, data: { lockedUntil: until, failedLogins: 0 } });
          await audit.record({ actor: 'system', action: 'auth.lockout', target: user.username, ip, details: { until: until.toISOString(), failures: after.failedLogins } });
          log.warn('account locked after failed logins', { username: user.username, until: until.toISOString() });
          throw new RexecError(ErrorCode.RateLimited, `too many failed logins: this account is locked until ${until.toISOString()}`);
        }
      }
      if (!ipOk || !userOk) throw new RexecError(ErrorCode.RateLimited, 'too many failed logins; wait a minute and try again');
      throw new RexecError(ErrorCode.Unauthorized, user?.disabled ? 'this account is disabled' : 'wrong username or password');
    }
    await prisma.user.update({ where: { id: user.id }, data: { failedLogins: 0, lockedUntil: null, lastLoginAt: new Date() } });
    await audit.record({ actor: `user:${user.username}`, action: 'auth.login', target: user.username, ip });
    log.info('login', { username: user.username, ip });
    res.json(session(user));
  });

  r.get('/auth/me', authenticate(auth), (_req, res) => {
    const p = principalOf(res);
    if (p.kind === 'agent') throw new RexecError(ErrorCode.Forbidden, 'agents have no user');
    const body: MeResponse = { user: { id: p.id, username: p.name, kind: p.kind, role: p.role, mustChangePassword: p.kind === 'user' && p.mustChangePassword } };
    res.json(body);
  });

  /** A fresh session for a still-valid one (sessions are short-lived; clients refresh before expiry). */
  r.post('/auth/refresh', authenticate(auth), async (_req, res) => {
    const p = principalOf(res);
    if (p.kind !== 'user') throw new RexecError(ErrorCode.Forbidden, 'only signed-in users have sessions to refresh');
    res.json(session(await prisma.user.findUniqueOrThrow({ where: { id: p.id } })));
  });

  /** Signs out everywhere: every session of this user stops working and their open sockets close. */
  r.post('/auth/logout', authenticate(auth), async (req, res) => {
    const p = principalOf(res);
    if (p.kind !== 'user') throw new RexecError(ErrorCode.Forbidden, 'only signed-in users can sign out; revoke API tokens instead');
    await prisma.user.update({ where: { id: p.id }, data: { passwordVersion: { increment: 1 } } });
    effects?.userAccessChanged(p.id, 'signed out');
    await audit.record({ actor: `user:${p.name}`, action: 'auth.logout', target: p.name, ip: clientIp(req) });
    res.status(204).end();
  });

  r.post('/auth/password', authenticate(auth), async (req, res) => {
    const p = principalOf(res);
    if (p.kind !== 'user') throw new RexecError(ErrorCode.Forbidden, 'only signed-in users can change their password');
    const body = parseBody(changePasswordRequestSchema, req.body);
    const user = await prisma.user.findUniqueOrThrow({ where: { id: p.id } });
    if (!(await verifyPassword(body.currentPassword, user.passwordHash))) throw new RexecError(ErrorCode.Unauthorized, 'current password is wrong');
    if (body.newPassword === body.currentPassword) throw new RexecError(ErrorCode.ValidationFailed, 'the new password must differ from the current one');
    const updated = await prisma.user.update({
      where: { id: user.id },
      data: { passwordHash: await hashPassword(body.newPassword), mustChangePassword: false, passwordVersion: { increment: 1 } },
    });
    if (user.mustChangePassword) removeInitialPasswordFile(dataDir);
    log.info('password changed', { username: user.username });
    await audit.record({ actor: `user:${user.username}`, action: 'auth.password_change', target: user.username, ip: clientIp(req) });
    res.json(session(updated));
  });

  return r;
}
