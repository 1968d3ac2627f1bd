/**
 * Session hosts: the agent <-> host framing and protocol (malformed input never crashes either
 * side), an in-process SessionHost with a fake PTY, and real host processes started and recovered
 * by the SessionManager (a second manager finds a session the first let go of).
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FlowGate } from '../src/flow.js';
import { SessionHost } from '../src/sessions/host.js';
import { HostClient } from '../src/sessions/host-client.js';
import {
  HOST_PROTOCOL_VERSION,
  HostFrameError,
  HostFrameKind,
  HostFrameReader,
  MAX_HOST_FRAME_BYTES,
  encodeHostFrame,
  encodeHostJson,
} from '../src/sessions/host-protocol.js';
import { SessionManager } from '../src/sessions/manager.js';
import { MAX_SOCKET_PATH, readHostStates, socketPathFor } from '../src/sessions/state-dir.js';
import { EchoPty, RecordingSink, sleep, tempDir, waitFor } from './helpers.js';
import { OutputRing } from '../src/sessions/output-ring.js';

const LIMIT = { timeout: 60_000 };

test('HostFrameReader reassembles frames split anywhere and rejects bad lengths and kinds', () => {
  const got: string[] = [];
  const r = new HostFrameReader((kind, body) => got.push(`${kind}:${body.toString()}`));
  const bytes = Buffer.concat([encodeHostJson({ type: 'host_hello', version: 1 }), encodeHostFrame(HostFrameKind.Output, Buffer.from('abc'))]);
  for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1));
  assert.deepEqual(got, ['0:{"type":"host_hello","version":1}', '1:abc'], 'two frames, byte by byte');
  // A large frame arriving in pieces, with the next frames' starts in the same pieces.
  const big = Buffer.alloc(200_000, 'x');
  const stream = Buffer.concat([encodeHostFrame(HostFrameKind.Output, big), bytes, bytes]);
  const sizes: number[] = [];
  const r2 = new HostFrameReader((kind, body) => sizes.push(body.length));
  for (let i = 0; i < stream.length; i += 65_537) r2.push(stream.subarray(i, i + 65_537));
  const hello = Buffer.byteLength(JSON.stringify({ type: 'host_hello', version: 1 }));
  assert.deepEqual(sizes, [200_000, hello, 3, hello, 3], 'frames whole, in order, across pieces');
  const tooBig = Buffer.alloc(5);
  tooBig.writeUInt32BE(MAX_HOST_FRAME_BYTES + 1, 0);
  assert.throws(() => new HostFrameReader(() => {}).push(tooBig), HostFrameError);
  assert.throws(() => new HostFrameReader(() => {}).push(Buffer.from([0, 0, 0, 0])), HostFrameError);
  assert.throws(() => new HostFrameReader(() => {}).push(Buffer.from([0, 0, 0, 1, 7])), HostFrameError);
});

test('socket paths fit sun_path: a deep state dir falls back to a short private dir', () => {
  const shallow = socketPathFor('/tmp/x/agent.sessions', 'abc');
  assert.equal(shallow, '/tmp/x/agent.sessions/abc.sock', 'short paths stay in the state dir');
  const deep = `/tmp/${'d'.repeat(120)}/agent.sessions`;
  const p = socketPathFor(deep, 'a'.repeat(64), {});
  assert.ok(Buffer.byteLength(p) <= MAX_SOCKET_PATH, `fallback path fits: ${p}`);
  assert.ok(!p.startsWith(deep), 'fallback is elsewhere');
  assert.equal(socketPathFor(deep, 'a'.repeat(64), {}), p, 'stable for the same state dir');
  assert.notEqual(socketPathFor(`${deep}2`, 'a'.repeat(64), {}), p, 'another state dir gets another dir');
});

function rawClient(path: string): Promise<{ socket: Socket; frames: { kind: number; body: Buffer }[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const frames: { kind: number; body: Buffer }[] = [];
    const reader = new HostFrameReader((kind, body) => frames.push({ kind, body: Buffer.from(body) }));
    socket.on('data', (d: Buffer) => reader.push(d));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, frames, closed }));
    socket.once('error', reject);
  });
}

/** An in-process SessionHost on an echo PTY, listening on `<dir>/<id>.sock`, closed after the test. */
async function echoHost(t: TestContext, dir: string, sessionId: string): Promise<SessionHost> {
  const pty = new EchoPty('/bin/sh', [], { cols: 80, rows: 24, cwd: dir, env: {} });
  const host = new SessionHost(pty, {
    sessionId,
    socketPath: join(dir, `${sessionId}.sock`),
    cols: 80,
    rows: 24,
    flushMs: 2,
    flushBytes: 65536,
    stopGraceMs: 50,
    ringBytes: 1 << 20,
    windowBytes: 256 << 10,
    idleTimeoutMs: 60_000,
    detachedPauseLimitMs: 60_000,
  });
  t.after(() => host.close());
  await host.listen();
  return host;
}

test('a host survives malformed frames and messages, and keeps serving the next agent', LIMIT, async (t) => {
  const dir = tempDir(t);
  const host = await echoHost(t, dir, 's1');

  // 1. A frame with an absurd length: the host drops that connection.
  const a = await rawClient(join(dir, 's1.sock'));
  a.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]));
  await a.closed;

  // 2. Not JSON / wrong first message: refused, not crashed.
  const b = await rawClient(join(dir, 's1.sock'));
  b.socket.write(encodeHostFrame(HostFrameKind.Json, Buffer.from('{nope')));
  await b.closed;
  assert.equal(JSON.parse(b.frames[0]!.body.toString()).type, 'host_refused', 'refused with a reason');

  // 3. A proper agent: malformed messages after the hello get host_error; the session still works.
  const c = await rawClient(join(dir, 's1.sock'));
  c.socket.write(encodeHostJson({ type: 'host_hello', version: HOST_PROTOCOL_VERSION }));
  await waitFor(() => c.frames.length >= 1, 'welcome');
  const welcome = JSON.parse(c.frames[0]!.body.toString());
  assert.equal(welcome.type, 'host_welcome', 'welcome first');
  assert.equal(welcome.sessionId, 's1', 'names its session');
  c.socket.write(encodeHostFrame(HostFrameKind.Json, Buffer.from('[1,2')));
  c.socket.write(encodeHostFrame(HostFrameKind.Json, Buffer.from(JSON.stringify({ type: 'shell_input', sessionId: 's1', data: 5 }))));
  c.socket.write(encodeHostFrame(HostFrameKind.Json, Buffer.from(JSON.stringify({ type: 'shell_input', sessionId: 'other', data: 'x' }))));
  c.socket.write(encodeHostJson({ type: 'shell_attach', sessionId: 's1', offset: 0 }));
  c.socket.write(encodeHostJson({ type: 'shell_input', sessionId: 's1', data: 'hello' }));
  await waitFor(() => c.frames.some((f) => f.kind === HostFrameKind.Output), 'echo output');
  const errors = c.frames.filter((f) => f.kind === 0).map((f) => JSON.parse(f.body.toString())).filter((m) => m.type === 'host_error');
  assert.equal(errors.length, 3, `three host_error answers: ${JSON.stringify(errors)}`);
  // 4. An output frame from the agent side is a protocol violation: connection dropped, host fine.
  c.socket.write(encodeHostFrame(HostFrameKind.Output, Buffer.from('zzz')));
  await c.closed;
  assert.equal(host.session.state, 'running', 'the session lives on');

  // 5. The agent side (HostClient) shakes hands and relays.
  const sink = new RecordingSink();
  const client = await HostClient.connect(join(dir, 's1.sock'), {
    message: (m) => sink.sendJson(m),
    output: (f) => sink.sendBinary(f),
    closed: () => {},
    warn: () => {},
  });
  assert.equal(client.welcome.outputBytes, 5, 'knows the output so far');
  client.send({ type: 'shell_attach', sessionId: 's1', offset: 0 });
  await waitFor(() => sink.output('s1') === 'hello', 'replay through the client');
  await client.close();
});

test('HostClient survives garbage from a host', LIMIT, async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'fake.sock');
  const server = createServer((s) => {
    s.on('data', () => {
      s.write(encodeHostJson({ type: 'host_welcome', version: 1, sessionId: 'f1', hostPid: 1, pid: 2, cols: 80, rows: 24, outputBytes: 0, startedAt: 'now', exited: null }));
      s.write(encodeHostFrame(HostFrameKind.Json, Buffer.from('{"type":"shell_stopped"}')));
      s.write(encodeHostFrame(HostFrameKind.Output, Buffer.from([9, 9, 9])));
      s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]));
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => server.close());
  const warnings: string[] = [];
  let closed = '';
  const client = await HostClient.connect(path, { message: () => assert.fail('nothing valid was sent'), output: () => assert.fail('no valid frame'), closed: (r) => (closed = r), warn: (m) => warnings.push(m) });
  await waitFor(() => closed, 'the client drops the connection on a bad frame');
  assert.equal(client.closed, true, 'closed');
  assert.ok(warnings.length >= 3, `warned about each bad thing: ${JSON.stringify(warnings)}`);
});

test('real session hosts outlive their manager and are recovered by the next one', LIMIT, async (t) => {
  const dir = tempDir(t);
  const stateDir = join(dir, 'agent.sessions');
  const mk = (sink: RecordingSink) => new SessionManager({ sink, gate: new FlowGate({ bufferedAmount: () => 0 }), shell: '/bin/sh', workingDir: dir, maxSessions: 4, stateDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
  const sink1 = new RecordingSink();
  const m1 = mk(sink1);
  m1.handle({ type: 'shell_start', sessionId: 'h1', cols: 80, rows: 24 });
  const started = await waitFor(() => sink1.of('shell_started')[0] ?? sink1.of('shell_error')[0], 'shell_started', 20_000);
  assert.equal(started.type, 'shell_started', JSON.stringify(started));
  const shellPid = (started as { pid: number }).pid;
  t.after(() => {
    for (const st of readHostStates(stateDir).states) {
      try {
        process.kill(st.hostPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  m1.handle({ type: 'shell_input', sessionId: 'h1', data: 'echo one-$((40+2))\n' });
  await waitFor(() => sink1.output('h1').includes('one-42'), 'echo through the host', 10_000);
  const st = readHostStates(stateDir).states;
  assert.equal(st.length, 1, 'one state file');
  assert.equal(st[0]!.pid, shellPid, 'state file names the shell');
  assert.ok(existsSync(st[0]!.socket), 'socket exists');
  // The host runs with one malloc arena; the shell's environment does not get the setting.
  const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  assert.ok(environ(st[0]!.hostPid).includes('MALLOC_ARENA_MAX=1'), 'the host process has MALLOC_ARENA_MAX=1');
  assert.ok(!environ(shellPid).some((v) => v.startsWith('MALLOC_ARENA_MAX=')), 'the shell has no MALLOC_ARENA_MAX');

  await m1.release();
  // The shell keeps running while nobody is connected.
  process.kill(shellPid, 0);

  const sink2 = new RecordingSink();
  const m2 = mk(sink2);
  await m2.recover();
  const live = m2.list();
  assert.equal(live.length, 1, `recovered: ${JSON.stringify(live)}`);
  assert.equal(live[0]!.pid, shellPid, 'same shell');
  m2.handle({ type: 'shell_attach', sessionId: 'h1', offset: 0 });
  m2.handle({ type: 'shell_input', sessionId: 'h1', data: 'echo two-$((40+3))\n' });
  await waitFor(() => sink2.output('h1').includes('two-43'), 'output after recovery', 10_000);
  assert.ok(sink2.output('h1').includes('one-42'), 'the ring replays what came before');

  // Snapshot through the host.
  m2.handle({ type: 'shell_snapshot', sessionId: 'h1', requestId: 'r1' });
  const snap = await waitFor(() => sink2.of('shell_snapshot_result')[0], 'snapshot', 10_000);
  assert.ok(Buffer.from(snap.data, 'base64').toString().includes('two-43'), 'snapshot shows the screen');
  assert.equal(snap.offset <= sink2.output('h1').length + 1000, true, 'offset within the stream');

  // shell_stop still ends it; the host removes its files.
  m2.handle({ type: 'shell_stop', sessionId: 'h1' });
  await waitFor(() => sink2.of('shell_stopped')[0], 'shell_stopped', 10_000);
  await waitFor(() => readHostStates(stateDir).states.length === 0 && !existsSync(st[0]!.socket), 'files removed', 10_000);
});

test('recover removes the files of a dead host and keeps going', LIMIT, async (t) => {
  const dir = tempDir(t);
  const stateDir = join(dir, 'agent.sessions');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(stateDir, { mode: 0o700 });
  // A pid that is surely not a session host: a process we start and reap.
  const { spawnSync } = await import('node:child_process');
  const dead = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout.trim());
  const socket = join(stateDir, 'gone.sock');
  writeFileSync(join(stateDir, 'gone.json'), JSON.stringify({ version: 1, sessionId: 'gone', hostPid: deadPid, pid: deadPid, cols: 80, rows: 24, startedAt: 'x', socket }));
  writeFileSync(socket, '');
  writeFileSync(join(stateDir, 'junk.json'), '{');
  const sink = new RecordingSink();
  const m = new SessionManager({ sink, gate: new FlowGate({ bufferedAmount: () => 0 }), shell: '/bin/sh', maxSessions: 4, stateDir });
  await m.recover();
  assert.deepEqual(m.list(), [], 'nothing recovered');
  assert.equal(existsSync(join(stateDir, 'gone.json')), false, 'stale state file removed');
  assert.equal(existsSync(socket), false, 'stale socket removed');
  assert.equal(existsSync(join(stateDir, 'junk.json')), false, 'unreadable state file removed');
  void readFileSync;
  void sleep;
});

test('the screen mirror parses lazily from the ring and a snapshot is exact for its offset', LIMIT, async () => {
  const { ScreenMirror } = await import('../src/sessions/screen-mirror.js');
  const ring = new OutputRing();
  const m = new ScreenMirror({ cols: 20, rows: 5, idleMs: 60_000, source: ring });
  const out = (s: string) => (ring.push(Buffer.from(s)), m.output());
  out('hello\r\n');
  m.resize(30, 6);
  out('world');
  assert.equal(m.backlog, 12, 'nothing parsed before it is needed');
  const snap = m.snapshot();
  out('\r\nlater'); // after the request: not in the picture
  const s = await snap;
  assert.equal(s.offset, 12, 'offset = bytes before the request');
  assert.deepEqual([s.cols, s.rows], [30, 6], 'the resize before the request applies');
  assert.ok(s.data.includes('hello') && s.data.includes('world'), `screen text: ${JSON.stringify(s.data)}`);
  assert.ok(!s.data.includes('later'), 'later output excluded');
  const s2 = await m.snapshot();
  assert.equal(s2.offset, 19, 'the next snapshot includes it');
  assert.ok(s2.data.includes('later'), 'later output now included');
  m.dispose();
});

test('output the ring dropped before the mirror parsed it is skipped; the mirror restarts from what the ring holds', LIMIT, async () => {
  const { ScreenMirror } = await import('../src/sessions/screen-mirror.js');
  const ring = new OutputRing();
  const m = new ScreenMirror({ cols: 20, rows: 5, idleMs: 60_000, source: ring });
  const out = (s: string) => {
    ring.push(Buffer.from(s));
    ring.dropBefore(ring.end - 1000); // a session keeping 1000 bytes of history
    m.output();
  };
  out('\x1b[31mred-before\r\n');
  m.resize(22, 5); // within the part that is dropped
  for (let i = 0; i < 500; i++) out(`line-${i}\r\n`);
  m.resize(24, 6);
  const s = await m.snapshot();
  assert.equal(s.offset, ring.end, 'the snapshot stands for every byte so far, dropped ones included');
  assert.deepEqual([s.cols, s.rows], [24, 6], 'the size after the drop applies');
  assert.ok(s.data.includes('line-499') && s.data.includes('line-495'), `the last lines are on screen: ${JSON.stringify(s.data)}`);
  assert.ok(!s.data.includes('red-before') && !s.data.includes('line-0\r'), 'the dropped start is not in the picture');
  assert.ok(!s.data.includes('[31m'), 'the terminal was reset: no colour carried over from dropped output');
  m.dispose();
});

test('another protocol version: a host refuses the hello, and a recovering agent leaves a host it cannot speak to running, files and all', LIMIT, async (t) => {
  const dir = tempDir(t);
  // The host side: a hello of another version is refused with both versions named.
  const host = await echoHost(t, dir, 'v1');
  const c = await rawClient(join(dir, 'v1.sock'));
  c.socket.write(encodeHostJson({ type: 'host_hello', version: HOST_PROTOCOL_VERSION + 1 }));
  await c.closed;
  const refusal = JSON.parse(c.frames[0]!.body.toString()) as { type: string; message: string };
  assert.equal(refusal.type, 'host_refused', 'refused');
  assert.ok(refusal.message.includes(String(HOST_PROTOCOL_VERSION)) && refusal.message.includes(String(HOST_PROTOCOL_VERSION + 1)), `names both versions: ${refusal.message}`);
  assert.equal(host.session.state, 'running', 'the session is unaffected');

  // The agent side: a host process from another release (it speaks only version 999; the framing
  // is the same) with a state file. recover() must not adopt it, remove its files or kill it.
  const { mkdirSync } = await import('node:fs');
  const { spawn } = await import('node:child_process');
  const stateDir = join(dir, 'agent.sessions');
  mkdirSync(join(dir, 'v999'), { recursive: true });
  mkdirSync(stateDir, { mode: 0o700 });
  const script = join(dir, 'v999', 'host-main.mjs');
  writeFileSync(
    script,
    `import { createServer } from 'node:net';
const json = (o) => { const b = Buffer.from(JSON.stringify(o)); const h = Buffer.alloc(5); h.writeUInt32BE(b.length + 1); h[4] = 0; return Buffer.concat([h, b]); };
createServer((s) => s.once('data', () => s.end(json({ type: 'host_refused', message: 'this host speaks version 999, not ${HOST_PROTOCOL_VERSION}' })))).listen(process.argv[2], () => process.stdout.write('ready\\n'));`,
  );
  const socket = join(stateDir, 'old.sock');
  const old = spawn(process.execPath, [script, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => old.kill('SIGKILL'));
  await new Promise((r) => old.stdout!.once('data', r));
  const stateFile = join(stateDir, 'old.json');
  writeFileSync(stateFile, JSON.stringify({ version: 1, sessionId: 'old', hostPid: old.pid, pid: old.pid, cols: 80, rows: 24, startedAt: new Date().toISOString(), socket }));
  const warnings: string[] = [];
  const logger = { error() {}, info() {}, debug() {}, warn: (m: string, f?: Record<string, unknown>) => void warnings.push(`${m} ${JSON.stringify(f)}`) };
  const m = new SessionManager({ sink: new RecordingSink(), gate: new FlowGate({ bufferedAmount: () => 0 }), shell: '/bin/sh', maxSessions: 4, stateDir, logger });
  t.after(() => m.release());
  await m.recover();
  assert.deepEqual(m.list(), [], 'not adopted');
  assert.ok(existsSync(stateFile) && existsSync(socket), 'its state file and socket are left alone');
  assert.equal(old.exitCode, null, 'the old host keeps running');
  assert.ok(warnings.some((w) => w.includes('leaving it') && w.includes('version 999')), `the agent says why: ${JSON.stringify(warnings)}`);
});
