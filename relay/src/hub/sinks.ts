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
