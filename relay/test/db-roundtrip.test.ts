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

  const user = await p.user.create({
    data: { username: 'u1', passwordHash: 'h', role: 'viewer', disabled: true, mustChangePassword: true, passwordVersion: 3, agentTags: ['staging'], failedLogins: 2, lockedUntil: now, lastLoginAt: now },
  });
  assert.deepEqual(await p.user.findUniqueOrThrow({ where: { id: user.id } }), user);

  const token = await p.apiToken.create({ data: { name: 't', role: 'admin', tokenHash: 'th', prefix: 'rxt_abcd', agentTags: ['a', 'b'], userId: user.id, expiresAt: now, lastUsedAt: now, revokedAt: now } });
  assert.deepEqual(await p.apiToken.findUniqueOrThrow({ where: { tokenHash: 'th' } }), token);

  const agent = await p.agent.create({
    data: { name: 'a1', description: 'd', type: 'linux', hostname: 'h', os: 'Debian', arch: 'x64', shell: '/bin/zsh', tags: ['prod', 'eu'], version: '1', credentialHash: 'ch', status: 'online', connectedAt: now, lastSeenAt: now },
  });
  assert.deepEqual(await p.agent.findUniqueOrThrow({ where: { name: 'a1' } }), agent);
  assert.equal((await p.agent.findMany({ where: { tags: { has: 'eu' } } })).length, 1);

  const session = await p.terminalSession.create({ data: { id: 's1', agentId: agent.id, openedBy: 'user:u1', cols: 80, rows: 24, endedAt: now, exitCode: 0, endReason: 'exited' } });
  assert.deepEqual(await p.terminalSession.findUniqueOrThrow({ where: { id: 's1' } }), session);
  const share = await p.terminalShare.create({ data: { id: 'sh1', sessionId: 's1', tokenHash: 'shh', prefix: 'rxs_abcd', label: 'pairing', mode: 'ro', createdBy: 'user:u1', expiresAt: now, revokedAt: now, lastUsedAt: now } });
  assert.deepEqual(await p.terminalShare.findUniqueOrThrow({ where: { tokenHash: 'shh' } }), share);
  await assert.rejects(p.terminalShare.create({ data: { id: 'sh2', sessionId: 's1', tokenHash: 'shh', prefix: 'x', mode: 'rw', createdBy: 'u', expiresAt: now } }), /Unique constraint/i, 'token hashes are unique');

  const exec = await p.execRecord.create({ data: { id: 'e1', agentId: agent.id, requestedBy: 'token:t', command: 'uname -a', finishedAt: now, exitCode: 3, signal: 'SIGTERM', timedOut: true, durationMs: 12, error: 'x' } });
  assert.deepEqual(await p.execRecord.findUniqueOrThrow({ where: { id: 'e1' } }), exec);

  const profile = await p.agentProfile.create({
    data: { name: 'P', slug: 'p', agentType: 'custom', invocationTemplate: 'echo "$PROMPT"', defaultTimeout: 1.5, maxTimeout: 10, shell: '/bin/sh', env: [{ name: 'A', secret: true, value: 'v1:x' }], enabled: false, icon: 'i', pty: true, builtIn: true },
  });
  assert.deepEqual(await p.agentProfile.findUniqueOrThrow({ where: { slug: 'p' } }), profile);
  const prompt = await p.prompt.create({
    data: { name: 'pr', content: '@notes.md', type: 'file-reference', agentProfileId: profile.id, workingDirectory: '/srv', timeout: 2.5, tags: ['x', 'y'], variables: [{ name: 'M', default: 'd' }] },
  });
  assert.deepEqual(await p.prompt.findUniqueOrThrow({ where: { id: prompt.id } }), prompt);
  const run = await p.run.create({
    data: {
      id: 'r1', promptId: prompt.id, scheduleId: 'sch', agentProfileId: profile.id, agentId: agent.id, agentName: 'a1', promptContent: 'hi', workingDirectory: '/srv', command: "echo 'hi'",
      pty: true, timeoutMinutes: 3, launchSpec: 'v1:abc', pid: 42, status: 'completed', statusReason: 'r', exitCode: 0, signal: 'SIGKILL', stdout: 'o', stderr: 'e', rawOutput: 'oe',
      outputBytes: 2, truncated: true, startedAt: now, finishedAt: now, durationSeconds: 1.25, triggeredBy: 'schedule', requestedBy: 'user:u1', resourceUsage: { peakRssBytes: 1, cpuUserMs: 2, cpuSystemMs: 3 },
    },
  });
  assert.deepEqual(await p.run.findUniqueOrThrow({ where: { id: 'r1' } }), run);
  const chunk = await p.runOutputChunk.create({ data: { runId: 'r1', offset: 0, stream: 'stderr', data: new Uint8Array([0, 1, 255]) } });
  assert.deepEqual(await p.runOutputChunk.findUniqueOrThrow({ where: { runId_offset: { runId: 'r1', offset: 0 } } }), chunk);
  await assert.rejects(p.agentProfile.create({ data: { name: 'Q', slug: 'p', agentType: 'custom', invocationTemplate: 'x', defaultTimeout: 1, maxTimeout: 1 } }), /Unique constraint/i);

  // Schedules, their fire claims, webhooks and deliveries, run usage (0003_schedules).
  const schedule = await p.schedule.create({
    data: {
      name: 'nightly', description: 'd', promptId: prompt.id, agentProfileId: profile.id, agentId: agent.id, agentTag: 'eu', workingDirectory: '/srv', timeout: 4.5, variables: { M: 'x' },
      cronExpression: '30 2 * * *', timezone: 'America/New_York', enabled: false, overlapPolicy: 'queue', missedPolicy: 'run_once', checkedUntil: now, lastFireTime: now, lastRunId: 'r1', createdBy: 'user:u1',
    },
  });
  assert.deepEqual(await p.schedule.findUniqueOrThrow({ where: { name: 'nightly' } }), schedule);
  const fire = await p.scheduleFire.create({ data: { scheduleId: schedule.id, fireTime: now, trigger: 'catch_up', status: 'fired', reason: 'why', runIds: ['r1', 'r2'], relay: 'host:1' } });
  assert.deepEqual(await p.scheduleFire.findUniqueOrThrow({ where: { scheduleId_fireTime: { scheduleId: schedule.id, fireTime: now } } }), fire);
  await assert.rejects(p.scheduleFire.create({ data: { scheduleId: schedule.id, fireTime: now, status: 'skipped' } }), /Unique constraint/i, 'one claim per (schedule, fire time)');
  const hook = await p.webhook.create({ data: { name: 'w', url: 'http://127.0.0.1:1/x', secret: 'v1:s', scheduleId: schedule.id, events: ['run.failed'], enabled: false, createdBy: 'user:u1' } });
  assert.deepEqual(await p.webhook.findUniqueOrThrow({ where: { id: hook.id } }), hook);
  const delivery = await p.webhookDelivery.create({
    data: { webhookId: hook.id, event: 'run.failed', runId: 'r1', payload: '{}', status: 'failed', attempts: 3, nextAttemptAt: now, lastAttemptAt: now, responseStatus: 500, error: 'e', deliveredAt: now },
  });
  assert.deepEqual(await p.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } }), delivery);
  await assert.rejects(p.webhookDelivery.create({ data: { webhookId: hook.id, event: 'run.failed', runId: 'r1', payload: '{}' } }), /Unique constraint/i, 'one delivery per (webhook, run, event)');
  const usage = await p.runUsage.create({ data: { runId: 'r1', parser: 'claude-code', inputTokens: 10, outputTokens: 20, cacheReadTokens: 30, cacheWriteTokens: 40, totalTokens: 100, costUsd: 0.125 } });
  assert.deepEqual(await p.runUsage.findUniqueOrThrow({ where: { runId: 'r1' } }), usage);
  await p.agentProfile.delete({ where: { id: profile.id } });
  assert.equal((await p.prompt.findUniqueOrThrow({ where: { id: prompt.id } })).agentProfileId, null, 'prompts keep living when their profile goes');
  assert.equal((await p.run.findUniqueOrThrow({ where: { id: 'r1' } })).agentProfileId, null, 'run history outlives its profile');
  assert.equal((await p.schedule.findUniqueOrThrow({ where: { id: schedule.id } })).agentProfileId, null, 'schedules keep living when their profile goes');
  await p.prompt.delete({ where: { id: prompt.id } });
  assert.equal((await p.run.findUniqueOrThrow({ where: { id: 'r1' } })).promptId, null, 'run history outlives its prompt');
  assert.equal((await p.schedule.findUniqueOrThrow({ where: { id: schedule.id } })).promptId, null, 'a schedule outlives its prompt (its fires then fail visibly)');
  await p.run.delete({ where: { id: 'r1' } });
  assert.equal(await p.runOutputChunk.count(), 0, 'output chunks cascade with their run');
  assert.equal(await p.runUsage.count(), 0, 'usage cascades with its run');
  await p.schedule.delete({ where: { id: schedule.id } });
  assert.equal(await p.scheduleFire.count(), 0, 'fires cascade with their schedule');
  assert.equal(await p.webhook.count(), 0, "a schedule's webhooks go with it");
  assert.equal(await p.webhookDelivery.count(), 0, 'deliveries cascade with their webhook');

  const audit = await p.auditEvent.create({ data: { at: now, actor: 'user:u1', action: 'auth.login', target: 'u1', ip: '::1', details: { a: 1 }, prevHash: 'p', hash: 'h1' } });
  assert.deepEqual(await p.auditEvent.findUniqueOrThrow({ where: { seq: audit.seq } }), audit);

  const enrol = await p.enrollmentToken.create({ data: { tokenHash: 'eh', createdBy: 'user:u1', tags: ['x'], expiresAt: now, usedAt: now, agentId: 'a' } });
  assert.deepEqual(await p.enrollmentToken.findUniqueOrThrow({ where: { tokenHash: 'eh' } }), enrol);

  // Unique constraints and cascades exist in the SQL as the schema says.
  await assert.rejects(p.agent.create({ data: { name: 'a1', credentialHash: 'other' } }), /Unique constraint/i);
  await p.agent.delete({ where: { id: agent.id } });
  assert.equal(await p.terminalSession.count(), 0, 'sessions cascade with their agent');
  assert.equal(await p.terminalShare.count(), 0, 'share links cascade with their session');
  assert.equal(await p.execRecord.count(), 0, 'exec records cascade with their agent');
}

test('embedded (PGlite): migrate, round-trip every model, reopen applies nothing', async () => {
  const dir = tempDir('dbtest');
  try {
    const db = await openDatabase({ dataDir: dir });
    assert.deepEqual(db.applied, ['0001_init', '0002_runner', '0003_schedules', '0004_security', '0005_enrollment', '0006_shares']);
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
    assert.deepEqual([...a.applied, ...b.applied], ['0001_init', '0002_runner', '0003_schedules', '0004_security', '0005_enrollment', '0006_shares'], 'exactly one of two concurrent relays applies the migration');
    await roundTripAll(a);
    await a.close();
    await b.close();
  } finally {
    await pg.drop();
  }
});

test('the embedded database runs with the configured shared_buffers and refuses a size it cannot parse', { timeout: 120_000 }, async () => {
  const dir = tempDir('rexec-db-buffers-');
  try {
    const db = await openDatabase({ dataDir: dir, sharedBuffers: '24MB' });
    try {
      const rows = await db.prisma.$queryRawUnsafe<{ shared_buffers: string }[]>('SHOW shared_buffers');
      assert.equal(rows[0]?.shared_buffers, '24MB');
    } finally {
      await db.close();
    }
    await assert.rejects(openDatabase({ dataDir: dir, sharedBuffers: '24 MB; drop' }), /not a size/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
