/** Runs (protocol v3) on the agent: lifecycle, output, streaming, resume. Real processes. */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FrameKind } from '@rexec/shared';
import { processAlive } from '../src/exec/process-group.js';
import { HAS_PROCFS } from '../src/procfs.js';
import { sleep, waitFor } from './helpers.js';
import { combined, groupGone, groupMembers, LIMIT, runSetup } from './runs-fixture.js';

test('completed: run_started, then output frames, then run_finished; stdout and stderr share one offset space', LIMIT, async (t) => {
  const { sink, start, started, work } = runSetup(t);
  const r = start({ command: 'printf out; printf err >&2' });
  const fin = await r.result;
  assert.equal(fin.status, 'completed');
  assert.equal(fin.exitCode, 0);
  assert.equal(fin.signal, null);
  assert.equal(fin.error, undefined);
  assert.equal(fin.outputBytes, 6);
  assert.equal(fin.truncated, false);
  assert.ok(fin.durationMs >= 0, 'fin.durationMs >= 0');
  if (HAS_PROCFS) assert.ok(fin.resourceUsage, 'resource usage on Linux');
  const s = started(r.id);
  assert.ok(s && s.pid > 0, 's && s.pid > 0');
  assert.equal(s.cwd, work);
  const text = combined(sink.frames, r.id).toString();
  assert.ok(text === 'outerr' || text === 'errout', text);
  const order = sink.order.filter((o) => o.endsWith(r.id) || o.startsWith('json:run_'));
  assert.equal(order[0], 'json:run_started');
  assert.equal(order.at(-1), 'json:run_finished');
  assert.equal(sink.of('run_finished').length, 1);
});

test('failed: exit 3, a shell that cannot find the command (127), a shell that does not exist', LIMIT, async (t) => {
  const { start, started } = runSetup(t);
  const three = await start({ command: 'echo three; exit 3' }).result;
  assert.equal(three.status, 'failed');
  assert.equal(three.exitCode, 3);
  assert.equal(three.error, undefined);

  const missing = await start({ command: 'definitely-not-a-command-xyz' }).result;
  assert.equal(missing.status, 'failed');
  assert.equal(missing.exitCode, 127);

  const noShell = start({ command: 'true', shell: '/nonexistent/sh' });
  const f = await noShell.result;
  assert.equal(f.status, 'failed');
  assert.equal(f.exitCode, null);
  assert.equal(f.error, 'command not found: /nonexistent/sh');
  assert.equal(started(noShell.id), undefined, 'no run_started for a run that never started');
  assert.equal(f.resourceUsage, null);
});

test('failed to start: a working directory that does not exist; no run_started', LIMIT, async (t) => {
  const { sink, start, work } = runSetup(t);
  const r = start({ command: 'true', cwd: 'nope' });
  const f = await r.result;
  assert.equal(f.status, 'failed');
  assert.equal(f.exitCode, null);
  assert.equal(f.error, `working directory ${work}/nope does not exist`);
  assert.equal(sink.of('run_started').length, 0);
  assert.equal(f.outputBytes, 0);
});

test('a process killed by a signal is a failed run', LIMIT, async (t) => {
  const { start } = runSetup(t);
  const f = await start({ command: 'kill -KILL $$' }).result;
  assert.equal(f.status, 'failed');
  assert.equal(f.exitCode, null);
  assert.equal(f.signal, 'SIGKILL');
});

test('run_kill: TERM to the whole group (sh -c "sleep 100 & sleep 100"), status killed, nothing survives', LIMIT, async (t) => {
  const { sink, manager, start, started } = runSetup(t);
  const r = start({ command: 'sleep 100 & echo $!; sleep 100', killGraceMs: 2000 });
  const bg = Number(await waitFor(() => combined(sink.frames, r.id).toString().trim(), 'background pid'));
  const pgid = started(r.id)!.pid;
  const members = groupMembers(pgid);
  assert.ok(members.includes(pgid) && members.includes(bg), `group ${pgid}: ${members.join(' ')}`);
  const t0 = Date.now();
  manager.handle({ type: 'run_kill', runId: r.id });
  const f = await r.result;
  assert.ok(Date.now() - t0 < 1500, `a group that dies of SIGTERM is not waited on for the 2 s grace (${Date.now() - t0} ms)`);
  assert.equal(f.status, 'killed');
  assert.equal(f.signal, 'SIGTERM');
  assert.equal(f.exitCode, null);
  assert.equal(f.error, 'killed on request');
  await groupGone(pgid);
  assert.equal(processAlive(bg), false);
  // Killing a finished run is a no-op, not an error.
  manager.handle({ type: 'run_kill', runId: r.id });
  assert.equal(sink.of('error').length, 0);
});

test('timeout: status timeout, the whole group is gone', LIMIT, async (t) => {
  const { start, started } = runSetup(t);
  const t0 = Date.now();
  const r = start({ command: "sh -c 'sleep 100 & sleep 100'", timeoutMs: 400, killGraceMs: 500 });
  await waitFor(() => started(r.id), 'run_started');
  const pgid = started(r.id)!.pid;
  await waitFor(() => groupMembers(pgid).length >= 3, 'sh, sh and two sleeps');
  const f = await r.result;
  assert.equal(f.status, 'timeout');
  assert.equal(f.error, 'timed out after 400 ms');
  assert.ok(Date.now() - t0 < 5000, 'Date.now() - t0 < 5000');
  await groupGone(pgid);
});

test('a group member that ignores SIGTERM is SIGKILLed after the grace', LIMIT, async (t) => {
  const { sink, start, started } = runSetup(t);
  const r = start({ command: "sh -c 'trap \"\" TERM; echo $$; while :; do sleep 0.05; done' & wait", timeoutMs: 300, killGraceMs: 300 });
  const pid = Number(await waitFor(() => combined(sink.frames, r.id).toString().trim(), 'stubborn pid'));
  const f = await r.result;
  assert.equal(f.status, 'timeout');
  await waitFor(() => !processAlive(pid), 'stubborn child to die', 2000);
  await groupGone(started(r.id)!.pid);
});

test('a run is a unit of work: what it left running after a normal exit is killed', LIMIT, async (t) => {
  const { sink, start, started } = runSetup(t);
  const t0 = Date.now();
  const r = start({ command: 'sleep 100 & echo $!; echo bye', killGraceMs: 500 });
  const f = await r.result;
  assert.equal(f.status, 'completed', 'the status follows the leader');
  assert.equal(f.exitCode, 0);
  assert.ok(Date.now() - t0 < 5000, 'Date.now() - t0 < 5000');
  const bg = Number(combined(sink.frames, r.id).toString().split('\n')[0]);
  await waitFor(() => !processAlive(bg), 'the background sleep to be killed', 2000);
  await groupGone(started(r.id)!.pid);
  // Output a straggler writes before it is killed still counts.
  const late = await start({ command: '(sleep 0.05; echo late) & echo early' }).result;
  assert.equal(late.status, 'completed');
  assert.equal(combined(sink.frames, 'r2').toString(), 'early\nlate\n');
});

test('stdout and stderr interleave in arrival order with combined offsets', LIMIT, async (t) => {
  const { sink, start } = runSetup(t);
  const r = start({ command: 'printf a; sleep 0.1; printf bb >&2; sleep 0.1; printf ccc; sleep 0.1; printf dddd >&2' });
  const f = await r.result;
  assert.equal(f.outputBytes, 10);
  const frames = sink.frames.filter((fr) => fr.id === r.id);
  assert.deepEqual(
    frames.map((fr) => [fr.kind, fr.offset, Buffer.from(fr.payload).toString()]),
    [
      [FrameKind.RunStdout, 0, 'a'],
      [FrameKind.RunStderr, 1, 'bb'],
      [FrameKind.RunStdout, 3, 'ccc'],
      [FrameKind.RunStderr, 6, 'dddd'],
    ],
  );
});

test('output cap: exactly at, one byte over, far over; a multibyte character straddling the cap', LIMIT, async (t) => {
  const { sink, start } = runSetup(t);
  const cases: { command: string; cap: number; kept: string; truncated: boolean }[] = [
    { command: 'printf 0123456789', cap: 10, kept: '0123456789', truncated: false },
    { command: 'printf 0123456789X', cap: 10, kept: '0123456789', truncated: true },
    { command: "printf '123456789\\303\\251'", cap: 10, kept: '123456789', truncated: true }, // é = 2 bytes across the cap
    { command: "printf '12345678\\342\\202\\254'", cap: 10, kept: '12345678', truncated: true }, // € = 3 bytes across the cap
    { command: "printf 12345678; sleep 0.1; printf '\\342\\202\\254'", cap: 10, kept: '12345678', truncated: true }, // in a later chunk
    { command: "printf '1234567\\342\\202\\254'", cap: 10, kept: '1234567€', truncated: false }, // ends exactly at the cap
  ];
  for (const c of cases) {
    const r = start({ command: c.command, maxOutputBytes: c.cap });
    const f = await r.result;
    const kept = combined(sink.frames, r.id);
    assert.equal(kept.toString('utf8'), c.kept, c.command);
    assert.ok(kept.length <= c.cap, 'kept.length <= c.cap');
    assert.equal(Buffer.from(kept.toString('utf8'), 'utf8').equals(kept), true, 'kept output is valid UTF-8');
    assert.equal(f.outputBytes, kept.length, c.command);
    assert.equal(f.truncated, c.truncated, c.command);
  }
  // Far over the cap: the program is not blocked on a full pipe, and later output is dropped too.
  const far = start({ command: 'head -c 3000000 /dev/zero; echo done >&2', maxOutputBytes: 1000 });
  const f = await far.result;
  assert.equal(f.status, 'completed');
  assert.equal(f.truncated, true);
  assert.equal(f.outputBytes, 1000);
  assert.equal(combined(sink.frames, far.id).length, 1000);
});

test('PTY mode: the command sees a terminal of the requested size', LIMIT, async (t) => {
  const { sink, start } = runSetup(t);
  const r = start({ command: '[ -t 1 ] && echo tty; stty size', pty: true, cols: 123, rows: 45 });
  const f = await r.result;
  assert.equal(f.status, 'completed');
  const out = combined(sink.frames, r.id).toString();
  assert.match(out, /^tty\r?\n45 123\r?\n$/);
  assert.ok(sink.frames.filter((fr) => fr.id === r.id).every((fr) => fr.kind === FrameKind.RunStdout), 'sink.frames.filter((fr) => fr.id === r.id).every((fr) => fr.kind === FrameKind.RunStdout)');
  const pipes = await start({ command: '[ -t 1 ] && echo tty' }).result;
  assert.equal(pipes.status, 'failed', 'without pty there is no terminal');
  const noShell = await start({ command: 'true', pty: true, shell: '/nonexistent/sh' }).result;
  assert.equal(noShell.status, 'failed');
  assert.equal(noShell.error, 'command not found: /nonexistent/sh');
  // Far over the cap: the terminal keeps being drained, the program is not blocked.
  const far = start({ command: 'yes | head -c 3000000; echo; echo done', pty: true, maxOutputBytes: 1000 });
  const ff = await far.result;
  assert.equal(ff.status, 'completed');
  assert.equal(ff.truncated, true);
  assert.equal(ff.outputBytes, 1000);
});

test('PTY mode: kill takes the whole session', LIMIT, async (t) => {
  const { sink, manager, start, started } = runSetup(t);
  const r = start({ command: 'sleep 100 & echo started; sleep 100', pty: true, killGraceMs: 500 });
  await waitFor(() => combined(sink.frames, r.id).toString().includes('started'), 'started');
  const pgid = started(r.id)!.pid;
  manager.handle({ type: 'run_kill', runId: r.id });
  const f = await r.result;
  assert.equal(f.status, 'killed');
  await groupGone(pgid);
});

test('detach mid-run: output keeps being buffered; run_attach from an offset delivers exactly the missing bytes, then run_finished', LIMIT, async (t) => {
  const { sink, manager, start, dir } = runSetup(t);
  const go = join(dir, 'go');
  const r = start({ command: `printf 'first\\n'; while [ ! -e '${go}' ]; do sleep 0.02; done; printf 'second\\n'; printf 'third\\n' >&2` });
  await waitFor(() => combined(sink.frames, r.id).toString() === 'first\n', 'first line');
  manager.detachAll();
  const framesBefore = sink.frames.length;
  writeFileSync(go, '');
  await waitFor(() => manager.info(r.id)?.phase === 'finished', 'the run to finish while detached');
  assert.equal(sink.frames.length, framesBefore, 'no frames while detached');
  assert.equal(sink.of('run_finished').length, 0, 'no run_finished while detached');
  assert.deepEqual(manager.list(), [{ runId: r.id, state: 'finished', pid: manager.info(r.id)!.pid, outputBytes: 19 }]);

  // The relay had persisted 3 bytes ("fir") when the link dropped.
  manager.handle({ type: 'run_attach', runId: r.id, offset: 3 });
  const replay = sink.frames.slice(framesBefore).filter((f) => f.id === r.id);
  assert.equal(replay[0]!.offset, 3);
  assert.equal(combined(replay, r.id).toString(), 'st\nsecond\nthird\n');
  assert.deepEqual(
    replay.map((f) => f.kind),
    [FrameKind.RunStdout, FrameKind.RunStderr],
  );
  const fin = sink.of('run_finished');
  assert.equal(fin.length, 1);
  assert.equal(fin[0]!.status, 'completed');
  assert.equal(fin[0]!.outputBytes, 19);
  assert.equal(sink.order.at(-1), 'json:run_finished', 'run_finished comes after the output');

  // Attaching again repeats everything still held and run_finished.
  manager.handle({ type: 'run_attach', runId: r.id, offset: 0 });
  assert.equal(sink.of('run_finished').length, 2);
});

test('run_ack frees held output; a later attach starts at the oldest byte still held', LIMIT, async (t) => {
  const { sink, manager, start } = runSetup(t);
  const r = start({ command: 'head -c 1000 /dev/zero | tr "\\0" a' });
  await r.result;
  assert.equal(manager.info(r.id)!.heldBytes, 1000);
  manager.handle({ type: 'run_ack', runId: r.id, offset: 600 });
  assert.deepEqual({ held: manager.info(r.id)!.heldBytes, start: manager.info(r.id)!.start }, { held: 400, start: 600 });
  manager.handle({ type: 'run_ack', runId: r.id, offset: 100 }); // going back does nothing
  assert.equal(manager.info(r.id)!.heldBytes, 400);
  const before = sink.frames.length;
  manager.handle({ type: 'run_attach', runId: r.id, offset: 0 });
  const replay = sink.frames.slice(before);
  assert.equal(replay[0]!.offset, 600);
  assert.equal(combined(replay, r.id).length, 400);
  manager.handle({ type: 'run_ack', runId: r.id, offset: 5000 });
  assert.equal(manager.info(r.id)!.heldBytes, 0);
  manager.handle({ type: 'run_forget', runId: r.id });
  assert.equal(manager.info(r.id), undefined);
  assert.deepEqual(manager.list(), []);
});

test('while attached the link\'s send buffer pauses output; detached, a run never waits for a relay', LIMIT, async (t) => {
  const { sink, gate, manager, start } = runSetup(t);
  sink.buffered = 10 * 1024 * 1024; // above the high watermark
  const r = start({ command: 'head -c 300000 /dev/zero', maxOutputBytes: 1024 * 1024 });
  await waitFor(() => gate.paused, 'gate to pause');
  await sleep(150);
  const whilePaused = manager.info(r.id)!.end;
  await sleep(150);
  assert.equal(manager.info(r.id)!.end, whilePaused, 'the pipe kept being read while paused');
  assert.ok(whilePaused < 300000, 'whilePaused < 300000');
  // The link drops: the run is detached and runs to the end, buffering.
  manager.detachAll();
  const f = await r.result;
  assert.equal(f.outputBytes, 300000);
  assert.equal(sink.of('run_finished').length, 0);
  sink.buffered = 0;
  gate.reset();
  const before = sink.frames.length;
  manager.handle({ type: 'run_attach', runId: r.id, offset: whilePaused });
  await waitFor(() => sink.of('run_finished').length === 1, 'run_finished after the replay');
  assert.equal(combined(sink.frames.slice(before), r.id).length, 300000 - whilePaused);
});

test('errors: unknown runs are not_found (with the ref), a held runId is a conflict, too many runs fail', LIMIT, async (t) => {
  const { sink, manager, start, finished } = runSetup(t, { maxRuns: 1 });
  for (const m of [
    { type: 'run_kill', runId: 'nope' },
    { type: 'run_attach', runId: 'nope', offset: 0 },
    { type: 'run_ack', runId: 'nope', offset: 0 },
    { type: 'run_forget', runId: 'nope' },
  ] as const) {
    manager.handle(m);
  }
  assert.deepEqual(
    sink.of('error').map((e) => [e.code, e.ref, e.runId]),
    [
      ['not_found', 'run_kill', 'nope'],
      ['not_found', 'run_attach', 'nope'],
      ['not_found', 'run_ack', 'nope'],
      ['not_found', 'run_forget', 'nope'],
    ],
  );
  const long = start({ command: 'sleep 100' });
  const again = manager.start({ ...long.msg });
  assert.equal(again, null);
  assert.deepEqual(
    sink.of('error').slice(4).map((e) => [e.code, e.ref, e.runId]),
    [['conflict', 'run_start', long.id]],
  );
  const second = start({ command: 'true' });
  const f = await second.result;
  assert.equal(f.status, 'failed');
  assert.match(f.error!, /at most 1 runs at once/);
  assert.equal(finished(long.id).length, 0);
  manager.handle({ type: 'run_kill', runId: long.id });
  assert.equal((await long.result).status, 'killed');
});

test('run_forget kills a running run and drops it without run_finished', LIMIT, async (t) => {
  const { sink, manager, start, started, recordsDir } = runSetup(t);
  const r = start({ command: 'sleep 100 & sleep 100', killGraceMs: 500 });
  await waitFor(() => started(r.id), 'run_started');
  const pgid = started(r.id)!.pid;
  assert.equal(existsSync(join(recordsDir, `${r.id}.json`)), true);
  manager.handle({ type: 'run_forget', runId: r.id, reason: 'test' });
  assert.deepEqual(manager.list(), []);
  await r.result;
  await groupGone(pgid);
  assert.equal(existsSync(join(recordsDir, `${r.id}.json`)), false);
  assert.equal(sink.of('run_finished').length, 0);
  manager.handle({ type: 'run_forget', runId: r.id });
  assert.equal(sink.of('error').at(-1)?.code, 'not_found');
});

test('resource usage: CPU of a busy loop (also in a reaped child) and a plausible peak RSS', { ...LIMIT, skip: !HAS_PROCFS && 'no /proc' }, async (t) => {
  const { start } = runSetup(t);
  const busy = await start({ command: 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sh -c \'j=0; while [ $j -lt 200000 ]; do j=$((j+1)); done\'' }).result;
  assert.equal(busy.status, 'completed');
  const u = busy.resourceUsage!;
  assert.ok(u.cpuUserMs + u.cpuSystemMs >= 100, `cpu ${JSON.stringify(u)} for a loop of ~1 s`);
  assert.ok(u.cpuUserMs + u.cpuSystemMs <= busy.durationMs * 2 + 100, `cpu ${JSON.stringify(u)} exceeds the wall time ${busy.durationMs}`);
  assert.ok(u.peakRssBytes > 100 * 1024 && u.peakRssBytes < 64 * 1024 * 1024, `peak rss ${u.peakRssBytes}`);

  const node = JSON.stringify(process.execPath);
  const big = await start({ command: `${node} -e "const b = Buffer.alloc(150e6, 1); setTimeout(() => b.length, 800)"` }).result;
  assert.equal(big.status, 'completed');
  const rss = big.resourceUsage!.peakRssBytes;
  assert.ok(rss > 150e6 && rss < 1024 * 1024 * 1024, `peak rss ${rss} for a 150 MB buffer`);
});
