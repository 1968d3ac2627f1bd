/** Shared page data: agents (kept live by the event stream) and profiles. */
import { useEffect, useState } from 'preact/hooks';
import type { AgentView, ProfileView, RelayEvent } from '@rexec/shared';
import { listAgents, listProfiles } from './api.js';
import { useLiveEvents, useLiveRefresh } from './components/live.js';

const AGENT_EVENTS = ['agent.online', 'agent.offline', 'agent.updated', 'agent.deleted'] as const;

/** Online first, then by name. */
export function sortAgents(list: AgentView[]): AgentView[] {
  return [...list].sort((x, y) => (x.status === y.status ? x.name.localeCompare(y.name) : x.status === 'online' ? -1 : 1));
}

/** The agent list after an agent event (patched in place: no refetch). */
export function applyAgentEvent(list: AgentView[], e: RelayEvent): AgentView[] {
  if (e.type === 'agent.deleted') return list.filter((a) => a.id !== e.agentId);
  if (e.type !== 'agent.online' && e.type !== 'agent.offline' && e.type !== 'agent.updated') return list;
  const i = list.findIndex((a) => a.id === e.agent.id);
  return sortAgents(i < 0 ? [...list, e.agent] : list.map((a) => (a.id === e.agent.id ? e.agent : a)));
}

/** Every agent the user may see, kept current by agent events (and the slow safety refresh). */
export function useAgents(): { agents: AgentView[] | undefined; error: unknown; reload: () => void } {
  const [agents, setAgents] = useState<AgentView[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    listAgents()
      .then((a) => {
        setAgents(sortAgents(a));
        setError(null);
      })
      .catch(setError);
  useEffect(() => void load(), []);
  useLiveEvents([...AGENT_EVENTS], (e) => setAgents((list) => (list ? applyAgentEvent(list, e) : list)));
  useLiveRefresh([], () => void load());
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
