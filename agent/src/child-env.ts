/**
 * Environments for processes the agent starts (terminals and execs). The agent's own settings
 * never reach them: every variable starting with REXEC_ (REXEC_TOKEN, REXEC_HOST, REXEC_API,
 * REXEC_CONFIG, REXEC_AGENT_*) is removed, from the inherited environment and from variables the
 * relay asked for alike.
 */
export const AGENT_ENV_PREFIX = 'REXEC_';

export function isAgentVariable(name: string): boolean {
  return name.toUpperCase().startsWith(AGENT_ENV_PREFIX);
}

/** inherited < requested (from the relay) < fixed (set by the agent, e.g. TERM). */
export function childEnv(
  inherited: NodeJS.ProcessEnv,
  requested: Record<string, string> = {},
  fixed: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of [inherited, requested, fixed]) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined || isAgentVariable(k)) continue;
      out[k] = v;
    }
  }
  return out;
}
