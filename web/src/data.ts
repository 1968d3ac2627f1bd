/** Shared page data: agents (polled, so online state stays live) and profiles. */
import { useEffect, useState } from 'preact/hooks';
import type { AgentView, ProfileView } from '@rexec/shared';
import { listAgents, listProfiles } from './api.js';
import { usePoll } from './components/ui.js';

export const AGENT_POLL_MS = 4000;

export function useAgents(pollMs = AGENT_POLL_MS): { agents: AgentView[] | undefined; error: unknown; reload: () => void } {
  const [agents, setAgents] = useState<AgentView[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    listAgents()
      .then((a) => {
        setAgents(a.sort((x, y) => (x.status === y.status ? x.name.localeCompare(y.name) : x.status === 'online' ? -1 : 1)));
        setError(null);
      })
      .catch(setError);
  useEffect(() => void load(), []);
  usePoll(() => void load(), pollMs);
  return { agents, error, reload: () => void load() };
}

export function useProfiles(): { profiles: ProfileView[] | undefined; error: unknown; reload: () => void } {
  const [profiles, setProfiles] = useState<ProfileView[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    listProfiles()
      .then((p) => {
        setProfiles(p);
        setError(null);
      })
      .catch(setError);
  }, [n]);
  return { profiles, error, reload: () => setN((x) => x + 1) };
}

/** Distinct working directories the user has used (prompts, recent runs, the default). */
export function uniqueDirs(...lists: (string | null | undefined)[][]): string[] {
  const s = new Set<string>();
  for (const l of lists) for (const d of l) if (d) s.add(d);
  return [...s].sort();
}
