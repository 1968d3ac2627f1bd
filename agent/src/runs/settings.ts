/**
 * Run settings from the config file and the environment (documented in agent/README.md):
 *
 *   allowed roots  env REXEC_AGENT_ALLOWED_ROOTS (colon-separated) > config `allowed_roots` >
 *                  [config `working_dir`] > [$HOME]
 *   max runs       env REXEC_AGENT_MAX_RUNS > config `max_runs` > 16
 */
import { LIMITS } from '@rexec/shared';
import type { AgentConfig } from '../config.js';

export const DEFAULT_MAX_RUNS = 16;

export type AllowedRootsSource = 'REXEC_AGENT_ALLOWED_ROOTS' | 'allowed_roots' | 'working_dir' | 'home';

/** The configured allowed roots (not yet resolved) and where they came from. */
export function allowedRootsSetting(cfg: AgentConfig, env: NodeJS.ProcessEnv, home: string): { roots: string[]; source: AllowedRootsSource } {
  const fromEnv = env.REXEC_AGENT_ALLOWED_ROOTS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { roots: fromEnv.split(':').map((r) => r.trim()).filter(Boolean), source: 'REXEC_AGENT_ALLOWED_ROOTS' };
  }
  if (cfg.allowed_roots && cfg.allowed_roots.length > 0) return { roots: [...cfg.allowed_roots], source: 'allowed_roots' };
  if (cfg.working_dir) return { roots: [cfg.working_dir], source: 'working_dir' };
  return { roots: [home], source: 'home' };
}

/** Runs running at once. Throws on a bad REXEC_AGENT_MAX_RUNS. */
export function maxRunsSetting(cfg: AgentConfig, env: NodeJS.ProcessEnv): number {
  const v = env.REXEC_AGENT_MAX_RUNS;
  if (v !== undefined && v.trim() !== '') {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxHeldRuns) {
      throw new Error(`REXEC_AGENT_MAX_RUNS must be a whole number from 1 to ${LIMITS.maxHeldRuns}, got "${v}"`);
    }
    return n;
  }
  return cfg.max_runs ?? DEFAULT_MAX_RUNS;
}
