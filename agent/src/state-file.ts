/**
 * The small JSON file a running agent keeps next to its pid file (`agent.state.json`), so that
 * `status` and `start --daemon` can tell whether it is connected and why not. Written atomically.
 */
import { readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from './fs-atomic.js';

export interface AgentState {
  pid: number;
  startedAt: string;
  /** ISO time the current link got past hello; null while not connected. */
  connectedSince: string | null;
  /** The last reason the link went down or could not come up; null once connected. */
  lastError: string | null;
  /** True once the process has ended (the file stays for `status` and `start --daemon`). */
  stopped: boolean;
  updatedAt: string;
}

export function readState(path: string): AgentState | null {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<AgentState>;
    if (typeof s.pid !== 'number') return null;
    return {
      pid: s.pid,
      startedAt: String(s.startedAt ?? ''),
      connectedSince: typeof s.connectedSince === 'string' ? s.connectedSince : null,
      lastError: typeof s.lastError === 'string' ? s.lastError : null,
      stopped: s.stopped === true,
      updatedAt: String(s.updatedAt ?? ''),
    };
  } catch {
    return null;
  }
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
}

export class StateWriter {
  private state: AgentState;

  constructor(
    private readonly path: string,
    pid: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    const t = this.now().toISOString();
    this.state = { pid, startedAt: t, connectedSince: null, lastError: null, stopped: false, updatedAt: t };
    this.write();
  }

  get current(): Readonly<AgentState> {
    return this.state;
  }

  update(patch: Partial<Omit<AgentState, 'pid' | 'startedAt' | 'updatedAt'>>): void {
    this.state = { ...this.state, ...patch, updatedAt: this.now().toISOString() };
    this.write();
  }

  private write(): void {
    try {
      writeFileAtomic(this.path, JSON.stringify(this.state, null, 2) + '\n', 0o600);
    } catch {
      /* status information only; never stop the agent over it */
    }
  }
}
