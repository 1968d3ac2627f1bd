/**
 * The agent's config file: where the relay is, who this agent is, and its credential.
 *
 * Format by extension: `.yaml` / `.yml` is YAML, anything else JSON. Fields (all optional in the
 * file; a registered agent has api_url, agent_id and token):
 *
 *   api_url      relay base URL, http(s)://host[:port][/prefix]
 *   agent_id     id the relay assigned at registration
 *   token        the per-agent credential (rxa_...), NOT an API token
 *   name         agent name shown by the relay
 *   labels       tags (list of strings)
 *   shell        shell for terminals and `command` execs
 *   description  free text
 *   working_dir  start directory for terminals, execs and runs (default $HOME)
 *   allowed_roots  directories runs may work in (list); default [working_dir, else $HOME].
 *                Env REXEC_AGENT_ALLOWED_ROOTS (colon-separated) wins over the file.
 *   max_runs     runs running at once (default 16); env REXEC_AGENT_MAX_RUNS wins.
 *   command_allowlist  optional list of regular expressions a whole exec command or run template must match.
 *   metrics_interval  seconds between host-metrics reports (default 10, 0 = off); env
 *                REXEC_AGENT_METRICS_INTERVAL and `start --metrics-interval` win (see metrics.ts).
 *
 * Keys this version does not know are kept when the file is rewritten.
 *
 * Env overrides (applyEnvOverrides): REXEC_HOST (alias REXEC_API) replaces api_url, REXEC_TOKEN
 * replaces token. REXEC_TOKEN also serves as the API token for `register`; a value with the API
 * or enrollment token prefix (rxt_, rxe_) is therefore never used as the agent credential.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LIMITS, TOKEN_PREFIX } from '@rexec/shared';
import { writeFileAtomic } from './fs-atomic.js';

export interface AgentConfig {
  api_url?: string;
  agent_id?: string;
  token?: string;
  name?: string;
  labels?: string[];
  shell?: string;
  description?: string;
  working_dir?: string;
  /** PEM file of a CA to trust for the relay's certificate (besides the system roots). */
  ca_file?: string;
  allowed_roots?: string[];
  max_runs?: number;
  /** Regular expressions; when set, execs and runs must match one (see command-allowlist.ts). */
  command_allowlist?: string[];
  /** Seconds between host-metrics reports; 0 = off (see metrics.ts). */
  metrics_interval?: number;
}

/** A config that names a registration: what `start`, `unregister` and `refresh-token` need. */
export interface Registration extends AgentConfig {
  api_url: string;
  agent_id: string;
  token: string;
}

export type ConfigFormat = 'yaml' | 'json';

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

const STRING_FIELDS = ['api_url', 'agent_id', 'token', 'name', 'shell', 'description', 'working_dir', 'ca_file'] as const;

export function configFormat(path: string): ConfigFormat {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? 'yaml' : 'json';
}

/** Parses and checks config text. Throws ConfigError naming the file and the problem. */
export function parseConfig(text: string, path: string): AgentConfig & Record<string, unknown> {
  const format = configFormat(path);
  let raw: unknown;
  try {
    raw = format === 'yaml' ? parseYaml(text) : text.trim() === '' ? null : JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`config file ${path} is not valid ${format === 'yaml' ? 'YAML' : 'JSON'}: ${why}`, { cause: err });
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`config file ${path} must hold a mapping of settings (key: value), not ${Array.isArray(raw) ? 'a list' : typeof raw}`);
  }
  const cfg = raw as Record<string, unknown>;
  for (const key of STRING_FIELDS) {
    const v = cfg[key];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new ConfigError(`config file ${path}: "${key}" must be a string`);
    }
    if (v === null) delete cfg[key];
  }
  if (cfg.labels !== undefined && cfg.labels !== null) {
    if (!Array.isArray(cfg.labels) || !cfg.labels.every((l) => typeof l === 'string')) {
      throw new ConfigError(`config file ${path}: "labels" must be a list of strings`);
    }
  } else delete cfg.labels;
  if (cfg.allowed_roots !== undefined && cfg.allowed_roots !== null) {
    if (!Array.isArray(cfg.allowed_roots) || !cfg.allowed_roots.every((l) => typeof l === 'string')) {
      throw new ConfigError(`config file ${path}: "allowed_roots" must be a list of directories`);
    }
  } else delete cfg.allowed_roots;
  if (cfg.command_allowlist !== undefined && cfg.command_allowlist !== null) {
    if (!Array.isArray(cfg.command_allowlist) || !cfg.command_allowlist.every((l) => typeof l === 'string')) {
      throw new ConfigError(`config file ${path}: "command_allowlist" must be a list of regular expressions`);
    }
  } else delete cfg.command_allowlist;
  if (cfg.max_runs !== undefined && cfg.max_runs !== null) {
    if (typeof cfg.max_runs !== 'number' || !Number.isInteger(cfg.max_runs) || cfg.max_runs < 1 || cfg.max_runs > LIMITS.maxHeldRuns) {
      throw new ConfigError(`config file ${path}: "max_runs" must be a whole number from 1 to ${LIMITS.maxHeldRuns}`);
    }
  } else delete cfg.max_runs;
  if (cfg.metrics_interval !== undefined && cfg.metrics_interval !== null) {
    if (typeof cfg.metrics_interval !== 'number' || !Number.isInteger(cfg.metrics_interval) || cfg.metrics_interval < 0 || cfg.metrics_interval > 3600) {
      throw new ConfigError(`config file ${path}: "metrics_interval" must be a whole number of seconds from 0 (off) to 3600`);
    }
  } else delete cfg.metrics_interval;
  if (typeof cfg.api_url === 'string') {
    try {
      normalizeApiUrl(cfg.api_url);
    } catch (err) {
      throw new ConfigError(`config file ${path}: "api_url" ${(err as Error).message}`);
    }
  }
  return cfg as AgentConfig & Record<string, unknown>;
}

export function serializeConfig(cfg: AgentConfig, format: ConfigFormat): string {
  const clean = Object.fromEntries(Object.entries(cfg as Record<string, unknown>).filter(([, v]) => v !== undefined));
  return format === 'yaml' ? stringifyYaml(clean) : JSON.stringify(clean, null, 2) + '\n';
}

/** Reads the config file; null when it does not exist. */
export function readConfig(path: string): (AgentConfig & Record<string, unknown>) | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, path);
}

/** Writes the whole config atomically, mode 0600 (directory created 0700). */
export function writeConfig(path: string, cfg: AgentConfig): void {
  try {
    writeFileAtomic(path, serializeConfig(cfg, configFormat(path)), 0o600);
  } catch (err) {
    throw new ConfigError(`cannot write config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Read-modify-write: applies `patch` to what is on disk now (keys set to undefined are removed)
 * and writes the result atomically. Unknown keys survive.
 */
export function updateConfig(path: string, patch: Partial<Record<keyof AgentConfig, unknown>>): AgentConfig {
  const current = readConfig(path) ?? {};
  const next: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  writeConfig(path, next as AgentConfig);
  return next as AgentConfig;
}

export interface EnvOverrides {
  config: AgentConfig;
  /** Names of the variables that replaced a value, e.g. ['REXEC_HOST']. */
  applied: string[];
  /** Human notes about variables that were deliberately not applied. */
  ignored: string[];
}

/** Applies REXEC_HOST / REXEC_API and REXEC_TOKEN on top of the file's values. */
export function applyEnvOverrides(cfg: AgentConfig, env: NodeJS.ProcessEnv): EnvOverrides {
  const out: AgentConfig = { ...cfg };
  const applied: string[] = [];
  const ignored: string[] = [];
  const hostVar = env.REXEC_HOST ? 'REXEC_HOST' : env.REXEC_API ? 'REXEC_API' : undefined;
  if (hostVar) {
    out.api_url = env[hostVar];
    applied.push(hostVar);
  }
  const token = env.REXEC_TOKEN;
  if (token) {
    if (token.startsWith(TOKEN_PREFIX.apiToken) || token.startsWith(TOKEN_PREFIX.enrollment)) {
      ignored.push('REXEC_TOKEN holds an API or enrollment token (rxt_/rxe_...), not an agent credential; the config file credential is used');
    } else {
      out.token = token;
      applied.push('REXEC_TOKEN');
    }
  }
  return { config: out, applied, ignored };
}

/** Trims a trailing slash and checks the scheme. Throws Error with a short reason. */
export function normalizeApiUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`is not a URL: "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must start with http:// or https://, got "${url}"`);
  if (u.search || u.hash) throw new Error(`must not carry a query or fragment: "${url}"`);
  return u.toString().replace(/\/+$/, '');
}

export function isRegistered(cfg: AgentConfig | null): cfg is Registration {
  return !!cfg && !!cfg.api_url && !!cfg.agent_id && !!cfg.token;
}

/** Loads the config with env overrides and insists on a registration. */
export function loadRegistration(path: string, env: NodeJS.ProcessEnv): { registration: Registration; overrides: EnvOverrides } {
  const file = readConfig(path);
  const overrides = applyEnvOverrides(file ?? {}, env);
  const cfg = overrides.config;
  if (!isRegistered(cfg)) {
    const missing = (['api_url', 'agent_id', 'token'] as const).filter((k) => !cfg[k]);
    const where = file ? `config file ${path} lacks ${missing.join(', ')}` : `no config file at ${path}`;
    throw new ConfigError(`this agent is not registered (${where}); run "rexec-agent register" first`);
  }
  let apiUrl: string;
  try {
    apiUrl = normalizeApiUrl(cfg.api_url);
  } catch (err) {
    const from = overrides.applied.find((v) => v !== 'REXEC_TOKEN') ?? `config file ${path}`;
    throw new ConfigError(`relay URL from ${from} ${(err as Error).message}`);
  }
  return { registration: { ...cfg, api_url: apiUrl }, overrides };
}
