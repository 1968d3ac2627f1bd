/** HTTP client for the relay API (used by the `rexec` CLI). */
import { apiErrorOf, execEventSchema, type ExecEvent } from '@rexec/shared';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export class ApiClient {
  constructor(readonly host: string, private readonly token: string) {}

  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.host), {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `cannot reach the relay at ${this.host}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    if (!res.ok) {
      let e = null;
      try {
        e = apiErrorOf(JSON.parse(await res.text()));
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `relay answered HTTP ${res.status}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (res.status === 204 ? undefined : await res.json()) as T; // DELETE answers 204 without a body
  }

  /** Streams exec events as they arrive. */
  async *exec(agent: string, body: unknown, signal?: AbortSignal): AsyncGenerator<ExecEvent> {
    const res = await this.request('POST', `/api/agents/${encodeURIComponent(agent)}/exec`, body, signal);
    if (!res.body) throw new ApiError(0, 'bad_response', 'empty response');
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = execEventSchema.safeParse(JSON.parse(line));
        if (ev.success) yield ev.data;
      }
    }
  }
}
