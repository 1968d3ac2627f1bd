/**
 * The scheduler in-process against a real PostgreSQL database, driven by a FakeClock (no test
 * waits on wall time): exactly one fire and one run per fire time with two schedulers (two
 * relays) ticking concurrently, the overlap policies (skip, queue), the missed-run policies
 * (skip, run_once), hot reload of edits and toggles, DST days in America/New_York, conflict
 * warnings. No agent is connected, so the runs it creates stay queued (an active run).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../src/db/open.js';
import { AgentHub } from '../src/hub/agent-hub.js';
import { RunEngine, RUN_ENGINE_DEFAULTS } from '../src/runs/run-engine.js';
import { SecretBox } from '../src/auth/secret-box.js';
import { FakeClock } from '../src/schedules/clock.js';
import { Scheduler } from '../src/schedules/scheduler.js';
import { findConflicts } from '../src/schedules/conflicts.js';
import { claimFire } from '../src/schedules/fire.js';
import { createPgDatabase, tempDir } from './harness.js';

const T0 = Date.parse('2026-01-05T10:00:30Z');
const MIN = 60_000;

describe('scheduler (in-process, PostgreSQL, fake clock)', () => {
  let pg: Awaited<ReturnType<typeof createPgDatabase>>;
  let db: Database;
  let engine: RunEngine;
  let box: SecretBox;
  let clock: FakeClock;
  let agentId: string;
  let promptId: string;
  let n = 0;

  const newScheduler = (opts: Partial<{ tickMs: number; missedGraceMs: number }> = {}) => new Scheduler(db.prisma, box, engine, clock, { tickMs: 1000, missedGraceMs: 60_000, ...opts });
  const mkSchedule = async (fields: Record<string, unknown> = {}) =>
    db.prisma.schedule.create({
      data: { name: `s${++n}`, promptId, agentId, cronExpression: '* * * * *', timezone: 'UTC', checkedUntil: new Date(clock.now()), createdBy: 'test', ...fields },
    });
  const fires = (scheduleId: string) => db.prisma.scheduleFire.findMany({ where: { scheduleId }, orderBy: { fireTime: 'asc' } });
  const runsOf = (scheduleId: string) => db.prisma.run.findMany({ where: { scheduleId }, orderBy: { createdAt: 'asc' } });
  const killAll = async (scheduleId: string) => {
    for (const r of await runsOf(scheduleId)) if (r.status === 'queued') await engine.kill(r.id);
  };

  before(async () => {
    pg = await createPgDatabase();
    db = await openDatabase({ dataDir: tempDir('sched'), databaseUrl: pg.url });
    box = new SecretBox(randomBytes(32));
    const hub = new AgentHub(db.prisma, { heartbeatIntervalMs: 1000, deadLinkTimeoutMs: 5000, helloTimeoutMs: 5000 });
    engine = new RunEngine(db.prisma, hub, box, RUN_ENGINE_DEFAULTS);
    const agent = await db.prisma.agent.create({ data: { name: 'box-1', credentialHash: 'x', tags: ['nightly'] } });
    await db.prisma.agent.create({ data: { name: 'box-2', credentialHash: 'y', tags: ['nightly'], status: 'online' } });
    agentId = agent.id;
    const profile = await db.prisma.agentProfile.create({ data: { name: 'Shell', slug: 'shell', agentType: 'custom', invocationTemplate: 'cd "$WORKING_DIR" && sh -c "$PROMPT"', defaultTimeout: 1, maxTimeout: 5 } });
    promptId = (await db.prisma.prompt.create({ data: { name: 'p', content: 'echo hi', agentProfileId: profile.id, workingDirectory: '/srv/app' } })).id;
  });
  beforeEach(() => {
    clock = new FakeClock(T0);
  });
  after(async () => {
    await engine?.stop();
    await db?.close();
    await pg?.drop();
  });

  test('two schedulers (two relays) ticking at once fire each fire time exactly once', async () => {
    const s = await mkSchedule({ overlapPolicy: 'queue' });
    const a = newScheduler();
    const b = newScheduler();
    for (let i = 0; i < 5; i++) {
      clock.advance(MIN);
      await Promise.all([a.tick(), b.tick(), a.tick()]);
      await killAll(s.id); // each run ends before the next minute, so every fire can run
    }
    const f = await fires(s.id);
    assert.deepEqual(f.map((x) => new Date(x.fireTime).toISOString()), ['10:01', '10:02', '10:03', '10:04', '10:05'].map((hm) => `2026-01-05T${hm}:00.000Z`));
    assert.ok(f.every((x) => x.status === 'fired' && x.runIds.length === 1), JSON.stringify(f));
    const runs = await runsOf(s.id);
    assert.equal(runs.length, 5, 'one run per fire time');
    assert.deepEqual(new Set(runs.map((r) => r.id)), new Set(f.flatMap((x) => x.runIds)));
    assert.ok(runs.every((r) => r.triggeredBy === 'schedule' && r.requestedBy === `schedule:${s.name}`), 'scheduled runs say so');
    const row = await db.prisma.schedule.findUniqueOrThrow({ where: { id: s.id } });
    assert.equal(row.lastRunId, runs[4]!.id);
    assert.equal(row.lastFireTime?.toISOString(), '2026-01-05T10:05:00.000Z');
    // A lost race is a no-op, not an error.
    const again = await claimFire({ prisma: db.prisma, box, engine, relayId: 'x' }, s.id, Date.parse('2026-01-05T10:03:00Z'), { trigger: 'cron' });
    assert.equal(again.status, 'taken');
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
  });

  test('overlap policy skip: a fire while the previous run is active is skipped and logged', async () => {
    const s = await mkSchedule();
    const sch = newScheduler();
    clock.advance(MIN);
    await sch.tick();
    clock.advance(MIN);
    await sch.tick();
    let f = await fires(s.id);
    assert.deepEqual(f.map((x) => x.status), ['fired', 'skipped']);
    assert.match(f[1]!.reason!, /previous run \w+ is still queued/);
    await killAll(s.id);
    clock.advance(MIN);
    await sch.tick();
    f = await fires(s.id);
    assert.deepEqual(f.map((x) => x.status), ['fired', 'skipped', 'fired']);
    assert.equal((await runsOf(s.id)).length, 2);
    await killAll(s.id);
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
  });

  test('overlap policy queue: one fire waits for the previous run and starts when it ends; more are skipped', async () => {
    const s = await mkSchedule({ overlapPolicy: 'queue' });
    const sch = newScheduler();
    for (let i = 0; i < 3; i++) {
      clock.advance(MIN);
      await sch.tick();
    }
    let f = await fires(s.id);
    assert.deepEqual(f.map((x) => x.status), ['fired', 'queued', 'skipped']);
    assert.match(f[2]!.reason!, /another fire already waits/);
    assert.equal((await runsOf(s.id)).length, 1);
    await killAll(s.id); // the previous run ends ...
    await sch.tick(); // ... and the waiting fire starts, without waiting for the next fire time
    f = await fires(s.id);
    assert.deepEqual(f.map((x) => x.status), ['fired', 'fired', 'skipped']);
    assert.match(f[1]!.reason!, /overlap policy queue/);
    const runs = await runsOf(s.id);
    assert.equal(runs.length, 2);
    assert.deepEqual(f[1]!.runIds, [runs[1]!.id]);
    // A fire due now waits behind it.
    clock.advance(MIN);
    await sch.tick();
    assert.equal((await fires(s.id)).at(-1)!.status, 'queued');
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
    await killAll(s.id);
    await sch.tick();
    assert.equal((await fires(s.id)).at(-1)!.status, 'skipped', 'a waiting fire of a disabled schedule is dropped');
  });

  test('missed runs (policy skip): fire times while no relay ran are recorded and logged, not run', async () => {
    const s = await mkSchedule();
    clock.advance(10 * MIN + 20_000); // "down" from 10:00:30 to 10:10:50
    const report = await newScheduler().tick();
    const f = await fires(s.id);
    // 10:01 .. 10:09 are older than the 60 s grace: missed. 10:10 is 50 s late: still fires.
    assert.deepEqual(f.map((x) => `${x.fireTime.toISOString().slice(11, 16)} ${x.status}`), [...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((m) => `10:0${m} missed`), '10:10 fired']);
    assert.deepEqual(report.missed, [{ scheduleId: s.id, count: 9, truncated: false }]);
    assert.equal((await runsOf(s.id)).length, 1);
    await killAll(s.id);
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
  });

  test('missed runs (policy run_once): the latest missed fire time runs once on start', async () => {
    const s = await mkSchedule({ missedPolicy: 'run_once', cronExpression: '*/5 * * * *' });
    clock.advance(27 * MIN); // 10:27:30: 10:05 .. 10:25 missed, nothing on time
    await newScheduler().tick();
    const f = await fires(s.id);
    assert.deepEqual(f.map((x) => `${x.fireTime.toISOString().slice(11, 16)} ${x.status} ${x.trigger}`), ['10:05 missed cron', '10:10 missed cron', '10:15 missed cron', '10:20 missed cron', '10:25 fired catch_up']);
    assert.equal((await runsOf(s.id)).length, 1, 'one catch-up run, not five');
    await killAll(s.id);
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
  });

  test('hot reload: edits, toggles and deletes take effect on the next tick, without a restart', async () => {
    const s = await mkSchedule({ cronExpression: '0 * * * *' });
    const sch = newScheduler();
    await sch.tick();
    assert.equal(new Date(sch.nextRunTime(await db.prisma.schedule.findUniqueOrThrow({ where: { id: s.id } }))!).toISOString(), '2026-01-05T11:00:00.000Z');
    // Edited to every minute (as PUT /api/schedules does: a new expression restarts the count from now).
    await db.prisma.schedule.update({ where: { id: s.id }, data: { cronExpression: '* * * * *', checkedUntil: new Date(clock.now()) } });
    clock.advance(MIN);
    await sch.tick();
    assert.equal((await fires(s.id)).length, 1);
    await killAll(s.id);
    // Disabled: nothing fires. Enabled again: counting restarts, the disabled minutes are not "missed".
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
    clock.advance(5 * MIN);
    await sch.tick();
    assert.equal((await fires(s.id)).length, 1);
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: true, checkedUntil: new Date(clock.now()) } });
    clock.advance(MIN);
    await sch.tick();
    assert.deepEqual((await fires(s.id)).map((x) => x.status), ['fired', 'fired']);
    await killAll(s.id);
    await db.prisma.schedule.delete({ where: { id: s.id } });
    clock.advance(MIN);
    await sch.tick();
    assert.equal((await runsOf(s.id)).length, 2, 'a deleted schedule fires no more');
  });

  test('tag selector: one run per online agent with the tag; offline ones are named', async () => {
    const s = await mkSchedule({ agentId: null, agentTag: 'nightly' });
    clock.advance(MIN);
    await newScheduler().tick();
    const [f] = await fires(s.id);
    assert.equal(f!.status, 'fired');
    assert.equal(f!.runIds.length, 1);
    assert.match(f!.reason!, /not on box-1: offline/);
    const runs = await runsOf(s.id);
    assert.equal(runs[0]!.agentName, 'box-2');
    await killAll(s.id);
    await db.prisma.schedule.update({ where: { id: s.id }, data: { agentTag: 'nobody' } });
    clock.advance(MIN);
    await newScheduler().tick();
    assert.deepEqual((await fires(s.id)).map((x) => `${x.status}: ${x.reason}`).slice(-1), ['error: no agent has tag "nobody"']);
    await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
  });

  for (const [name, expr, from, to, expected] of [
    ['spring forward: 02:30 does not exist on 2026-03-08; it fires once at 03:00 EDT', '30 2 * * *', '2026-03-08T04:00:00Z', '2026-03-09T04:00:00Z', ['2026-03-08T07:00:00.000Z fired']],
    ['fall back: 01:30 happens twice on 2026-11-01; it fires once, at the first', '30 1 * * *', '2026-11-01T03:00:00Z', '2026-11-02T03:00:00Z', ['2026-11-01T05:30:00.000Z fired']],
    ['fall back: every 30 minutes follows real time (01:00 and 01:30 twice)', '*/30 * * * *', '2026-11-01T04:50:00Z', '2026-11-01T07:10:00Z', ['05:00 fired', '05:30 skipped', '06:00 skipped', '06:30 skipped', '07:00 skipped'].map((x) => `2026-11-01T${x.slice(0, 5)}:00.000Z${x.slice(5)}`)],
  ] as const) {
    test(`DST in America/New_York, ${name}`, async () => {
      clock.set(from);
      const s = await mkSchedule({ cronExpression: expr, timezone: 'America/New_York' });
      const sch = newScheduler({ missedGraceMs: 15 * MIN });
      while (clock.now() < Date.parse(to)) {
        clock.advance(10 * MIN);
        await sch.tick();
      }
      assert.deepEqual((await fires(s.id)).map((x) => `${x.fireTime.toISOString()} ${x.status}`), expected);
      await killAll(s.id);
      await db.prisma.schedule.update({ where: { id: s.id }, data: { enabled: false } });
    });
  }

  test('conflict detection: two enabled schedules on one agent and directory that can overlap', async () => {
    const a = await mkSchedule({ cronExpression: '0 * * * *', timeout: 20 });
    const b = await mkSchedule({ cronExpression: '15 * * * *', timeout: 5 });
    const c = await mkSchedule({ cronExpression: '30 * * * *', timeout: 5 });
    const d = await mkSchedule({ cronExpression: '5 * * * *', workingDirectory: '/elsewhere' });
    const warnings = await findConflicts(db.prisma, a, clock.now());
    assert.deepEqual(warnings.map((w) => w.name), [b.name], 'b starts while a may still run; c starts after a ends; d works in another directory');
    assert.equal(warnings[0]!.firstOverlapAt, '2026-01-05T11:15:00.000Z');
    assert.match(warnings[0]!.message, /can overlap with schedule .* in \/srv\/app/);
    // Through the tag: box-1 has tag nightly.
    const e = await mkSchedule({ agentId: null, agentTag: 'nightly', cronExpression: '10 * * * *' });
    assert.ok((await findConflicts(db.prisma, e, clock.now())).some((w) => w.name === a.name), 'a tag schedule conflicts with a schedule on an agent that has the tag');
    for (const x of [a, b, c, d, e]) await db.prisma.schedule.update({ where: { id: x.id }, data: { enabled: false } });
  });
});
