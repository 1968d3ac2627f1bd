/** Runs: records on disk, orphans of an earlier agent process, shutdown, how many runs are held. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runStartSchema } from '@rexec/shared';
import { FlowGate } from '../src/flow.js';
import { readProcStat } from '../src/procfs.js';
import { RunManager } from '../src/runs/run-manager.js';
import { readRunRecords, writeRunRecord } from '../src/runs/run-records.js';
import { RecordingSink, sleep, tempDir, waitFor } from './helpers.js';
import { groupGone, groupMembers, LIMIT, runSetup } from './runs-fixture.js';

/** A detached `sh -c 'sleep 100 & sleep 100'` (its own process group), killed after the test. */
function sleeper(t: { after(fn: () => unknown): void }): number {
  const c = spawn('sh', ['-c', 'sleep 100 & sleep 100'], { detached: true, stdio: 'ignore' });
  t.after(() => {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  return c.pid!;
}

/** A pid that no process has now. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

test('a running run has a 0600 record; it is removed when the run ends', LIMIT, async (t) => {
  const { recordsDir, start, started } = runSetup(t);
  const r = start({ command: 'sleep 0.5' });
  await waitFor(() => started(r.id), 'run_started');
  const path = join(recordsDir, `${r.id}.json`);
  const rec = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(rec.runId, r.id);
  assert.equal(rec.pid, started(r.id)!.pid);
  assert.equal(rec.agentPid, process.pid);
  assert.equal(rec.killGraceMs, 1000);
  assert.ok(Date.parse(rec.startedAt) > 0, 'Date.parse(rec.startedAt) > 0');
  if (readProcStat(process.pid)) assert.equal(rec.startTime, readProcStat(rec.pid)?.startTime);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await r.result;
  assert.equal(existsSync(path), false);
});

test('orphans: a record left by a dead agent for a live group -> the group is killed, the run listed as orphaned until forgotten', LIMIT, async (t) => {
  const dir = tempDir(t);
  const recordsDir = join(dir, 'agent.runs');
  const pgid = sleeper(t);
  await waitFor(() => groupMembers(pgid).length === 3, 'sh and two sleeps');
  const base = { agentPid: deadPid(), agentStartTime: 1, startedAt: new Date().toISOString(), killGraceMs: 500 };
  writeRunRecord(recordsDir, { ...base, runId: 'orph1', pid: pgid, startTime: readProcStat(pgid)?.startTime ?? null });
  const gonePid = deadPid();
  writeRunRecord(recordsDir, { ...base, runId: 'gone1', pid: gonePid, startTime: null });
  writeFileSync(join(recordsDir, 'junk.json'), '{not json');
  writeFileSync(join(recordsDir, '.orph2.json.123.abcd.tmp'), '');

  let log = '';
  const logger = { error: () => {}, debug: () => {}, info: (m: string) => void (log += `${m}\n`), warn: (m: string) => void (log += `${m}\n`) };
  const { manager, sink } = runSetup(t, { recordsDir, logger });
  await manager.ready;
  await groupGone(pgid);
  assert.match(log, /orphaned run of an earlier agent process: killing its process group/);
  assert.match(log, /orphaned run of an earlier agent process: its processes are gone/);
  assert.match(log, /unreadable run record removed/);
  assert.deepEqual(readdirSync(recordsDir).sort(), ['gone1.json', 'orph1.json']);
  assert.deepEqual(
    manager.list().sort((a, b) => a.runId.localeCompare(b.runId)),
    [
      { runId: 'gone1', state: 'orphaned', pid: gonePid, outputBytes: 0 },
      { runId: 'orph1', state: 'orphaned', pid: pgid, outputBytes: 0 },
    ],
  );

  // The relay marks it lost; attach is answered not_found, kill and ack are no-ops, the id is taken.
  manager.handle({ type: 'run_attach', runId: 'orph1', offset: 0 });
  manager.handle({ type: 'run_kill', runId: 'orph1' });
  manager.handle({ type: 'run_ack', runId: 'orph1', offset: 0 });
  assert.equal(manager.start(runStartSchema.parse({ type: 'run_start', runId: 'orph1', command: 'true', env: {}, timeoutMs: 1000, maxOutputBytes: 100 })), null);
  assert.deepEqual(
    sink.of('error').map((e) => [e.code, e.ref]),
    [
      ['not_found', 'run_attach'],
      ['conflict', 'run_start'],
    ],
  );
  assert.match(sink.of('error')[0]!.message, /left behind by an earlier agent process/);

  manager.handle({ type: 'run_forget', runId: 'orph1' });
  manager.handle({ type: 'run_forget', runId: 'gone1' });
  assert.deepEqual(manager.list(), []);
  assert.deepEqual(readdirSync(recordsDir), []);
});

test('orphans: a record of another live agent process is left alone', LIMIT, async (t) => {
  const dir = tempDir(t);
  const recordsDir = join(dir, 'agent.runs');
  const agentPid = sleeper(t);
  const runPgid = sleeper(t);
  const st = readProcStat(agentPid);
  if (!st) return t.skip('no /proc');
  writeRunRecord(recordsDir, {
    runId: 'theirs',
    pid: runPgid,
    startTime: readProcStat(runPgid)!.startTime,
    agentPid,
    agentStartTime: st.startTime,
    startedAt: new Date().toISOString(),
    killGraceMs: 500,
  });
  const { manager } = runSetup(t, { recordsDir });
  await manager.ready;
  assert.deepEqual(manager.list(), []);
  assert.ok(groupMembers(runPgid).length > 0, 'the other agent\'s run was not touched');
  assert.deepEqual(readRunRecords(recordsDir).records.map((r) => r.runId), ['theirs']);
});

test('an agent that died without cleaning up: the next one kills its runs from the records', LIMIT, async (t) => {
  const { recordsDir, start, started, manager: first } = runSetup(t);
  const r = start({ command: 'sleep 100 & sleep 100', killGraceMs: 500 });
  await waitFor(() => started(r.id), 'run_started');
  const pgid = started(r.id)!.pid;
  // A new manager on the same records, as after a crash and restart (same pid, as in a container).
  const sink = new RecordingSink();
  const gate = new FlowGate({ bufferedAmount: () => 0 });
  const second = new RunManager({ sink, gate, shell: '/bin/sh', allowedRoots: ['/tmp'], recordsDir });
  t.after(() => second.stopAll());
  await second.ready;
  await groupGone(pgid);
  assert.deepEqual(second.list(), [{ runId: r.id, state: 'orphaned', pid: pgid, outputBytes: 0 }]);
  // (The first manager sees its run end: the process group was killed under it.)
  assert.equal((await r.result).status, 'failed');
  void first;
});

test('stopAll kills every running run\'s group and removes the records', LIMIT, async (t) => {
  const { recordsDir, start, started, manager } = runSetup(t, { stopGraceMs: 300 });
  const a = start({ command: 'sleep 100 & sleep 100', killGraceMs: 60_000 });
  const b = start({ command: "trap '' TERM; sleep 100", killGraceMs: 60_000 });
  await waitFor(() => started(a.id) && started(b.id), 'both started');
  assert.equal(readdirSync(recordsDir).length, 2);
  const t0 = Date.now();
  await manager.stopAll();
  assert.ok(Date.now() - t0 < 3000, 'the shutdown grace caps the runs\' own');
  await groupGone(started(a.id)!.pid);
  await groupGone(started(b.id)!.pid);
  assert.deepEqual(readdirSync(recordsDir), []);
  assert.deepEqual(manager.list(), []);
});

test('held runs are bounded: oldest finished dropped first; finished runs expire', LIMIT, async (t) => {
  const { manager, start } = runSetup(t, { maxHeldRuns: 3, maxRuns: 3 });
  const running = start({ command: 'sleep 100' });
  for (let i = 0; i < 3; i++) await start({ command: 'true' }).result;
  assert.deepEqual(
    manager.list().map((r) => [r.runId, r.state]),
    [
      ['r1', 'running'],
      ['r3', 'finished'],
      ['r4', 'finished'],
    ],
  );
  manager.handle({ type: 'run_kill', runId: running.id });
  await running.result;

  const { manager: m2, start: start2 } = runSetup(t, { finishedTtlMs: 50 });
  await start2({ command: 'true' }).result;
  assert.equal(m2.list().length, 1);
  await sleep(80);
  assert.deepEqual(m2.list(), []);
});
