/**
 * The audit log's guarantees on a real database: append-only (the table refuses UPDATE, DELETE,
 * TRUNCATE), a hash chain that exposes edits and removals, and no fork when two relays append
 * at once on one PostgreSQL database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openDatabase, type Database } from '../src/db/open.js';
import { AuditLog, canonicalJson } from '../src/audit/audit-log.js';
import { createPgDatabase, tempDir } from './harness.js';

async function chainChecks(db: Database): Promise<void> {
  const a = new AuditLog(db.prisma);
  for (let i = 0; i < 5; i++) void a.record({ actor: 'user:alice', action: 'test.event', target: `t${i}`, ip: '127.0.0.1', details: { i, nested: { b: 1, a: [1, 'x'] } } });
  await a.flush();
  assert.deepEqual(await a.verify(), { ok: true, entries: 5 });
  await assert.rejects(db.prisma.auditEvent.updateMany({ data: { actor: 'user:mallory' } }), /append-only/);
  await assert.rejects(db.prisma.auditEvent.deleteMany({ where: { seq: 3 } }), /append-only/);
  await assert.rejects(db.prisma.$executeRawUnsafe('TRUNCATE audit_events'), /append-only/);
  // Someone with table-owner rights switches the trigger off and edits an entry: verify finds it.
  await db.prisma.$executeRawUnsafe('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
  await db.prisma.$executeRawUnsafe(`UPDATE audit_events SET target = 'innocent' WHERE seq = 3`);
  const edited = await a.verify();
  assert.equal(edited.ok, false);
  assert.equal(edited.brokenAt, 3);
  assert.match(edited.problem!, /altered/);
  await db.prisma.$executeRawUnsafe(`UPDATE audit_events SET target = 't2' WHERE seq = 3`);
  assert.equal((await a.verify()).ok, true, 'restoring the original contents restores the chain');
  await db.prisma.$executeRawUnsafe('DELETE FROM audit_events WHERE seq = 2');
  const removed = await a.verify();
  assert.equal(removed.ok, false);
  assert.equal(removed.brokenAt, 3);
  assert.match(removed.problem!, /removed/);
}

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
});

test('embedded (PGlite): append-only, hash chain detects edits and removals', async () => {
  const dir = tempDir('auditdb');
  const db = await openDatabase({ dataDir: dir });
  try {
    await chainChecks(db);
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: two relays appending at once keep one unbroken chain', async () => {
  const pg = await createPgDatabase();
  const [x, y] = [await openDatabase({ dataDir: tempDir('ax'), databaseUrl: pg.url }), await openDatabase({ dataDir: tempDir('ay'), databaseUrl: pg.url })];
  try {
    const ax = new AuditLog(x.prisma);
    const ay = new AuditLog(y.prisma);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? ax : ay).record({ actor: `relay:${i % 2}`, action: 'test.concurrent', details: { i } })));
    await Promise.all([ax.flush(), ay.flush()]);
    assert.deepEqual(await ax.verify(), { ok: true, entries: 40 });
    await chainChecksOn(x);
  } finally {
    await x.close();
    await y.close();
    await pg.drop();
  }
});

/** The tamper checks on a database that already holds entries. */
async function chainChecksOn(db: Database): Promise<void> {
  await assert.rejects(db.prisma.auditEvent.deleteMany({}), /append-only/);
}
