/**
 * The audit log: every security-relevant event, append-only and hash-chained.
 *
 * Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields
 * (canonical JSON, keys sorted), so editing, removing or reordering entries is detectable by
 * walking the chain (`verify`). Appends from any number of relays on one database are
 * serialised with a transaction-scoped advisory lock, so the chain never forks. The table also
 * refuses UPDATE, DELETE and TRUNCATE (trigger in migration 0004).
 *
 * `record` never throws into the caller: a failure to audit is logged as an error.
 */
import { createHash } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { log } from '../log.js';

export const GENESIS_HASH = '0'.repeat(64);
const CHAIN_LOCK_KEY = 7_231_990_002;

export interface AuditInput {
  actor: string;
  action: string;
  target?: string;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export type AuditRow = Awaited<ReturnType<PrismaClient['auditEvent']['findUniqueOrThrow']>>;

/** JSON with object keys sorted at every level: the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function entryHash(prevHash: string, e: { at: Date; actor: string; action: string; target: string; ip: string | null; details: unknown }): string {
  const body = canonicalJson({ at: e.at.toISOString(), actor: e.actor, action: e.action, target: e.target, ip: e.ip, details: e.details });
  return createHash('sha256').update(`${prevHash}\n${body}`).digest('hex');
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** The first entry whose hash or link does not match, when not ok. */
  brokenAt?: number;
  problem?: string;
}

export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly prisma: PrismaClient) {}

  /** Appends an event (in call order within this process). */
  record(input: AuditInput): Promise<void> {
    const at = new Date();
    const work = this.tail.then(() => this.append(at, input));
    this.tail = work.catch(() => {});
    return work.catch((err) => log.error('could not write the audit log', { action: input.action, err: (err as Error).message }));
  }

  private async append(at: Date, input: AuditInput): Promise<void> {
    const entry = { at, actor: input.actor, action: input.action, target: input.target ?? '', ip: input.ip ?? null, details: JSON.parse(JSON.stringify(input.details ?? {})) as object };
    await this.prisma.$transaction(async (tx) => {
      await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY})::text AS locked`);
      const last = await tx.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { hash: true } });
      const prevHash = last?.hash ?? GENESIS_HASH;
      await tx.auditEvent.create({ data: { ...entry, prevHash, hash: entryHash(prevHash, entry) } });
    });
  }

  /** Waits for appends queued so far. */
  async flush(): Promise<void> {
    await this.tail;
  }

  /** Walks the whole chain in order. */
  async verify(): Promise<VerifyResult> {
    let prev = GENESIS_HASH;
    let entries = 0;
    let after = 0;
    for (;;) {
      const batch = await this.prisma.auditEvent.findMany({ where: { seq: { gt: after } }, orderBy: { seq: 'asc' }, take: 1000 });
      if (batch.length === 0) return { ok: true, entries };
      for (const e of batch) {
        if (e.prevHash !== prev) return { ok: false, entries, brokenAt: e.seq, problem: `entry ${e.seq} does not link to the entry before it (an entry was removed or reordered)` };
        if (entryHash(e.prevHash, e) !== e.hash) return { ok: false, entries, brokenAt: e.seq, problem: `entry ${e.seq} was altered (its hash does not match its contents)` };
        prev = e.hash;
        entries++;
        after = e.seq;
      }
    }
  }
}

const logs = new WeakMap<PrismaClient, AuditLog>();

/** The audit log of a database connection (one writer queue per client). */
export function auditLog(prisma: PrismaClient): AuditLog {
  let a = logs.get(prisma);
  if (!a) logs.set(prisma, (a = new AuditLog(prisma)));
  return a;
}
