import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { execSchema, FrameKind, type ExecMessage } from '@rexec/shared';
import { processAlive } from '../src/exec/process-group.js';
import { ExecRunner } from '../src/exec/runner.js';
import { FlowGate } from '../src/flow.js';
import { RecordingSink, sleep, waitFor } from './helpers.js';

/** 100 seconds, spelled uniquely so pgrep finds only this test's sleeps. */
const MARK = `100.${process.pid}`;

/** Live (non-zombie) pids whose command line contains `pattern`. */
function pgrep(pattern: string): number[] {
  const r = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== r.pid && processAlive(pid));
}

/** Every test fails instead of hanging when something is never reported. */
const LIMIT = { timeout: 20_000 };

function setup(t: { after(fn: () => unknown): void }, opts: { maxOutputBytes?: number; env?: NodeJS.ProcessEnv } = {}) {
  const sink = new RecordingSink();
  const gate = new FlowGate({ bufferedAmount: () => sink.bufferedAmount(), pollMs: 5 });
  const runner = new ExecRunner({ sink, gate, shell: '/bin/sh', workingDir: '/tmp', ...opts });
  t.after(async () => {
    await runner.killAll();
    gate.dispose();
  });
  let n = 0;
  const run = (fields: Partial<ExecMessage> & ({ argv: string[] } | { command: string })) => {
    const msg = execSchema.parse({ type: 'exec', execId: `x${++n}`, timeoutMs: 10_000, ...fields });
    const p = runner.start(msg);
    assert.ok(p, 'p');
    return { msg, result: p };
  };
  return { sink, runner, run, gate };
}

test('exit code 0 and 3; stdout and stderr captured on separate streams with offsets', LIMIT, async (t) => {
  const { sink, run } = setup(t);
  const ok = run({ command: 'printf out; printf err >&2' });
  const r0 = await ok.result;
  assert.equal(r0.exitCode, 0);
  assert.equal(r0.signal, null);
  assert.equal(r0.timedOut, false);
  assert.equal(r0.truncated, false);
  assert.equal(sink.output(ok.msg.execId, FrameKind.ExecStdout), 'out');
  assert.equal(sink.output(ok.msg.execId, FrameKind.ExecStderr), 'err');
  assert.equal(r0.stdoutBytes, 3);
  assert.equal(r0.stderrBytes, 3);
  const started = sink.of('exec_started').find((m) => m.execId === ok.msg.execId);
  assert.ok(started && started.pid > 0, 'started && started.pid > 0');
  // exec_started comes before the result, and exactly one result is sent.
  assert.ok(sink.messages.indexOf(started) < sink.messages.findIndex((m) => m.type === 'exec_result'), 'sink.messages.indexOf(started) < sink.messages.findIndex((m) => m.type === \'exec_result\')');

  const three = run({ argv: ['sh', '-c', 'echo three; exit 3'] });
  const r3 = await three.result;
  assert.equal(r3.exitCode, 3);
  assert.equal(sink.output(three.msg.execId, FrameKind.ExecStdout), 'three\n');
  assert.equal(sink.of('exec_result').length, 2);
});

test('argv runs without a shell: metacharacters stay literal', LIMIT, async (t) => {
  const { sink, run } = setup(t);
  const e = run({ argv: ['echo', '$HOME;', 'rm', '-rf', '*'] });
  await e.result;
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStdout), '$HOME; rm -rf *\n');
});

test('killed by a signal reports the signal and a null exit code', LIMIT, async (t) => {
  const { run } = setup(t);
  const r = await run({ command: 'kill -TERM $$; sleep 5' }).result;
  assert.equal(r.exitCode, null);
  assert.equal(r.signal, 'SIGTERM');
  assert.equal(r.timedOut, false);
});

test('timeout kills the whole process group: no `sleep` survives', LIMIT, async (t) => {
  const { sink, run } = setup(t);
  // sh -c 'sleep 100 & sleep 100', plus a marker to find the sleeps and the background pid.
  const e = run({ command: `sleep ${MARK} & echo $!; sleep ${MARK}`, timeoutMs: 1000, killGraceMs: 500 });
  const bgPid = Number((await waitFor(() => sink.output(e.msg.execId, FrameKind.ExecStdout).trim(), 'background pid')));
  const leaderPid = sink.of('exec_started')[0]!.pid;
  assert.ok(processAlive(bgPid) && processAlive(leaderPid), 'processAlive(bgPid) && processAlive(leaderPid)');
  const t0 = Date.now();
  const r = await e.result;
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGTERM');
  assert.ok(Date.now() - t0 < 5000, 'Date.now() - t0 < 5000');
  assert.equal(processAlive(bgPid), false, 'background sleep 100 survived the timeout');
  assert.equal(processAlive(leaderPid), false, 'leader survived the timeout');
  assert.deepEqual(pgrep(`sleep ${MARK}`), [], 'a sleep survived the timeout');
});

test('a group member that ignores SIGTERM is SIGKILLed after the grace', LIMIT, async (t) => {
  const { sink, run } = setup(t);
  const e = run({ command: "sh -c 'trap \"\" TERM; echo $$; while :; do sleep 0.05; done' & wait", timeoutMs: 300, killGraceMs: 300 });
  const pid = Number(await waitFor(() => sink.output(e.msg.execId, FrameKind.ExecStdout).trim(), 'stubborn pid'));
  const r = await e.result;
  assert.equal(r.timedOut, true);
  await waitFor(() => !processAlive(pid), 'stubborn child to die', 2000);
});

test('exec_kill signals the group and reports timedOut false', LIMIT, async (t) => {
  const { sink, runner, run } = setup(t);
  const e = run({ command: 'echo ready; sleep 100', killGraceMs: 200 });
  await waitFor(() => sink.output(e.msg.execId, FrameKind.ExecStdout) === 'ready\n', 'ready');
  runner.handle({ type: 'exec_kill', execId: e.msg.execId });
  const r = await e.result;
  assert.equal(r.timedOut, false);
  assert.equal(r.signal, 'SIGTERM');
  runner.handle({ type: 'exec_kill', execId: 'nope' });
  assert.deepEqual(
    sink.of('error').map((m) => [m.code, m.execId, m.ref]),
    [['not_found', 'nope', 'exec_kill']],
  );
});

test('a program that does not exist is reported, not thrown', LIMIT, async (t) => {
  const { sink, run } = setup(t);
  const r = await run({ argv: ['/nonexistent/definitely-not-here', 'x'] }).result;
  assert.equal(r.exitCode, null);
  assert.equal(r.error, 'command not found: /nonexistent/definitely-not-here');
  assert.equal(sink.of('exec_started').length, 0);
  const cwd = await run({ argv: ['true'], cwd: '/nonexistent-dir' }).result;
  assert.equal(cwd.error, 'working directory not found: /nonexistent-dir');
});

test('output beyond the cap is dropped and flagged; the program is not blocked', LIMIT, async (t) => {
  const { sink, run } = setup(t, { maxOutputBytes: 1000 });
  const e = run({ command: 'head -c 200000 /dev/zero; echo done >&2' });
  const r = await e.result;
  assert.equal(r.exitCode, 0);
  assert.equal(r.truncated, true);
  assert.equal(r.stdoutBytes, 1000);
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStdout).length, 1000);
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStderr), 'done\n');
});

test('a leader that exits while a background child holds the pipes does not hang the result', LIMIT, async (t) => {
  const { sink, run } = setup(t);
  const e = run({ command: 'sleep 30 & echo $!; echo bye' });
  const t0 = Date.now();
  const r = await e.result;
  assert.equal(r.exitCode, 0);
  assert.ok(Date.now() - t0 < 3000, `result took ${Date.now() - t0} ms`);
  const bg = Number(sink.output(e.msg.execId, FrameKind.ExecStdout).split('\n')[0]);
  // Documented choice: stragglers after a normal exit are left alone. Clean up ourselves.
  assert.ok(processAlive(bg), 'processAlive(bg)');
  process.kill(bg, 'SIGKILL');
});

test('the child environment carries no REXEC_* variable, but does get the requested env', LIMIT, async (t) => {
  const { sink, run } = setup(t, { env: { PATH: process.env.PATH, REXEC_TOKEN: 'rxa_secret', REXEC_HOST: 'h', REXEC_CONFIG: 'c', REXEC_AGENT_X: '1' } });
  const e = run({ command: 'env', env: { GREETING: 'hi', REXEC_API: 'from-relay' } });
  await e.result;
  const out = sink.output(e.msg.execId, FrameKind.ExecStdout);
  assert.match(out, /^GREETING=hi$/m);
  assert.doesNotMatch(out, /REXEC_/);
  assert.doesNotMatch(out, /rxa_secret/);
});

test('output is paused while the link is congested and resumes after', LIMIT, async (t) => {
  const { sink, run, gate } = setup(t);
  sink.buffered = 10 * 1024 * 1024; // above the high watermark
  const e = run({ command: 'head -c 300000 /dev/zero' });
  await waitFor(() => gate.paused, 'gate to pause');
  await sleep(100);
  const whilePaused = sink.output(e.msg.execId, FrameKind.ExecStdout).length;
  await sleep(100);
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStdout).length, whilePaused, 'output kept flowing while paused');
  assert.ok(whilePaused < 300000, 'whilePaused < 300000');
  sink.buffered = 0;
  const r = await e.result;
  assert.equal(r.stdoutBytes, 300000);
});

test('exec_flow: while the client is behind the pipes are not read and the command blocks; then it completes', LIMIT, async (t) => {
  const { sink, run, runner } = setup(t);
  const marker = `/tmp/rexec-exec-flow-${process.pid}`;
  spawnSync('rm', ['-f', marker]);
  t.after(() => spawnSync('rm', ['-f', marker]));
  // 2 MB through a pipe of 64 KiB: the command can only finish (and write the marker) if read.
  const e = run({ command: `head -c 2000000 /dev/zero; touch ${marker}` });
  runner.handle({ type: 'exec_flow', execId: e.msg.execId, paused: true });
  await sleep(500);
  const whilePaused = sink.output(e.msg.execId, FrameKind.ExecStdout).length;
  assert.ok(whilePaused < 1_000_000, `read ${whilePaused} bytes while paused`);
  assert.equal(spawnSync('test', ['-e', marker]).status, 1, 'the command is blocked in write');
  await sleep(200);
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStdout).length, whilePaused, 'nothing read while paused');
  runner.handle({ type: 'exec_flow', execId: e.msg.execId, paused: false });
  const r = await e.result;
  assert.equal(r.stdoutBytes, 2_000_000, 'every byte arrived');
  assert.equal(spawnSync('test', ['-e', marker]).status, 0, 'the command ran to its end');
  assert.equal(runner.flow(e.msg.execId, true), false, 'a finished exec is ignored');
});

test('exec_flow: a client pause does not resume a stream the link still holds, and a kill ends a paused exec', LIMIT, async (t) => {
  const { sink, run, runner, gate } = setup(t);
  const e = run({ command: 'head -c 3000000 /dev/zero; sleep 30' });
  runner.handle({ type: 'exec_flow', execId: e.msg.execId, paused: true });
  sink.buffered = 10 * 1024 * 1024; // the link backs up too
  gate.check();
  await waitFor(() => gate.paused, 'gate to pause');
  runner.handle({ type: 'exec_flow', execId: e.msg.execId, paused: false }); // the client caught up
  await sleep(300);
  const held = sink.output(e.msg.execId, FrameKind.ExecStdout).length;
  await sleep(200);
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStdout).length, held, 'still paused by the link');
  runner.handle({ type: 'exec_flow', execId: e.msg.execId, paused: true });
  sink.buffered = 0;
  await sleep(300);
  assert.equal(sink.output(e.msg.execId, FrameKind.ExecStdout).length, held, 'still paused by the client');
  const t0 = performance.now();
  runner.kill(e.msg.execId);
  const r = await e.result;
  assert.equal(r.signal, 'SIGTERM', 'the kill reached the group');
  assert.ok(performance.now() - t0 < 5000, 'a paused exec is not kept alive by its unread output');
});
