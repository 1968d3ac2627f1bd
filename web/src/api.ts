/**
 * fetch wrapper for the relay's REST API (same origin). JSON in and out, `Authorization: Bearer`
 * from the session, and every non-2xx answer turned into an ApiError carrying the relay's stable
 * `code` and its human `message` (the body shape `{ error: { code, message } }`).
 *
 * A 401 on an authenticated call means the session is gone: the session is cleared and the app
 * goes back to the login page. A 403 "password change required" sends the user to the
 * change-password page.
 */
import {
  apiErrorOf,
  type AgentMetricsResponse,
  type AgentView,
  type HostMetrics,
  type AuditEventView,
  type EnrollmentResponse,
  type StatsResponse,
  type UserView,
  type CreateProfile,
  type DryRunResponse,
  type LoginResponse,
  type MeResponse,
  type ProfileView,
  type PromptView,
  type RunListQuery,
  type RunnerSettings,
  type RunRequest,
  type RunView,
  type SessionView,
  type TemplateCheck,
  type ValidateTemplateResponse,
  type CreateShareRequest,
  type CreateShareResponse,
  type ShareInfo,
  type ShareView,
  type UpdateAgentRequest,
} from '@rexec/shared';
import { navigate, routeAfterLogin } from './nav.js';
import { clearSession, getSession, token } from './session.js';
import { expireSession } from './session-keeper.js';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** The relay's `error.details`, e.g. `{ checks }` when a template is refused. */
  readonly details: unknown;
  constructor(status: number, code: string, message: string, opts?: { cause?: unknown; details?: unknown }) {
    super(message, opts);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = opts?.details;
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
  const res = await send(method, path, body, opts);
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (data === undefined && text) throw new ApiError(res.status, 'bad_response', 'the relay sent a response that is not JSON');
  return data as T;
}

/** A file from the relay (export, .log) as a Blob, with the name the relay suggested. */
export async function requestBlob(path: string, opts: RequestOptions = {}): Promise<{ blob: Blob; filename: string | null }> {
  const res = await send('GET', path, undefined, opts);
  const cd = res.headers.get('content-disposition') ?? '';
  const m = /filename="([^"]+)"/.exec(cd);
  return { blob: await res.blob(), filename: m?.[1] ?? null };
}

/** fetch with auth; a non-2xx answer becomes an ApiError (after the 401/403 redirects). */
async function send(method: string, path: string, body: unknown, opts: RequestOptions): Promise<Response> {
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

  if (!res.ok) {
    const text = await res.text();
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    const e = apiErrorOf(data);
    const code = e?.code ?? fallbackCode(res.status);
    const message = e?.message ?? `${res.status} ${res.statusText || 'error'}`.trim();
    const details = (data as { error?: { details?: unknown } } | undefined)?.error?.details;
    const err = new ApiError(res.status, code, message, { details });
    if (res.status === 401 && !opts.keepOn401 && opts.auth !== false) {
      expireSession();
    } else if (res.status === 403 && /password change required/i.test(message)) {
      navigate('/change-password', { replace: true });
    }
    throw err;
  }
  return res;
}

function fallbackCode(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'internal';
  return 'bad_request';
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

/** The message to show for any error: the relay's own words when it gave some. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Template checks carried by a refused save (400 with `details.checks`). */
export function checksOf(err: unknown): TemplateCheck[] | null {
  const d = err instanceof ApiError ? (err.details as { checks?: TemplateCheck[] } | undefined) : undefined;
  return Array.isArray(d?.checks) ? d.checks : null;
}

/** Whether an API route exists on this relay (anything but a 404). */
export async function routeExists(path: string): Promise<boolean> {
  try {
    await request('GET', path);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false;
    if (err instanceof ApiError && err.status !== 0) return true; // exists, but refused (403) or broken
    throw err;
  }
}

export function qs(q: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

// ---- agents ------------------------------------------------------------------------------

export async function getAgent(id: string, signal?: AbortSignal): Promise<AgentView> {
  return (await request<{ agent: AgentView }>('GET', `/api/agents/${encodeURIComponent(id)}`, undefined, { signal })).agent;
}
export function deleteAgent(id: string): Promise<void> {
  return request('DELETE', `/api/agents/${encodeURIComponent(id)}`);
}
/** Rename and/or re-tag (admin). */
export async function updateAgent(id: string, patch: UpdateAgentRequest): Promise<AgentView> {
  return (await request<{ agent: AgentView }>('PATCH', `/api/agents/${encodeURIComponent(id)}`, patch)).agent;
}
/** Revokes the credential: the agent is cut off until it registers again (admin). */
export function revokeAgentCredential(id: string): Promise<void> {
  return request('DELETE', `/api/agents/${encodeURIComponent(id)}/credential`);
}
export async function agentMetrics(id: string, signal?: AbortSignal): Promise<HostMetrics[]> {
  return (await request<AgentMetricsResponse>('GET', `/api/agents/${encodeURIComponent(id)}/metrics`, undefined, { signal })).samples;
}
export function rotateAgentCredential(id: string): Promise<{ agentId: string; credential: string }> {
  return request('POST', `/api/agents/${encodeURIComponent(id)}/credential`, {});
}
export async function listSessions(agent: string, signal?: AbortSignal): Promise<SessionView[]> {
  return (await request<{ sessions: SessionView[] }>('GET', `/api/agents/${encodeURIComponent(agent)}/sessions`, undefined, { signal })).sessions;
}

// ---- share links -------------------------------------------------------------------------

export function createShare(sessionId: string, body: CreateShareRequest): Promise<CreateShareResponse> {
  return request('POST', `/api/sessions/${encodeURIComponent(sessionId)}/shares`, body);
}
export async function listShares(sessionId: string): Promise<ShareView[]> {
  return (await request<{ shares: ShareView[] }>('GET', `/api/sessions/${encodeURIComponent(sessionId)}/shares`)).shares;
}
export function revokeShare(sessionId: string, shareId: string): Promise<void> {
  return request('DELETE', `/api/sessions/${encodeURIComponent(sessionId)}/shares/${encodeURIComponent(shareId)}`);
}
/** What a share link opens (no account: the link's own token is the credential). */
export async function shareInfo(shareToken: string): Promise<ShareInfo> {
  let res: Response;
  try {
    res = await fetch('/api/share', { headers: { Accept: 'application/json', Authorization: `Bearer ${shareToken}` }, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'network_error', 'cannot reach the relay (network error)', { cause: err });
  }
  const data: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = apiErrorOf(data);
    throw new ApiError(res.status, e?.code ?? fallbackCode(res.status), e?.message ?? `${res.status} ${res.statusText}`);
  }
  return data as ShareInfo;
}

// ---- tokens ------------------------------------------------------------------------------

export interface TokenView {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt?: string | null;
  prefix?: string;
  revokedAt?: string | null;
  /** Agents the token may use (by tag); empty: every agent. */
  agentTags?: string[];
}
export async function listTokens(): Promise<TokenView[]> {
  const r = await request<{ tokens: TokenView[] }>('GET', '/api/tokens');
  return r.tokens;
}
export function createToken(body: { name: string; role: string; expiresInDays?: number; agentTags?: string[] }): Promise<{ token: string } & Record<string, unknown>> {
  return request('POST', '/api/tokens', body);
}
export function deleteToken(id: string): Promise<void> {
  return request('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
}

// ---- users, audit, enrollment -----------------------------------------------------------

export async function listUsers(signal?: AbortSignal): Promise<UserView[]> {
  return (await request<{ items: UserView[] }>('GET', '/api/users', undefined, { signal })).items;
}
export function createUser(body: { username: string; role: string; password?: string; agentTags: string[] }): Promise<{ user: UserView; oneTimePassword?: string }> {
  return request('POST', '/api/users', body);
}
export async function updateUser(id: string, patch: { role?: string; disabled?: boolean; agentTags?: string[] }): Promise<UserView> {
  return (await request<{ user: UserView }>('PUT', `/api/users/${encodeURIComponent(id)}`, patch)).user;
}
export function resetUserPassword(id: string): Promise<{ user: UserView; oneTimePassword: string }> {
  return request('POST', `/api/users/${encodeURIComponent(id)}/reset-password`, {});
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  target?: string;
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}
export function listAudit(q: AuditQuery, signal?: AbortSignal): Promise<{ items: AuditEventView[]; total: number }> {
  return request('GET', `/api/audit${qs(q as Record<string, unknown>)}`, undefined, { signal });
}
export function verifyAudit(): Promise<{ ok: boolean; entries: number; brokenAt?: number; problem?: string }> {
  return request('GET', '/api/audit/verify');
}
export function exportAudit(q: AuditQuery): Promise<{ blob: Blob; filename: string | null }> {
  const { limit: _l, offset: _o, ...rest } = q;
  return requestBlob(`/api/audit/export${qs(rest as Record<string, unknown>)}`);
}

export function createEnrollmentToken(body: { expiresInMinutes?: number; tags?: string[] }): Promise<EnrollmentResponse> {
  return request('POST', '/api/enrollment-tokens', body);
}

export interface StatsQuery {
  from?: string;
  to?: string;
  bucket?: 'hour' | 'day' | 'week';
  agent?: string;
  profile?: string;
  schedule?: string;
  top?: number;
}
export function getStats(q: StatsQuery, signal?: AbortSignal): Promise<StatsResponse> {
  return request('GET', `/api/stats${qs(q as Record<string, unknown>)}`, undefined, { signal });
}

/** "a, b ,c" -> ["a","b","c"] */
export function splitTags(s: string): string[] {
  return s.split(',').map((t) => t.trim()).filter(Boolean);
}

// ---- profiles ----------------------------------------------------------------------------

export async function listProfiles(signal?: AbortSignal): Promise<ProfileView[]> {
  return (await request<Page<ProfileView>>('GET', '/api/profiles?limit=500', undefined, { signal })).items;
}
export async function getProfile(id: string): Promise<ProfileView> {
  return (await request<{ profile: ProfileView }>('GET', `/api/profiles/${encodeURIComponent(id)}`)).profile;
}
export type ProfileInput = CreateProfile;
export function createProfile(body: ProfileInput): Promise<{ profile: ProfileView; checks: TemplateCheck[] }> {
  return request('POST', '/api/profiles', body);
}
export function updateProfile(id: string, body: Partial<ProfileInput>): Promise<{ profile: ProfileView; checks: TemplateCheck[] }> {
  return request('PUT', `/api/profiles/${encodeURIComponent(id)}`, body);
}
export function deleteProfile(id: string): Promise<void> {
  return request('DELETE', `/api/profiles/${encodeURIComponent(id)}`);
}
export async function duplicateProfile(id: string): Promise<ProfileView> {
  return (await request<{ profile: ProfileView }>('POST', `/api/profiles/${encodeURIComponent(id)}/duplicate`, {})).profile;
}
export function validateTemplate(invocationTemplate: string, acknowledgeDangerous = false, shell = ''): Promise<ValidateTemplateResponse> {
  return request('POST', '/api/profiles/validate', { invocationTemplate, acknowledgeDangerous, shell });
}
export interface ProfileTestResult {
  run: RunView | null;
  output: string;
  stderr: string;
  ok: boolean;
}
export function testProfile(id: string, agent: string, workingDirectory?: string): Promise<ProfileTestResult> {
  return request('POST', `/api/profiles/${encodeURIComponent(id)}/test`, { agent, ...(workingDirectory ? { workingDirectory } : {}) });
}

// ---- prompts -----------------------------------------------------------------------------

export interface PromptQuery {
  tag?: string;
  profile?: string;
  directory?: string;
  q?: string;
  limit?: number;
  offset?: number;
}
export function listPrompts(q: PromptQuery = {}, signal?: AbortSignal): Promise<Page<PromptView>> {
  return request('GET', `/api/prompts${qs({ limit: 500, ...q })}`, undefined, { signal });
}
export async function getPrompt(id: string): Promise<PromptView> {
  return (await request<{ prompt: PromptView }>('GET', `/api/prompts/${encodeURIComponent(id)}`)).prompt;
}
export type PromptInput = Omit<PromptView, 'id' | 'createdAt' | 'updatedAt' | 'lastRunStatus' | 'lastRunAt'>;
export async function createPrompt(body: PromptInput): Promise<PromptView> {
  return (await request<{ prompt: PromptView }>('POST', '/api/prompts', body)).prompt;
}
export async function updatePrompt(id: string, body: Partial<PromptInput>): Promise<PromptView> {
  return (await request<{ prompt: PromptView }>('PUT', `/api/prompts/${encodeURIComponent(id)}`, body)).prompt;
}
export function deletePrompt(id: string): Promise<void> {
  return request('DELETE', `/api/prompts/${encodeURIComponent(id)}`);
}

// ---- runs --------------------------------------------------------------------------------

export async function startRun(body: RunRequest): Promise<RunView> {
  return (await request<{ run: RunView }>('POST', '/api/run', { ...body, dryRun: false })).run;
}
export function dryRun(body: RunRequest): Promise<DryRunResponse> {
  return request('POST', '/api/run', { ...body, dryRun: true });
}
export function listRuns(q: RunListQuery, signal?: AbortSignal): Promise<Page<RunView>> {
  return request('GET', `/api/runs${qs(q as Record<string, unknown>)}`, undefined, { signal });
}
export async function activeRuns(signal?: AbortSignal): Promise<RunView[]> {
  return (await request<{ items: RunView[] }>('GET', '/api/runs/active', undefined, { signal })).items;
}
export async function getRun(id: string, signal?: AbortSignal): Promise<RunView> {
  return (await request<{ run: RunView }>('GET', `/api/runs/${encodeURIComponent(id)}`, undefined, { signal })).run;
}
export function runOutput(id: string, signal?: AbortSignal): Promise<{ rawOutput: string; stdout: string; stderr: string }> {
  return request('GET', `/api/runs/${encodeURIComponent(id)}/output`, undefined, { signal });
}
export async function killRun(id: string): Promise<RunView> {
  return (await request<{ run: RunView }>('POST', `/api/runs/${encodeURIComponent(id)}/kill`, {})).run;
}
export function exportRuns(q: RunListQuery): Promise<{ blob: Blob; filename: string | null }> {
  const { limit: _l, offset: _o, ...rest } = q;
  return requestBlob(`/api/runs/export${qs(rest as Record<string, unknown>)}`);
}
export function runLog(id: string, raw = false): Promise<{ blob: Blob; filename: string | null }> {
  return requestBlob(`/api/runs/${encodeURIComponent(id)}/log${raw ? '?raw=1' : ''}`);
}

// ---- settings ----------------------------------------------------------------------------

export async function getRunnerSettings(signal?: AbortSignal): Promise<RunnerSettings> {
  return (await request<{ settings: RunnerSettings }>('GET', '/api/settings/runner', undefined, { signal })).settings;
}
export async function putRunnerSettings(patch: Partial<RunnerSettings>): Promise<RunnerSettings> {
  return (await request<{ settings: RunnerSettings }>('PUT', '/api/settings/runner', patch)).settings;
}

/** Saves a Blob as a download. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
