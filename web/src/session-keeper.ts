/**
 * Keeps the signed-in session alive: shortly before the JWT expires (a quarter of its lifetime
 * before, between 2 s and 5 min) it asks the relay for a fresh one (`POST /api/auth/refresh`).
 * When the session is gone anyway (expired while the laptop slept, signed out everywhere, user
 * disabled) `expireSession()` clears it and shows the login page with a "signed out" notice.
 */
import type { LoginResponse } from '@rexec/shared';
import { navigate } from './nav.js';
import { clearSession, getSession, updateSession } from './session.js';

const SIGNED_OUT_KEY = 'rexec.signedOut';
let timer: number | undefined;
let refreshing = false;
const expireListeners: (() => void)[] = [];

/** Runs when the session ends by itself (the event stream drops it). */
export function onSessionExpired(fn: () => void): void {
  expireListeners.push(fn);
}

/** The session is no longer valid: clear it and go to the login page saying why. */
export function expireSession(why = 'Your session has expired or was ended. Sign in again to continue.'): void {
  if (!getSession()) return;
  clearSession();
  sessionStorage.setItem(SIGNED_OUT_KEY, why);
  for (const l of expireListeners) l();
  const here = location.hash.replace(/^#/, '') || '/';
  navigate('/login', { replace: true, next: here });
}

/** The "signed out" notice for the login page (once). */
export function takeSignedOutNotice(): string | null {
  const v = sessionStorage.getItem(SIGNED_OUT_KEY);
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  return v;
}

export function clearSignedOutNotice(): void {
  sessionStorage.removeItem(SIGNED_OUT_KEY);
}

function refreshWindowMs(expiresAt: number, issuedAt: number): number {
  const life = Math.max(0, expiresAt - issuedAt);
  return Math.min(5 * 60_000, Math.max(2000, life / 4));
}

async function refresh(tok: string): Promise<void> {
  if (refreshing) return;
  refreshing = true;
  try {
    const res = await fetch('/api/auth/refresh', { method: 'POST', headers: { Authorization: `Bearer ${tok}`, Accept: 'application/json' }, cache: 'no-store' });
    if (res.status === 401) return expireSession();
    if (!res.ok) return; // try again at the next check
    const body = (await res.json()) as LoginResponse;
    if (getSession()?.token === tok) updateSession(body);
  } catch {
    /* offline: the next check tries again */
  } finally {
    refreshing = false;
  }
}

function check(): void {
  window.clearTimeout(timer);
  const s = getSession();
  let next = 20_000;
  if (s) {
    const exp = Date.parse(s.expiresAt);
    const win = refreshWindowMs(exp, s.issuedAt ?? exp - 12 * 3600_000);
    const now = Date.now();
    if (exp <= now) return void (expireSession(), schedule(next));
    if (exp - now <= win) void refresh(s.token).finally(() => schedule(1000));
    else next = Math.min(next, exp - win - now);
  }
  schedule(next);
}

function schedule(ms: number): void {
  window.clearTimeout(timer);
  timer = window.setTimeout(check, Math.max(500, ms));
}

/** Starts the keeper (once, at app start); it follows sign-in and sign-out by itself. */
export function startSessionKeeper(): void {
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && check());
  check();
}

