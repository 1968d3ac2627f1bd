/**
 * The relay's live events (agent presence and metrics, runs, schedules, terminals) for
 * `GET /api/events`. In-process: this relay publishes what happens on it (its agents, the runs it
 * drives, the schedules changed or fired through it). The relay has no cluster bus yet (no Redis);
 * with several relays on one PostgreSQL database a page sees the events of the relay it is
 * connected to, and its slow safety refresh picks up the rest.
 *
 * Every event gets an id `<epoch>-<seq>` (epoch: this process) and, unless transient (metrics),
 * lands in a short backlog so a reconnect with `Last-Event-ID` can be replayed; when it cannot
 * (another process, or older than the backlog) the subscriber gets `stream.reset` and refetches.
 *
 * Who sees what: every event names the agent it concerns (or, for a schedule on a tag, the tag);
 * a subscriber sees it only if canUseAgent allows that agent (or tag). Terminal events go to the
 * person who opened the terminal and to admins.
 */
import { randomBytes } from 'node:crypto';
import type { RelayEvent } from '@rexec/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { canUseAgent, describePrincipal, hasRole, type Principal } from '../auth/principal.js';
import { log } from '../log.js';

export interface Audience {
  /** The agent the event concerns. */
  agentId?: string | null;
  /** A schedule on every agent with this tag. */
  agentTag?: string | null;
  /** Only this principal (describePrincipal) and admins. */
  owner?: string;
}

export interface Published {
  /** Null for transient events (not replayed, no id). */
  id: string | null;
  seq: number;
  event: RelayEvent;
  audience: Audience;
  /** The agent's tags when published (for agent-access filtering). */
  agentTags: string[];
}

export interface Subscriber {
  principal: Principal;
  deliver(e: Published): void;
  close(): void;
}

export const BACKLOG_SIZE = 500;
const TRANSIENT: ReadonlySet<RelayEvent['type']> = new Set(['agent.metrics']);

export class EventBus {
  /** Distinguishes this process: ids from another relay process cannot be resumed here. */
  readonly epoch = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private seq = 0;
  private readonly backlog: Published[] = [];
  private readonly subs = new Set<Subscriber>();
  private readonly tags = new Map<string, string[]>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly prisma: PrismaClient) {}

  get subscribers(): number {
    return this.subs.size;
  }

  /**
   * Publishes an event. Delivery is asynchronous (the agent's tags may need a lookup) but keeps
   * the order of publish calls.
   */
  publish(event: RelayEvent, audience: Audience = {}): void {
    if ('agent' in event) this.tags.set(event.agent.id, event.agent.tags);
    this.chain = this.chain
      .then(async () => {
        const agentTags = audience.agentId ? await this.tagsOf(audience.agentId) : [];
        if (event.type === 'agent.deleted') this.tags.delete(event.agentId);
        const transient = TRANSIENT.has(event.type);
        const seq = transient ? this.seq : ++this.seq;
        const p: Published = { id: transient ? null : `${this.epoch}-${seq}`, seq, event, audience, agentTags };
        if (!transient) {
          this.backlog.push(p);
          if (this.backlog.length > BACKLOG_SIZE) this.backlog.splice(0, this.backlog.length - BACKLOG_SIZE);
        }
        for (const s of this.subs) if (visibleTo(s.principal, p)) s.deliver(p);
      })
      .catch((err) => log.warn('could not publish an event', { type: event.type, err: (err as Error).message }));
  }

  /** Resolves once everything published so far was delivered (tests, shutdown). */
  flushed(): Promise<void> {
    return this.chain;
  }

  /** The agent's tags changed (rename/re-tag): later events use the new ones. */
  setTags(agentId: string, tags: string[]): void {
    this.tags.set(agentId, tags);
  }

  private async tagsOf(agentId: string): Promise<string[]> {
    const known = this.tags.get(agentId);
    if (known) return known;
    const row = await this.prisma.agent.findUnique({ where: { id: agentId }, select: { tags: true } });
    const tags = row?.tags ?? [];
    if (row) this.tags.set(agentId, tags);
    return tags;
  }

  /**
   * Adds a subscriber. With `lastEventId`, first replays what it missed (visible events after that
   * id); `resumed` is false when that was not possible (the caller then sends stream.reset).
   */
  subscribe(sub: Subscriber, lastEventId?: string): { resumed: boolean; unsubscribe(): void } {
    // Synchronous: every backlog entry was already delivered to the others, and nothing published
    // after this call can slip between the replay and live delivery.
    let resumed = true;
    if (lastEventId) {
      const missed = this.since(lastEventId);
      if (missed === null) resumed = false;
      else for (const p of missed) if (visibleTo(sub.principal, p)) sub.deliver(p);
    }
    this.subs.add(sub);
    return { resumed, unsubscribe: () => void this.subs.delete(sub) };
  }

  /** Backlog entries after `lastEventId`, or null when they cannot be known. */
  since(lastEventId: string): Published[] | null {
    const m = /^([a-z0-9]+)-(\d+)$/.exec(lastEventId.trim());
    if (!m || m[1] !== this.epoch) return null;
    const n = Number(m[2]);
    if (n > this.seq) return null;
    if (n === this.seq) return [];
    const first = this.backlog[0];
    if (!first || first.seq > n + 1) return null;
    return this.backlog.filter((p) => p.seq > n);
  }

  /** Ends the streams of subscribers matching `pred` (access taken away); they reconnect as who they are now. */
  closeWhere(pred: (p: Principal) => boolean): number {
    let n = 0;
    for (const s of [...this.subs]) {
      if (!pred(s.principal)) continue;
      this.subs.delete(s);
      s.close();
      n++;
    }
    return n;
  }

  closeAll(): void {
    this.closeWhere(() => true);
  }
}

/** Whether a subscriber may see an event (agent access, terminal ownership, role). */
export function visibleTo(p: Principal, e: Published): boolean {
  if (p.kind === 'agent' || !hasRole(p, 'viewer')) return false;
  const a = e.audience;
  if (a.owner !== undefined && a.owner !== describePrincipal(p) && !hasRole(p, 'admin')) return false;
  if (a.agentId) return canUseAgent(p, { id: a.agentId, tags: e.agentTags });
  if (a.agentTag) return canUseAgent(p, { id: '', tags: [a.agentTag] });
  return true;
}
