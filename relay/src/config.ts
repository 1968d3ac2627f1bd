/** Relay settings from flags and environment variables (flags win). Documented in relay/README.md. */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINK_DEFAULTS, LIMITS } from '@rexec/shared';
import { RUN_ENGINE_DEFAULTS, type RunEngineOptions } from './runs/run-engine.js';
import { SCHEDULER_DEFAULTS, type SchedulerOptions } from './schedules/scheduler.js';
import { NOTIFIER_DEFAULTS, type NotifierOptions } from './notify/webhooks.js';

export interface RelayConfig {
  port: number;
  bind: string;
  dataDir: string;
  databaseUrl?: string;
  /** shared_buffers of the embedded database (REXEC_PGLITE_SHARED_BUFFERS). */
  pgliteSharedBuffers?: string;
  /** Explicit public URL; when absent it is derived from bind and the listening port. */
  publicUrl?: string;
  /** Extra origins allowed to open browser sockets, besides the public URL's. */
  allowedOrigins: string[];
  heartbeatIntervalMs: number;
  deadLinkTimeoutMs: number;
  helloTimeoutMs: number;
  sessionTtlSeconds: number;
  webDir: string | null;
  runs: RunEngineOptions;
  /** Serve HTTPS/WSS directly with this certificate chain and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  /** How often queued runs are looked for again (PostgreSQL: runs queued by another relay). */
  runPumpMs: number;
  scheduler: SchedulerOptions & { enabled: boolean; testClock?: string };
  webhooks: NotifierOptions;
  /** How often the relay looks whether to give freed malloc memory back (REXEC_MEMORY_TRIM_MS; 0: never). */
  memoryTrimMs: number;
}

export interface StartFlags {
  port?: string;
  bind?: string;
  dataDir?: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REXEC_DATA_DIR || path.join(os.homedir(), '.rexec', 'relay');
}

export function defaultWebDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');
}

export function resolveConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const port = flags.port !== undefined ? Number(flags.port) : intEnv(env, 'REXEC_PORT', 8420);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got "${flags.port}"`);
  const publicUrl = flags.publicUrl ?? env.REXEC_PUBLIC_URL;
  if (publicUrl) {
    const u = new URL(publicUrl); // throws a clear "Invalid URL" for garbage
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('--public-url must be http(s)://');
  }
  const certFile = flags.tlsCert ?? env.REXEC_TLS_CERT;
  const keyFile = flags.tlsKey ?? env.REXEC_TLS_KEY;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('--tls-cert and --tls-key (REXEC_TLS_CERT, REXEC_TLS_KEY) go together');
  return {
    ...(certFile && keyFile ? { tls: { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) } } : {}),
    port,
    bind: flags.bind ?? env.REXEC_BIND ?? '127.0.0.1',
    dataDir: path.resolve(flags.dataDir ?? defaultDataDir(env)),
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.REXEC_PGLITE_SHARED_BUFFERS ? { pgliteSharedBuffers: env.REXEC_PGLITE_SHARED_BUFFERS } : {}),
    ...(publicUrl ? { publicUrl: publicUrl.replace(/\/+$/, '') } : {}),
    allowedOrigins: (env.REXEC_ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    heartbeatIntervalMs: intEnv(env, 'REXEC_HEARTBEAT_MS', LINK_DEFAULTS.heartbeatIntervalMs),
    deadLinkTimeoutMs: intEnv(env, 'REXEC_DEAD_LINK_MS', LINK_DEFAULTS.deadLinkTimeoutMs),
    helloTimeoutMs: intEnv(env, 'REXEC_HELLO_TIMEOUT_MS', LIMITS.helloTimeoutMs),
    sessionTtlSeconds: intEnv(env, 'REXEC_SESSION_TTL_SECONDS', 12 * 3600),
    webDir: env.REXEC_WEB_DIR ?? defaultWebDir(),
    runs: {
      lostAfterMs: intEnv(env, 'REXEC_RUN_LOST_AFTER_MS', RUN_ENGINE_DEFAULTS.lostAfterMs),
      watchdogSlackMs: intEnv(env, 'REXEC_RUN_WATCHDOG_SLACK_MS', RUN_ENGINE_DEFAULTS.watchdogSlackMs),
      flushIntervalMs: RUN_ENGINE_DEFAULTS.flushIntervalMs,
    },
    runPumpMs: intEnv(env, 'REXEC_RUN_PUMP_MS', 2000) || 2000,
    scheduler: {
      enabled: env.REXEC_SCHEDULER !== 'off',
      tickMs: intEnv(env, 'REXEC_SCHEDULER_TICK_MS', SCHEDULER_DEFAULTS.tickMs) || SCHEDULER_DEFAULTS.tickMs,
      missedGraceMs: intEnv(env, 'REXEC_SCHEDULER_MISSED_GRACE_MS', SCHEDULER_DEFAULTS.missedGraceMs),
      ...(env.REXEC_SCHEDULER_TEST_CLOCK ? { testClock: env.REXEC_SCHEDULER_TEST_CLOCK } : {}),
    },
    webhooks: {
      retryBaseMs: intEnv(env, 'REXEC_WEBHOOK_RETRY_BASE_MS', NOTIFIER_DEFAULTS.retryBaseMs),
      maxAttempts: intEnv(env, 'REXEC_WEBHOOK_MAX_ATTEMPTS', NOTIFIER_DEFAULTS.maxAttempts) || 1,
      timeoutMs: intEnv(env, 'REXEC_WEBHOOK_TIMEOUT_MS', NOTIFIER_DEFAULTS.timeoutMs) || NOTIFIER_DEFAULTS.timeoutMs,
      pollMs: intEnv(env, 'REXEC_WEBHOOK_POLL_MS', NOTIFIER_DEFAULTS.pollMs) || NOTIFIER_DEFAULTS.pollMs,
    },
    memoryTrimMs: intEnv(env, 'REXEC_MEMORY_TRIM_MS', 1000),
  };
}

/** Origins allowed on browser sockets: the public URL's, loopback aliases of it, and extras. */
export function originChecker(publicUrl: string, extra: string[]): (origin: string) => boolean {
  const pub = new URL(publicUrl);
  const allowed = new Set<string>([pub.origin, ...extra.map((o) => new URL(o).origin)]);
  if (['localhost', '127.0.0.1', '[::1]'].includes(pub.hostname)) {
    for (const h of ['localhost', '127.0.0.1', '[::1]']) allowed.add(`${pub.protocol}//${h}${pub.port ? `:${pub.port}` : ''}`);
  }
  return (origin) => {
    try {
      return allowed.has(new URL(origin).origin);
    } catch {
      return false;
    }
  };
}
