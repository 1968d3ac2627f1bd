/**
 * fetch wrapper for the relay's REST API (same origin). JSON in and out, `Authorization: Bearer`
 * from the session, and every non-2xx answer turned into an ApiError carrying the relay's stable
 * `code` and its human `message` (the body shape `{ error: { code, message } }`).
 *
 * A 401 on an authenticated call means the session is gone: the session is cleared and the app
 * goes back to the login page. A 403 "password change required" sends the user to the
 * change-password page.
 */
import { apiErrorOf, type AgentView, type LoginResponse, type MeResponse } from '@rexec/shared';
import { navigate, routeAfterLogin } from './nav.js';
import { clearSession, getSession, token } from './session.js';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

interface RequestOptions {
  /** Send the session token (default true). */
  auth?: boolean;
  /** On 401, do not clear the session and redirect (the login form shows the error itself). */
  keepOn401?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.auth !== false) {
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'cannot reach the relay (network error)', { cause: err });
  }

  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }

  if (!res.ok) {
    const e = apiErrorOf(data);
    const code = e?.code ?? fallbackCode(res.status);
    const message = e?.message ?? `${res.status} ${res.statusText || 'error'}`.trim();
    const err = new ApiError(res.status, code, message);
    if (res.status === 401 && !opts.keepOn401 && opts.auth !== false) {
      clearSession();
      navigate('/login', { replace: true, next: currentRoute() });
    } else if (res.status === 403 && /password change required/i.test(message)) {
      navigate('/change-password', { replace: true });
    }
    throw err;
  }
  if (data === undefined && text) throw new ApiError(res.status, 'bad_response', 'the relay sent a response that is not JSON');
  return data as T;
}

function fallbackCode(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'internal';
  return 'bad_request';
}

function currentRoute(): string {
  return location.hash.replace(/^#/, '') || '/';
}

// ---- endpoints ---------------------------------------------------------------------------

export function login(username: string, password: string): Promise<LoginResponse> {
  return request<LoginResponse>('POST', '/api/auth/login', { username, password }, { auth: false });
}

export function changePassword(currentPassword: string, newPassword: string): Promise<LoginResponse> {
  // A wrong current password may come back as 401: show it on the form, keep the session.
  return request<LoginResponse>('POST', '/api/auth/password', { currentPassword, newPassword }, { keepOn401: true });
}

export function me(signal?: AbortSignal): Promise<MeResponse> {
  return request('GET', '/api/auth/me', undefined, { signal });
}

export async function listAgents(signal?: AbortSignal): Promise<AgentView[]> {
  const r = await request<{ agents: AgentView[] }>('GET', '/api/agents', undefined, { signal });
  return r.agents;
}

/** Where to go once signed in. */
export function homeRoute(): string {
  const s = getSession();
  if (!s) return '/login';
  if (s.user.mustChangePassword) return '/change-password';
  return routeAfterLogin();
}
