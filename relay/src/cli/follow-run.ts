/**
 * Follows a run over `/ws/runs/{id}?offset=N`: writes stdout frames to `out` and stderr frames to
 * `err` as they arrive, and resolves with the run once it has ended. A dropped socket (relay
 * restart, network) is reopened from the last offset received, so nothing is printed twice or lost.
 */
import WebSocket from 'ws';
import { backoffDelay, CloseCode, decodeFrame, FrameKind, runSocketEventSchema, takeNewBytes, type RunView } from '@rexec/shared';

export interface FollowOptions {
  host: string;
  token: string;
  runId: string;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Called on every status change. */
  onRun?: (run: RunView) => void;
  /** Give up after this many failed reconnects in a row. */
  maxRetries?: number;
}

export function runSocketUrl(host: string, runId: string, offset: number): string {
  const u = new URL(host);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws/runs/${encodeURIComponent(runId)}`;
  u.search = `?offset=${offset}`;
  return u.toString();
}

export function followRun(opts: FollowOptions): Promise<RunView> {
  let have = 0;
  let last: RunView | null = null;
  let failures = 0;
  return new Promise((resolve, reject) => {
    const connect = () => {
      const ws = new WebSocket(runSocketUrl(opts.host, opts.runId, have), { headers: { Authorization: `Bearer ${opts.token}` }, perMessageDeflate: false });
      let httpError: string | null = null;
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          try {
            httpError = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? `HTTP ${res.statusCode}`;
          } catch {
            httpError = `HTTP ${res.statusCode}`;
          }
          ws.terminate();
          // 4xx: retrying will not help.
          if ((res.statusCode ?? 500) < 500) reject(new Error(httpError));
          else retry(httpError);
        });
      });
      ws.on('open', () => (failures = 0));
      ws.on('message', (data, isBinary) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
        if (isBinary) {
          const f = decodeFrame(buf);
          const take = takeNewBytes(have, f.offset, f.payload);
          if (!take) return;
          (f.kind === FrameKind.RunStderr ? opts.err : opts.out).write(take.fresh);
          have = take.end;
          return;
        }
        const ev = runSocketEventSchema.safeParse(JSON.parse(buf.toString('utf8')));
        if (!ev.success) return;
        if (ev.data.type === 'error') return reject(new Error(ev.data.message));
        last = ev.data.run;
        opts.onRun?.(last);
      });
      ws.on('close', (code, reason) => {
        if (httpError !== null) return;
        if (code === CloseCode.RunEnded && last) return resolve(last);
        retry(`connection closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
      });
      ws.on('error', () => {});
    };
    const retry = (why: string) => {
      if (++failures > (opts.maxRetries ?? 30)) return reject(new Error(`lost the relay: ${why}`));
      setTimeout(connect, backoffDelay(failures, 250, 5000));
    };
    connect();
  });
}
