/**
 * Screen snapshots (protocol v4): asks the agent for a session's serialized screen and the output
 * offset it is exact for. A viewer with nothing rendered writes the snapshot and streams from that
 * offset instead of replaying the ring from 0 (wrong for full-screen programs once the ring has
 * dropped their first screen). Null when the agent cannot (older agent, error, timeout): the
 * caller then falls back to a replay.
 */
import { randomBytes } from 'node:crypto';
import type { AgentToRelay } from '@rexec/shared';
import type { AgentLink } from './agent-link.js';
import { log } from '../log.js';

export type SessionSnapshot = Omit<Extract<AgentToRelay, { type: 'shell_snapshot_result' }>, 'type' | 'requestId'>;

export const SNAPSHOT_TIMEOUT_MS = 5000;

export async function requestSnapshot(link: AgentLink, sessionId: string, timeoutMs = SNAPSHOT_TIMEOUT_MS): Promise<SessionSnapshot | null> {
  if (link.protocolVersion < 4) return null;
  try {
    const r = await link.request<Extract<AgentToRelay, { type: 'shell_snapshot_result' }>>(
      { type: 'shell_snapshot', sessionId, requestId: randomBytes(9).toString('base64url') },
      timeoutMs,
    );
    return { sessionId: r.sessionId, data: r.data, offset: r.offset, cols: r.cols, rows: r.rows };
  } catch (err) {
    log.warn('screen snapshot failed; replaying instead', { agent: link.agentName, session: sessionId, err: (err as Error).message });
    return null;
  }
}
