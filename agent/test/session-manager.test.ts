/** SessionManager rules with an echo fake in place of node-pty (no real terminal needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shellStartSchema } from '@rexec/shared';
import { FlowGate } from '../src/flow.js';
import { SessionManager, shellArgs, type ShellMessage } from '../src/sessions/manager.js';
import type { PtySpawner } from '../src/sessions/pty.js';
import { EchoPty, RecordingSink, sleep, waitFor } from './helpers.js';

const LIMIT = { timeout: 10_000 };

function setup(t: { after(fn: () => unknown): void }, o: { maxSessions?: number; spawn?: PtySpawner; ignoreHup?: boolean; flushMs?: number } = {}) {
  const sink = new RecordingSink();
  const gate = new FlowGate({ bufferedAmount: () => sink.bufferedAmount(), highWatermark: 1000, lowWatermark: 100, pollMs: 5 });
  const ptys: EchoPty[] = [];
  const spawn: PtySpawner =
    o.spawn ??
    ((file, args, options) => {
      const p = new EchoPty(file, args, options, o.ignoreHup);
      ptys.push(p);
      return p;
    });
  const manager = new SessionManager({ sink, gate, shell: '/bin/sh', workingDir: '/tmp', maxSessions: o.maxSessions ?? 2, spawn, env: {}, stopGraceMs: 50, ...(o.flushMs ? { flushMs: o.flushMs } : {}) });
  t.after(async () => {
    await manager.stopAll();
    gate.dispose();
  });
  const start = (sessionId: string, extra: Record<string, unknown> = {}) =>
    manager.handle(shellStartSchema.parse({ type: 'shell_start', sessionId, cols: 80, rows: 24, ...extra }));
  const send = (m: Record<string, unknown>) => manager.handle(m as ShellMessage);
  return { sink, gate, manager, ptys, start, send };
}

test('unknown sessions get shell_error session_not_found', LIMIT, (t) => {
  const { sink, send } = setup(t);
  send({ type: 'shell_input', sessionId: 'ghost', data: 'x' });
  send({ type: 'shell_resize', sessionId: 'ghost', cols: 10, rows: 10 });
  send({ type: 'shell_stop', sessionId: 'ghost' });
  assert.deepEqual(
    sink.of('shell_error').map((m) => [m.sessionId, m.code]),
    [
      ['ghost', 'session_not_found'],
      ['ghost', 'session_not_found'],
      ['ghost', 'session_not_found'],
    ],
  );
});

test('a duplicate sessionId is a conflict; more than maxSessions is too_many_sessions', LIMIT, (t) => {
  const { sink, start, ptys } = setup(t, { maxSessions: 2 });
  start('a');
  start('a');
  start('b');
  start('c');
  assert.equal(ptys.length, 2);
  assert.deepEqual(sink.of('shell_started').map((m) => m.sessionId), ['a', 'b']);
  assert.deepEqual(
    sink.of('shell_error').map((m) => [m.sessionId, m.code]),
    [
      ['a', 'conflict'],
      ['c', 'too_many_sessions'],
    ],
  );
});

test('spawn failures answer shell_error spawn_failed', LIMIT, (t) => {
  const { sink, start } = setup(t, {
    spawn: () => {
      throw new Error('forkpty(3) failed');
    },
  });
  start('a');
  start('b', { cwd: '/nonexistent-dir' });
  start('c', { shell: '/nonexistent/shell' });
  const errors = sink.of('shell_error');
  assert.deepEqual(errors.map((m) => m.code), ['spawn_failed', 'spawn_failed', 'spawn_failed']);
  assert.match(errors[0]!.message, /forkpty/);
  assert.match(errors[1]!.message, /nonexistent-dir/);
  assert.match(errors[2]!.message, /nonexistent\/shell/);
});

test('spawn gets the configured shell as a login shell, the terminal size and the working dir', LIMIT, (t) => {
  const { start, ptys } = setup(t);
  start('a');
  assert.equal(ptys[0]!.file, '/bin/sh');
  assert.deepEqual(ptys[0]!.args, ['-l']);
  assert.equal(ptys[0]!.options.cwd, '/tmp');
  assert.deepEqual(ptys[0]!.size, [80, 24]);
  assert.deepEqual(shellArgs('/usr/bin/python3'), []);
});

test('small chunks are coalesced into one frame with running offsets', LIMIT, async (t) => {
  const { sink, start, ptys } = setup(t);
  start('a');
  for (let i = 0; i < 50; i++) ptys[0]!.emit('ab');
  await waitFor(() => sink.frames.length > 0, 'a frame');
  await sleep(20);
  assert.equal(sink.frames.length, 1);
  assert.equal(sink.frames[0]!.payload.length, 100);
  ptys[0]!.emit('cd');
  await waitFor(() => sink.frames.length === 2, 'second frame');
  assert.equal(sink.frames[1]!.offset, 100);
});

test('output that follows input (an echo) goes out at once, however recent the last frame', LIMIT, async (t) => {
  // A long coalescing interval: only the echo rule can make these frames appear in time.
  const { sink, start, send, ptys } = setup(t, { flushMs: 60_000 });
  start('a');
  ptys[0]!.emit('$ ');
  await waitFor(() => sink.frames.length === 1, 'first frame (sparse output)');
  send({ type: 'shell_input', sessionId: 'a', data: 'x' }); // EchoPty echoes it
  await waitFor(() => sink.frames.length === 2, 'echo right after a frame');
  send({ type: 'shell_input', sessionId: 'a', data: 'y' });
  await waitFor(() => sink.frames.length === 3, 'next echo');
  ptys[0]!.emit('z'); // no input since the last frame: held for the coalescing interval
  await sleep(20);
  assert.equal(sink.frames.length, 3);
  send({ type: 'shell_input', sessionId: 'a', data: 'w' }); // its echo takes the waiting output along
  await waitFor(() => sink.frames.length === 4, 'held output with the echo');
  assert.equal(Buffer.from(sink.frames[3]!.payload).toString('utf8'), 'zw');
  assert.equal(sink.output('a'), '$ xyzw');
});

test('backpressure pauses the PTY above the high watermark and resumes below the low one', LIMIT, async (t) => {
  const { sink, gate, start, ptys } = setup(t);
  start('a');
  start('b');
  sink.buffered = 5000;
  ptys[0]!.emit('x'.repeat(70 * 1024)); // >= 64 KiB flushes at once
  assert.equal(gate.paused, true);
  assert.equal(ptys[0]!.paused, true);
  assert.equal(ptys[1]!.paused, true, 'sessions share the socket, so all pause');
  sink.buffered = 500; // between the watermarks: still paused
  await sleep(30);
  assert.equal(ptys[0]!.paused, true);
  sink.buffered = 50;
  await waitFor(() => !ptys[0]!.paused && !ptys[1]!.paused, 'resume');
});

test('shell_stop sends SIGHUP, then SIGKILL after the grace; shell_stopped follows', LIMIT, async (t) => {
  const { sink, start, send, ptys } = setup(t, { ignoreHup: true });
  start('a');
  send({ type: 'shell_stop', sessionId: 'a' });
  const stopped = await waitFor(() => sink.of('shell_stopped')[0], 'shell_stopped');
  assert.deepEqual(ptys[0]!.signals, ['SIGHUP', 'SIGKILL']);
  assert.equal(stopped.signal, 'SIGKILL');
});

test('pending output is flushed before shell_stopped, and outputBytes matches', LIMIT, async (t) => {
  const { sink, start, ptys, manager } = setup(t);
  start('a');
  ptys[0]!.emit('last words');
  ptys[0]!.exit({ exitCode: 0, signal: null });
  const stopped = await waitFor(() => sink.of('shell_stopped')[0], 'shell_stopped');
  assert.equal(stopped.outputBytes, 10);
  assert.equal(sink.output('a'), 'last words');
  assert.deepEqual(sink.order, ['json:shell_started', 'frame:a', 'json:shell_stopped']);
  await waitFor(() => manager.size === 0, 'removed');
});
