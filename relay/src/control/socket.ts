/**
 * The control socket: `<dataDir>/control.sock`, mode 0600 (only the relay's user may connect).
 * One JSON request per line, one JSON response per line: `{ ok: true, result }` or
 * `{ ok: false, error: { code, message } }`.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PrismaClient } from '../generated/prisma/client.js';
import { adminRequestSchema, runAdminOp, type AdminRequest } from './admin-ops.js';
import type { AccessEffects } from '../ws/live-sockets.js';
import { log } from '../log.js';

export const CONTROL_SOCKET = 'control.sock';
const MAX_LINE = 64 * 1024;

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, CONTROL_SOCKET);
}

export async function startControlSocket(dataDir: string, prisma: PrismaClient, effects?: AccessEffects): Promise<() => Promise<void>> {
  const file = controlSocketPath(dataDir);
  fs.rmSync(file, { force: true });
  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('error', () => {});
    conn.on('data', async (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE) return conn.end(JSON.stringify({ ok: false, error: { code: 'payload_too_large', message: 'request too large' } }) + '\n');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let reply: unknown;
      try {
        const parsed = adminRequestSchema.safeParse(JSON.parse(line));
        if (!parsed.success) throw Object.assign(new Error(`invalid request: ${parsed.error.issues[0]?.message}`), { code: 'validation_failed' });
        reply = { ok: true, result: await runAdminOp(prisma, parsed.data, effects) };
        log.info('control socket op', { op: parsed.data.op });
      } catch (err) {
        reply = { ok: false, error: { code: (err as { code?: string }).code ?? 'internal', message: (err as Error).message } };
      }
      conn.end(JSON.stringify(reply) + '\n');
    });
  });
  const oldUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(file, resolve));
  } finally {
    process.umask(oldUmask);
  }
  fs.chmodSync(file, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      fs.rmSync(file, { force: true });
    });
}

/** Sends one request to a running relay. Rejects with code ENOENT/ECONNREFUSED when none listens. */
export function callControlSocket(dataDir: string, req: AdminRequest, timeoutMs = 15_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(controlSocketPath(dataDir));
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error('the relay did not answer on its control socket'));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
    conn.on('data', (c: string) => (buf += c));
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(buf) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
        if (reply.ok) resolve(reply.result);
        else reject(Object.assign(new Error(reply.error?.message ?? 'failed'), { code: reply.error?.code }));
      } catch {
        reject(new Error('malformed reply from the control socket'));
      }
    });
  });
}
