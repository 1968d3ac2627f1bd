/**
 * Every model round-trips on a freshly migrated database, embedded and PostgreSQL, so the
 * Prisma schema and the hand-written SQL migrations cannot drift apart unnoticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openDatabase, type Database } from '../src/db/open.js';
import { DataDirBusyError } from '../src/db/data-dir-lock.js';
import { createPgDatabase, tempDir } from './harness.js';

async function roundTripAll(db: Database): Promise<void> {
  const p = db.prisma;
  const now = new Date('2026-01-02T03:04:05.678Z');
  const setting = await p.setting.create({ data: { key: 'k', value: 'v' } });
  assert.deepEqual(await p.setting.findUniqueOrThrow({ where: { key: 'k' } }), setting);

  const user = await p.user.create({ data: { username: 'u1', passwordHash: 'h', role: 'viewer', disabled: true, mustChangePassword: true, passwordVersion: 3 } });
  assert.deepEqual(await p.user.findUniqueOrThrow({ where: { id: user.id } }), user);

  const token = await p.apiToken.create({ data: { name: 't', role: 'admin', tokenHash: 'th', prefix: 'rxt_abcd', userId: user.id, expiresAt: now, lastUsedAt: now, revokedAt: now } });
  assert.deepEqual(await p.apiToken.findUniqueOrThrow({ where: { tokenHash: 'th' } }), token);

  const agent = await p.agent.create({
    data: { name: 'a1', description: 'd', type: 'linux', hostname: 'h', os: 'Debian', arch: 'x64', shell: '/bin/zsh', tags: ['prod', 'eu'], version: '1', credentialHash: 'ch', status: 'online', connectedAt: now, lastSeenAt: now },
  });
  assert.deepEqual(await p.agent.findUniqueOrThrow({ where: { name: 'a1' } }), agent);
  assert.equal((await p.agent.findMany({ where: { tags: { has: 'eu' } } })).length, 1);

  const session = await p.terminalSession.create({ data: { id: 's1', agentId: agent.id, openedBy: 'user:u1', cols: 80, rows: 24, endedAt: now, exitCode: 0, endReason: 'exited' } });
  assert.deepEqual(await p.terminalSession.findUniqueOrThrow({ where: { id: 's1' } }), session);

  const exec = await p.execRecord.create({ data: { id: 'e1', agentId: agent.id, requestedBy: 'token:t', command: 'uname -a', finishedAt: now, exitCode: 3, signal: 'SIGTERM', timedOut: true, durationMs: 12, error: 'x' } });
  assert.deepEqual(await p.execRecord.findUniqueOrThrow({ where: { id: 'e1' } }), exec);

  // Unique constraints and cascades exist in the SQL as the schema says.
  await assert.rejects(p.agent.create({ data: { name: 'a1', credentialHash: 'other' } }), /Unique constraint/i);
  await p.agent.delete({ where: { id: agent.id } });
  assert.equal(await p.terminalSession.count(), 0, 'sessions cascade with their agent');
  assert.equal(await p.execRecord.count(), 0, 'exec records cascade with their agent');
}

test('embedded (PGlite): migrate, round-trip every model, reopen applies nothing', async () => {
  const dir = tempDir('dbtest');
  try {
    const db = await openDatabase({ dataDir: dir });
    assert.deepEqual(db.applied, ['0001_init']);
    await roundTripAll(db);
    // A second opener of the same data dir is refused while the first holds it.
    await assert.rejects(openDatabase({ dataDir: dir }), (err) => err instanceof DataDirBusyError);
    await db.close();
    const again = await openDatabase({ dataDir: dir });
    assert.deepEqual(again.applied, []);
    await again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: migrate, round-trip every model, concurrent opens migrate once', async () => {
  const pg = await createPgDatabase();
  try {
    const [a, b] = await Promise.all([openDatabase({ dataDir: tempDir('x'), databaseUrl: pg.url }), openDatabase({ dataDir: tempDir('y'), databaseUrl: pg.url })]);
    assert.deepEqual([...a.applied, ...b.applied], ['0001_init'], 'exactly one of two concurrent relays applies the migration');
    await roundTripAll(a);
    await a.close();
    await b.close();
  } finally {
    await pg.drop();
  }
});
