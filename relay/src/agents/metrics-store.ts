/**
 * The last host-metrics samples of each agent (in memory, per relay), for
 * `GET /api/agents/{agent}/metrics` and the live figures on the agent page. Not persisted: after
 * a relay restart the history fills again from the next samples.
 */
import type { HostMetrics } from '@rexec/shared';

export const METRICS_KEPT = 60;

export class MetricsStore {
  private readonly samples = new Map<string, HostMetrics[]>();

  constructor(private readonly keep = METRICS_KEPT) {}

  add(agentId: string, sample: HostMetrics): void {
    let list = this.samples.get(agentId);
    if (!list) this.samples.set(agentId, (list = []));
    list.push(sample);
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
  }

  /** Oldest first. */
  of(agentId: string): HostMetrics[] {
    return [...(this.samples.get(agentId) ?? [])];
  }

  forget(agentId: string): void {
    this.samples.delete(agentId);
  }
}
