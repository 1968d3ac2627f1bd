/** Consumers of one agent's traffic: a terminal bridge per shell session, an exec stream per exec. */
import type { AgentToRelay, Frame } from '@rexec/shared';

type Msg<T extends AgentToRelay['type']> = Extract<AgentToRelay, { type: T }>;

export interface SessionSink {
  onStarted(msg: Msg<'shell_started'>): void;
  onAttached(msg: Msg<'shell_attached'>): void;
  /** `raw` is the frame exactly as the agent sent it, forwarded to viewers without re-encoding. */
  onOutput(raw: Uint8Array, frame: Frame): void;
  onStopped(msg: Msg<'shell_stopped'>): void;
  onError(msg: Msg<'shell_error'>): void;
  /** The agent link closed; the session is gone with it. */
  onAgentGone(reason: string): void;
}

export interface ExecSink {
  onStarted(msg: Msg<'exec_started'>): void;
  onOutput(stream: 'stdout' | 'stderr', payload: Uint8Array): void;
  onResult(msg: Msg<'exec_result'>): void;
  onAgentGone(reason: string): void;
}

/** The run engine's view of agent links (one engine per relay, for all agents). */
export interface RunHooks {
  /** hello arrived: `held` lists the runs the agent holds. */
  onAgentReady(link: import('./agent-link.js').AgentLink, held: import('@rexec/shared').HeldRun[]): void;
  /** The agent's link closed (not replaced by a newer one). */
  onAgentGone(agentId: string): void;
  onRunMessage(link: import('./agent-link.js').AgentLink, msg: Msg<'run_started'> | Msg<'run_finished'>): void;
  onRunOutput(link: import('./agent-link.js').AgentLink, frame: Frame): void;
  /** The agent answered a run message with an error (e.g. run_kill for a run it does not hold). */
  onRunError(link: import('./agent-link.js').AgentLink, runId: string, code: string, message: string, ref?: string): void;
}
