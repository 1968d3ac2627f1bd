import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode, RexecError, type Role } from '@rexec/shared';
import { bearerFrom, hasRole, type Authenticator, type Principal } from '../auth/principal.js';

/** Paths a user who must change the one-time password may still call. */
const PASSWORD_CHANGE_ALLOWED = new Set(['/api/auth/password', '/api/auth/me', '/api/auth/logout']);

export function authenticate(auth: Authenticator): RequestHandler {
  return async (req, res, next) => {
    const principal = await auth.authenticate(bearerFrom(req.headers.authorization));
    if (!principal) throw new RexecError(ErrorCode.Unauthorized, 'missing, invalid, expired or revoked credentials');
    if (principal.kind === 'user' && principal.mustChangePassword && !PASSWORD_CHANGE_ALLOWED.has(req.originalUrl.split('?')[0]!)) {
      throw new RexecError(ErrorCode.Forbidden, 'password change required');
    }
    res.locals.principal = principal;
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new RexecError(ErrorCode.Unauthorized, 'not authenticated');
  return p;
}

export function requireRole(min: Role): RequestHandler {
  return (_req, res, next) => {
    const p = principalOf(res);
    if (!hasRole(p, min)) throw new RexecError(ErrorCode.Forbidden, `this needs the ${min} role`);
    next();
  };
}

export function clientIp(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}
