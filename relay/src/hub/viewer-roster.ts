/**
 * Who is attached to one terminal session, in which mode, and whose window decides its size.
 *
 * Rules (documented in relay/README.md):
 * - The size owner is the most recently attached read-write viewer that opened the session
 *   (the owner); when the owner is not attached, the most recently attached read-write viewer.
 *   Only its resizes reach the agent; the others' wishes are remembered, so a viewer that becomes
 *   the size owner (the owner left) gets its own size applied at once.
 * - Read-only viewers never own the size.
 * - Every change of the set is told to every viewer (`viewers`), each list marking the receiver.
 */
import type { ViewerInfo, ViewerMode } from '@rexec/shared';

/** Who a viewer socket is. Never holds a secret. */
export interface ViewerIdentity {
  /** For records and logs: `user:alice`, `token:ci`, `share:<id>`. */
  actor: string;
  /** Shown to other viewers. */
  name: string;
  kind: ViewerInfo['kind'];
  mode: ViewerMode;
  /** Opened the session. */
  owner: boolean;
  /** The share link it came through. */
  shareId?: string;
}

export interface RosterMember {
  readonly identity: ViewerIdentity;
  onViewers(viewers: (ViewerInfo & { you: boolean })[]): void;
  onResized(cols: number, rows: number): void;
}

interface Entry {
  id: string;
  since: Date;
  order: number;
  wanted: { cols: number; rows: number } | null;
}

export class ViewerRoster<V extends RosterMember> {
  private readonly entries = new Map<V, Entry>();
  private order = 0;

  get size(): number {
    return this.entries.size;
  }

  has(v: V): boolean {
    return this.entries.has(v);
  }

  /** Adds a viewer; false when it was already there. */
  add(v: V): boolean {
    if (this.entries.has(v)) return false;
    this.order++;
    this.entries.set(v, { id: `v${this.order}`, since: new Date(), order: this.order, wanted: null });
    return true;
  }

  remove(v: V): boolean {
    return this.entries.delete(v);
  }

  clear(): void {
    this.entries.clear();
  }

  sizeOwner(): V | null {
    let best: V | null = null;
    let bestRank = -1;
    for (const [v, e] of this.entries) {
      if (v.identity.mode !== 'rw') continue;
      const rank = (v.identity.owner ? 1e12 : 0) + e.order;
      if (rank > bestRank) {
        best = v;
        bestRank = rank;
      }
    }
    return best;
  }

  /** Records the size a viewer wants; true when it is the size owner (so the size applies). */
  want(v: V, cols: number, rows: number): boolean {
    const e = this.entries.get(v);
    if (!e || v.identity.mode !== 'rw') return false;
    e.wanted = { cols, rows };
    return this.sizeOwner() === v;
  }

  /** The size the current size owner asked for, if it asked. */
  ownerWants(): { cols: number; rows: number } | null {
    const o = this.sizeOwner();
    return o ? (this.entries.get(o)?.wanted ?? null) : null;
  }

  list(): ViewerInfo[] {
    return this.listWithMembers().map(({ info }) => info);
  }

  /** Sends every viewer the list, marking itself. */
  broadcast(): void {
    const all = this.listWithMembers();
    for (const { member } of all) member.onViewers(all.map(({ info, member: m }) => ({ ...info, you: m === member })));
  }

  private listWithMembers(): { member: V; info: ViewerInfo }[] {
    const owner = this.sizeOwner();
    return [...this.entries]
      .sort((a, b) => a[1].order - b[1].order)
      .map(([member, e]) => ({
        member,
        info: {
          id: e.id,
          name: member.identity.name,
          kind: member.identity.kind,
          mode: member.identity.mode,
          since: e.since.toISOString(),
          owner: member.identity.owner,
          sizeOwner: member === owner,
        },
      }));
  }
}
