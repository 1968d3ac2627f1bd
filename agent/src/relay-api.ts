/**
 * The relay's HTTP endpoints the agent uses:
 *
 *   POST   {host}/api/agents/register          Bearer <API token>         -> 201 { agent, credential }
 *   POST   {host}/api/agents/{id}/credential   Bearer <agent credential>  -> 200 { agentId, credential }
 *   DELETE {host}/api/agents/{id}              Bearer <agent credential>  -> 2xx
 *
 * Non-2xx answers carry `{ error: { code, message } }`; RelayApiError keeps status, code and the
 * relay's message (safe to show).
 */
import {
  apiErrorOf,
  registerAgentResponseSchema,
  rotateCredentialResponseSchema,
  type RegisterAgentRequest,
  type RegisterAgentResponse,
} from '@rexec/shared';

export class RelayApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or undefined when the relay could not be reached. */
    readonly status: number | undefined,
    /** The relay's error code, 'unreachable', or 'bad_response'. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RelayApiError';
  }
}

export type FetchLike = typeof fetch;

export interface RelayApiOptions {
  fetch?: FetchLike;
  timeoutMs?: number;
}

async function call(apiUrl: string, path: string, init: RequestInit, opts: RelayApiOptions): Promise<{ status: number; body: unknown }> {
  const url = `${apiUrl.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, { ...init, signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new RelayApiError(`cannot reach the relay at ${apiUrl}: ${why}`, undefined, 'unreachable', { cause: err });
  }
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  if (!res.ok) {
    const e = apiErrorOf(body);
    const message = e?.message ?? `relay answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    const code = e?.code ?? `http_${res.status}`;
    throw new RelayApiError(message, res.status, code);
  }
  return { status: res.status, body };
}

function bearer(secret: string): Record<string, string> {
  return { Authorization: `Bearer ${secret}` };
}

export async function registerAgent(
  apiUrl: string,
  apiToken: string,
  request: RegisterAgentRequest,
  opts: RelayApiOptions = {},
): Promise<RegisterAgentResponse> {
  const { body } = await call(
    apiUrl,
    '/api/agents/register',
    { method: 'POST', headers: { ...bearer(apiToken), 'Content-Type': 'application/json' }, body: JSON.stringify(request) },
    opts,
  );
  const parsed = registerAgentResponseSchema.safeParse(body);
  if (!parsed.success) throw new RelayApiError('the relay sent an unexpected answer to the registration (is --host a Rexec relay?)', 200, 'bad_response');
  return parsed.data;
}

export async function rotateCredential(
  apiUrl: string,
  agentId: string,
  credential: string,
  opts: RelayApiOptions = {},
): Promise<{ agentId: string; credential: string }> {
  const { body } = await call(apiUrl, `/api/agents/${encodeURIComponent(agentId)}/credential`, { method: 'POST', headers: bearer(credential) }, opts);
  const parsed = rotateCredentialResponseSchema.safeParse(body);
  if (!parsed.success) throw new RelayApiError('the relay sent an unexpected answer to the credential rotation', 200, 'bad_response');
  return parsed.data;
}

export async function deleteAgent(apiUrl: string, agentId: string, credential: string, opts: RelayApiOptions = {}): Promise<void> {
  await call(apiUrl, `/api/agents/${encodeURIComponent(agentId)}`, { method: 'DELETE', headers: bearer(credential) }, opts);
}
