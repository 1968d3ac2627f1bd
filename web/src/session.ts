/**
 * The signed-in session: the relay's JWT and the user it belongs to, kept in sessionStorage
 * (per tab, gone when the tab closes; never localStorage, never a cookie).
 */
import type { LoginResponse } from '@rexec/shared';

export type SessionUser = LoginResponse['user'];

export interface Session {
  token: string;
  expiresAt: string;
  /** When this token was received (ms), to refresh it a quarter of its lifetime before expiry. */
  issuedAt?: number;
  user: SessionUser;
}

const KEY = 'rexec.session';

let cached: Session | null | undefined;

/**
 * The password typed at login, held in memory only (never stored) so the forced password change
 * that follows a one-time password does not ask for it a second time.
 */
let loginPassword: string | null = null;

export function getSession(): Session | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw) {
      const s = JSON.parse(raw) as Session;
      if (typeof s.token === 'string' && s.user && !isExpired(s)) cached = s;
    }
  } catch {
    cached = null;
  }
  if (!cached) sessionStorage.removeItem(KEY);
  return cached;
}

export function setSession(res: LoginResponse, password?: string): Session {
  cached = { token: res.token, expiresAt: res.expiresAt, issuedAt: Date.now(), user: res.user };
  sessionStorage.setItem(KEY, JSON.stringify(cached));
  loginPassword = res.user.mustChangePassword && password !== undefined ? password : null;
  return cached;
}

/** A refreshed token for the same user (the remembered login password stays). */
export function updateSession(res: LoginResponse): Session {
  cached = { token: res.token, expiresAt: res.expiresAt, issuedAt: Date.now(), user: res.user };
  sessionStorage.setItem(KEY, JSON.stringify(cached));
  return cached;
}

export function clearSession(): void {
  cached = null;
  loginPassword = null;
  sessionStorage.removeItem(KEY);
}

export function rememberedLoginPassword(): string | null {
  return loginPassword;
}

function isExpired(s: Session): boolean {
  const t = Date.parse(s.expiresAt);
  return !Number.isNaN(t) && t <= Date.now();
}

export function token(): string | null {
  const s = getSession();
  if (s && isExpired(s)) {
    clearSession();
    return null;
  }
  return s?.token ?? null;
}
