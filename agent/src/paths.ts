/**
 * Where the agent keeps its files.
 *
 * Config path precedence: `--config <path>` > env REXEC_CONFIG > default. The default is
 * `/etc/rexec/agent.yaml` when running as root (a system install, e.g. under systemd) and
 * `~/.rexec/agent.json` otherwise.
 *
 * The pid, log and state files live next to the config file and take its base name:
 * `/etc/rexec/agent.yaml` -> `/etc/rexec/agent.pid`, `agent.log`, `agent.state.json`, and the
 * directory of run records `agent.runs/` (see runs/run-records.ts) and the state dir of the
 * terminal session hosts `agent.sessions/` (see sessions/state-dir.ts).
 */
import { basename, dirname, extname, join, resolve } from 'node:path';

export const SYSTEM_CONFIG_PATH = '/etc/rexec/agent.yaml';
export const USER_CONFIG_RELATIVE = join('.rexec', 'agent.json');

export interface PathContext {
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
  homedir: string;
  cwd: string;
}

export function defaultConfigPath(ctx: Pick<PathContext, 'isRoot' | 'homedir'>): string {
  return ctx.isRoot ? SYSTEM_CONFIG_PATH : join(ctx.homedir, USER_CONFIG_RELATIVE);
}

/** The absolute config path: flag, then REXEC_CONFIG, then the default. */
export function resolveConfigPath(flag: string | undefined, ctx: PathContext): string {
  const chosen = flag || ctx.env.REXEC_CONFIG || defaultConfigPath(ctx);
  return resolve(ctx.cwd, chosen);
}

export interface RuntimePaths {
  config: string;
  pid: string;
  log: string;
  state: string;
  /** Directory of run records (one file per running run), next to the state file. */
  runs: string;
  /** State dir of the terminal session hosts (sessions/state-dir.ts). */
  sessions: string;
}

export function runtimePaths(configPath: string): RuntimePaths {
  const dir = dirname(configPath);
  const base = basename(configPath, extname(configPath)) || 'agent';
  return {
    config: configPath,
    pid: join(dir, `${base}.pid`),
    log: join(dir, `${base}.log`),
    state: join(dir, `${base}.state.json`),
    runs: join(dir, `${base}.runs`),
    sessions: join(dir, `${base}.sessions`),
  };
}
