/**
 * The agents connected to this relay, and their presence in the database (status, connectedAt,
 * lastSeenAt, host facts from hello). A second link for the same agent replaces the first.
 */
import type { WebSocket } from 'ws';
import { CloseCode, type AgentHello } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { log } from '../log.js';
import { AgentLink, type LinkTiming } from './agent-link.js';
import type { RunHooks } from './sinks.js';
import { agentView } from '../agents/lookup.js';
import { MetricsStore } from '../agents/metrics-store.js';
import type { EventBus } from '../events/event-bus.js';

/** lastSeenAt is written at most this often while a link is up. */
const LAST_SEEN_WRITE_MS = 30_000;

export class AgentHub {
  private readonly links = new Map<string, AgentLink>();
  private readonly lastSeenWrites = new Map<string, number>();
  /** Set once the run engine exists (it needs the hub to reach agents). */
  runHooks: RunHooks | undefined;
  /** Recent host metrics per agent. */
  readonly metrics = new MetricsStore();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly timing: LinkTiming,
    private readonly events?: EventBus,
  ) {}

  /** A connected agent's name changed (PATCH /api/agents/{id}): logs and links use the new one. */
  rename(agentId: string, name: string): void {
    const link = this.links.get(agentId);
    if (link) link.agentName = name;
  }

  get(agentId: string): AgentLink | undefined {
    const l = this.links.get(agentId);
    return l && l.state === 'ready' ? l : undefined;
  }

  get onlineCount(): number {
    let n = 0;
    for (const l of this.links.values()) if (l.state === 'ready') n++;
    return n;
  }

  /** Marks every agent offline: at start nothing is connected to this relay yet. */
  async resetPresence(): Promise<void> {
    await this.prisma.agent.updateMany({ where: { status: 'online' }, data: { status: 'offline' } });
  }

  attach(ws: WebSocket, agent: { id: string; name: string }): AgentLink {
    const previous = this.links.get(agent.id);
    const link = new AgentLink(agent.id, agent.name, ws, this.timing, {
      onReady: (l, hello) => this.onReady(l, hello),
      onSeen: (l) => this.onSeen(l),
      onClosed: (l, code, reason) => this.onClosed(l, code, reason),
      onMetrics: (l, sample) => {
        this.metrics.add(l.agentId, sample);
        this.events?.publish({ type: 'agent.metrics', agentId: l.agentId, sample }, { agentId: l.agentId });
      },
      runs: () => this.runHooks,
    });
    this.links.set(agent.id, link);
    if (previous) previous.close(CloseCode.Replaced, 'replaced by a newer connection of the same agent');
    log.info('agent connected', { agent: agent.name, id: agent.id });
    return link;
  }

  /** Closes the live link of an agent (deleted, credential revoked). */
  disconnect(agentId: string, code: number, reason: string): void {
    this.links.get(agentId)?.close(code, reason);
  }

  closeAll(code: number, reason: string): void {
    for (const l of this.links.values()) l.close(code, reason);
  }

  private async onReady(link: AgentLink, hello: AgentHello): Promise<void> {
    const now = new Date();
    this.lastSeenWrites.set(link.agentId, now.getTime());
    const row = await this.prisma.agent
      .update({
        where: { id: link.agentId },
        data: {
          status: 'online',
          connectedAt: now,
          lastSeenAt: now,
          hostname: hello.hostname,
          os: hello.os,
          arch: hello.arch,
          shell: hello.shell,
          version: hello.version,
        },
      })
      .catch((err) => void log.warn('could not record agent presence', { agent: link.agentName, err: err.message }));
    if (row && link.state === 'ready') this.events?.publish({ type: 'agent.online', agent: agentView(row, true) }, { agentId: row.id });
    // Sessions the database thinks are open but the agent no longer holds ended while it was away.
    await this.prisma.terminalSession
      .updateMany({
        where: { agentId: link.agentId, endedAt: null, id: { notIn: hello.sessions.map((s) => s.sessionId) } },
        data: { endedAt: now, endReason: 'lost' },
      })
      .catch(() => {});
    if (link.state === 'ready') this.runHooks?.onAgentReady(link, hello.runs);
  }

  private onSeen(link: AgentLink): void {
    const now = Date.now();
    if ((this.lastSeenWrites.get(link.agentId) ?? 0) > now - LAST_SEEN_WRITE_MS) return;
    this.lastSeenWrites.set(link.agentId, now);
    this.prisma.agent.update({ where: { id: link.agentId }, data: { lastSeenAt: new Date(now) } }).catch(() => {});
  }

  private onClosed(link: AgentLink, code: number, reason: string): void {
    log.info('agent disconnected', { agent: link.agentName, code, reason: reason || undefined });
    if (this.links.get(link.agentId) !== link) return; // replaced: the newer link owns presence
    this.links.delete(link.agentId);
    this.runHooks?.onAgentGone(link.agentId);
    void this.prisma.agent
      .updateMany({ where: { id: link.agentId }, data: { status: 'offline', lastSeenAt: new Date() } })
      .then(() => this.prisma.agent.findUnique({ where: { id: link.agentId } }))
      .then((row) => {
        if (row && !this.links.has(row.id)) this.events?.publish({ type: 'agent.offline', agent: agentView(row, false) }, { agentId: row.id });
      })
      .catch((err) => log.warn('could not record agent offline', { agent: link.agentName, err: err.message }));
  }
}
