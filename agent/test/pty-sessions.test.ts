/** Terminal sessions on a real PTY (node-pty), through the SessionManager. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shellStartSchema, type RelayToAgent } from '@rexec/shared';
import { FlowGate } from '../src/flow.js';
import { SessionManager } from '../src/sessions/manager.js';
import { RecordingSink, waitFor } from './helpers.js';

const LIMIT = { timeout: 20_000 };

function setup(t: { after(fn: () => unknown): void }) {
  const sink = new RecordingSink();
  const gate = new FlowGate({ bufferedAmount: () => sink.bufferedAmount(), pollMs: 5 });
  // /bin/sh keeps rc files and fancy prompts out of the output.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', PS1: '$ ' };
  const manager = new SessionManager({ sink, gate, shell: '/bin/sh', workingDir: '/tmp', maxSessions: 4, env, stopGraceMs: 500 });
  t.after(async () => {
    await manager.stopAll();
    gate.dispose();
  });
  const send = (msg: Record<string, unknown>) => manager.handle(msg as Extract<RelayToAgent, { type: 'shell_input' }>);
  const start = (sessionId: string, cols = 80, rows = 24) => {
    manager.handle(shellStartSchema.parse({ type: 'shell_start', sessionId, cols, rows }));
  };
  const input = (sessionId: string, data: string) => send({ type: 'shell_input', sessionId, data });
  return { sink, manager, start, input, send };
}

test('shell_start answers shell_started and `echo` output arrives as ShellOutput frames', LIMIT, async (t) => {
  const { sink, start, input } = setup(t);
  start('s1');
  const started = sink.of('shell_started')[0];
  assert.ok(started, 'started');
  assert.deepEqual({ ...started, pid: 0 }, { type: 'shell_started', sessionId: 's1', pid: 0, cols: 80, rows: 24 });
  assert.ok(started.pid > 0, 'started.pid > 0');
  // $((40+2)) makes the answer differ from the echoed input line.
  input('s1', 'echo hi$((40+2))\n');
  await waitFor(() => sink.output('s1').includes('hi42\r\n'), 'hi42 in the output');
});

test('stty size follows shell_resize', LIMIT, async (t) => {
  const { sink, start, input, send } = setup(t);
  start('s1', 80, 24);
  input('s1', 'stty size\n');
  await waitFor(() => sink.output('s1').includes('24 80'), 'initial size 24 80');
  send({ type: 'shell_resize', sessionId: 's1', cols: 132, rows: 41 });
  input('s1', 'stty size\n');
  await waitFor(() => sink.output('s1').includes('41 132'), 'resized 41 132');
});

test('two sessions stay separate', LIMIT, async (t) => {
  const { sink, start, input } = setup(t);
  start('a');
  start('b');
  input('a', 'echo A$((1+1))\n');
  input('b', 'echo B$((2+2))\n');
  await waitFor(() => sink.output('a').includes('A2\r\n') && sink.output('b').includes('B4\r\n'), 'both answers');
  assert.ok(!sink.output('a').includes('B4'), '!sink.output(\'a\').includes(\'B4\')');
  assert.ok(!sink.output('b').includes('A2'), '!sink.output(\'b\').includes(\'A2\')');
  const pids = sink.of('shell_started').map((m) => m.pid);
  assert.notEqual(pids[0], pids[1]);
});

test('exit reports the code and the total output bytes', LIMIT, async (t) => {
  const { sink, start, input, manager } = setup(t);
  start('s1');
  input('s1', 'exit 3\n');
  const stopped = await waitFor(() => sink.of('shell_stopped')[0], 'shell_stopped');
  assert.equal(stopped.sessionId, 's1');
  assert.equal(stopped.exitCode, 3);
  assert.equal(stopped.signal, null);
  assert.equal(stopped.outputBytes, Buffer.byteLength(sink.output('s1')));
  await waitFor(() => manager.size === 0, 'session removed');
});

test('shell_stop hangs up the shell and reports the signal', LIMIT, async (t) => {
  const { sink, start, send } = setup(t);
  start('s1');
  send({ type: 'shell_stop', sessionId: 's1' });
  const stopped = await waitFor(() => sink.of('shell_stopped')[0], 'shell_stopped');
  assert.equal(stopped.exitCode, null);
  assert.equal(stopped.signal, 'SIGHUP');
});

test('multibyte output reaches the relay byte-exact', LIMIT, async (t) => {
  const { sink, start, input } = setup(t);
  start('s1');
  // 3000 euro signs (3 bytes each) are far more than one read; a decoder would split some.
  input('s1', "i=0; while [ $i -lt 3000 ]; do printf '\\342\\202\\254'; i=$((i+1)); done; echo; echo END$((6*7))\n");
  await waitFor(() => sink.output('s1').includes('END42\r\n'), 'END42', 15_000);
  assert.ok(sink.output('s1').includes('€'.repeat(3000)), 'sink.output(\'s1\').includes(\'€\'.repeat(3000))');
  assert.ok(!sink.output('s1').includes('\uFFFD'), '!sink.output(\'s1\').includes(\'\\uFFFD\')');
});

test('bytes that are not UTF-8 pass through untouched (raw PTY, no decoding)', LIMIT, async (t) => {
  const { sink, start, input } = setup(t);
  start('s1');
  input('s1', "printf 'X\\377\\376Y'; echo; echo END$((6*7))\n");
  await waitFor(() => sink.output('s1').includes('END42'), 'END42');
  assert.ok(sink.outputBytes('s1').includes(Buffer.from([0x58, 0xff, 0xfe, 0x59])), 'latin-1 bytes were altered');
});

test('the shell environment has TERM and COLORTERM but no REXEC_* variable', LIMIT, async (t) => {
  const sink = new RecordingSink();
  const gate = new FlowGate({ bufferedAmount: () => 0 });
  const env = { PATH: process.env.PATH ?? '/bin', HOME: '/tmp', REXEC_TOKEN: 'rxa_secret', REXEC_CONFIG: '/x' };
  const manager = new SessionManager({ sink, gate, shell: '/bin/sh', maxSessions: 1, env });
  t.after(() => manager.stopAll());
  manager.handle(shellStartSchema.parse({ type: 'shell_start', sessionId: 's', cols: 80, rows: 24, env: { FOO: 'bar' } }));
  manager.handle({ type: 'shell_input', sessionId: 's', data: 'env; echo DONE$((1))\n' });
  await waitFor(() => sink.output('s').includes('DONE1'), 'env output');
  const out = sink.output('s');
  assert.match(out, /^TERM=xterm-256color\r$/m);
  assert.match(out, /^COLORTERM=truecolor\r$/m);
  assert.match(out, /^FOO=bar\r$/m);
  assert.doesNotMatch(out, /REXEC_|rxa_secret/);
});
