/** `rexec-agent status [--json]`. */
import { applyEnvOverrides, isRegistered, readConfig } from '../config.js';
import { runningPid } from '../daemon.js';
import { runtimePaths } from '../paths.js';
import { allowedRootsSetting, type AllowedRootsSource } from '../runs/settings.js';
import { readState } from '../state-file.js';
import { configPathFor, type CliContext, type GlobalOptions } from './context.js';

export interface StatusOptions {
  json?: boolean;
}

export interface StatusReport {
  config: string;
  registered: boolean;
  agentId: string | null;
  name: string | null;
  host: string | null;
  shell: string | null;
  tags: string[];
  /** Directories runs may work in (as configured, before realpath), and where that came from. */
  allowedRoots: string[];
  allowedRootsFrom: AllowedRootsSource;
  running: boolean;
  pid: number | null;
  connected: boolean;
  connectedSince: string | null;
  lastError: string | null;
  log: string;
}

export function statusReport(globals: GlobalOptions, ctx: CliContext): StatusReport {
  const configPath = configPathFor(globals, ctx);
  const paths = runtimePaths(configPath);
  const file = readConfig(configPath);
  const cfg = file ? applyEnvOverrides(file, ctx.env).config : null;
  const pid = runningPid(paths);
  const state = readState(paths.state);
  const live = pid !== null && state?.pid === pid ? state : null;
  const roots = allowedRootsSetting(cfg ?? {}, ctx.env, ctx.homedir);
  return {
    config: configPath,
    registered: isRegistered(cfg),
    agentId: cfg?.agent_id ?? null,
    name: cfg?.name ?? null,
    host: cfg?.api_url ?? null,
    shell: cfg?.shell ?? null,
    tags: cfg?.labels ?? [],
    allowedRoots: roots.roots,
    allowedRootsFrom: roots.source,
    running: pid !== null,
    pid,
    connected: !!live?.connectedSince,
    connectedSince: live?.connectedSince ?? null,
    lastError: (live ?? (state?.stopped ? state : null))?.lastError ?? null,
    log: paths.log,
  };
}

export async function statusCommand(opts: StatusOptions, globals: GlobalOptions, ctx: CliContext): Promise<number> {
  const r = statusReport(globals, ctx);
  if (opts.json) {
    ctx.stdout(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const rows: [string, string][] = [
    ['config', r.config],
    ['registered', r.registered ? 'yes' : 'no'],
  ];
  if (r.registered) {
    rows.push(['agent id', r.agentId ?? ''], ['name', r.name ?? ''], ['host', r.host ?? ''], ['shell', r.shell ?? ''], ['tags', r.tags.join(', ') || '(none)']);
    const from = r.allowedRootsFrom === 'REXEC_AGENT_ALLOWED_ROOTS' ? ' (from REXEC_AGENT_ALLOWED_ROOTS)' : r.allowedRootsFrom === 'allowed_roots' ? '' : ' (default)';
    rows.push(['allowed roots', `${r.allowedRoots.join(', ')}${from}`]);
  }
  rows.push(['running', r.running ? `yes (pid ${r.pid})` : 'no']);
  if (r.running) rows.push(['connected', r.connectedSince ? `since ${r.connectedSince}` : 'no']);
  if (r.lastError) rows.push(['last error', r.lastError]);
  if (r.running) rows.push(['log', r.log]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  for (const [k, v] of rows) ctx.stdout(`${`${k}:`.padEnd(width + 1)}${v}\n`);
  return 0;
}
