/** Helpers shared by the `rexec` commands: failing with an exit code, the API client, tables. */
import { ApiClient } from './api-client.js';
import { loadCliConfig } from './cli-config.js';

/** Exit codes besides a remote exit code (ssh/timeout conventions). */
export const EXIT = { error: 255, timeout: 124, usage: 2, killed: 137 } as const;

export function fail(message: string, code: number = EXIT.error): never {
  process.stderr.write(`rexec: ${message}\n`);
  process.exit(code);
}

export function loginOrFail(): { host: string; token: string } {
  let cfg;
  try {
    cfg = loadCliConfig();
  } catch (err) {
    fail((err as Error).message);
  }
  if (!cfg) fail('not logged in: run `rexec login --host URL --token TOKEN` (or set REXEC_HOST and REXEC_TOKEN)', EXIT.usage);
  return cfg;
}

export function client(): ApiClient {
  const cfg = loginOrFail();
  return new ApiClient(cfg.host, cfg.token);
}

export function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Runs a command action, turning any error into `rexec: message` and a non-zero exit. */
export function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      fail((err as Error).message);
    }
  };
}

/** Collects a repeatable option into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** NAME=VALUE pairs into a record; a bad pair is a usage error. */
export function pairs(list: string[] = [], what = 'value'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const eq = p.indexOf('=');
    if (eq <= 0) fail(`expected NAME=${what}, got "${p}"`, EXIT.usage);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
