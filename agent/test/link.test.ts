/** The reconnecting link against a small ws relay on 127.0.0.1 (port 0). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentHelloSchema, encodeFrame, FrameKind, type RelayHello, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@rexec/shared';
import { AgentLink, agentLinkUrl, type LinkFatalError, type LinkOptions, type RelayCommand } from '../src/link.js';
import { sleep, TestRelay, waitFor } from './helpers.js';

const LIMIT = { timeout: 15_000 };
const CREDENTIAL = 'rxa_' + 'k'.repeat(43);

interface Recorded {
  commands: RelayCommand[];
  connected: RelayHello[];
  disconnected: { code: number; reason: string; wasConnected: boolean }[];
  retries: { attempt: number; delayMs: number; lastError: string }[];
  fatal: LinkFatalError[];
}

function makeLink(t: { after(fn: () => unknown): void }, relay: TestRelay, extra: Partial<LinkOptions> = {}) {
  const rec: Recorded = { commands: [], connected: [], disconnected: [], retries: [], fatal: [] };
  const link = new AgentLink({
    apiUrl: relay.url,
    agentId: 'agent-1',
    credential: () => CREDENTIAL,
    hello: () => ({ name: 'web-1', hostname: 'web-1.local', os: 'TestOS 1', arch: 'x64', shell: '/bin/sh', version: '9.9.9', sessions: [], runs: [] }),
    reconnectBaseMs: 20,
    reconnectCapMs: 100,
    random: () => 1, // always the ceiling: delays are exactly base * 2^n, capped
    handlers: {
      onCommand: (m) => rec.commands.push(m),
      onConnected: (h) => rec.connected.push(h),
      onDisconnected: (d) => rec.disconnected.push(d),
      onReconnectScheduled: (r) => rec.retries.push(r),
      onFatal: (e) => rec.fatal.push(e),
    },
    ...extra,
  });
  t.after(() => link.dispose());
  return { link, rec };
}

async function startRelay(t: { after(fn: () => unknown): void }, opts: ConstructorParameters<typeof TestRelay>[0] = {}) {
  const relay = await new TestRelay(opts).listen();
  t.after(() => relay.close());
  return relay;
}

test('agentLinkUrl maps http->ws and https->wss and keeps a path prefix', () => {
  assert.equal(agentLinkUrl('http://127.0.0.1:8080', 'a1'), 'ws://127.0.0.1:8080/ws/agent/a1');
  assert.equal(agentLinkUrl('https://relay.example.com/rexec/', 'a1'), 'wss://relay.example.com/rexec/ws/agent/a1');
});

test('hello is the first frame, with the credential in the Authorization header only', LIMIT, async (t) => {
  const relay = await startRelay(t, { heartbeatIntervalMs: 1000, deadLinkTimeoutMs: 3000 });
  const { link, rec } = makeLink(t, relay);
  link.start();
  const conn = await relay.connection();
  assert.equal(conn.req.url, '/ws/agent/agent-1');
  assert.equal(conn.req.headers.authorization, `Bearer ${CREDENTIAL}`);
  assert.equal(conn.req.headers['sec-websocket-extensions'], undefined, 'per-message deflate must be off');
  const hello = agentHelloSchema.parse(conn.messages[0]);
  assert.deepEqual(hello, {
    type: 'hello',
    protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    agentId: 'agent-1',
    name: 'web-1',
    hostname: 'web-1.local',
    os: 'TestOS 1',
    arch: 'x64',
    shell: '/bin/sh',
    version: '9.9.9',
    sessions: [],
    runs: [],
  });
  await waitFor(() => rec.connected.length === 1, 'onConnected');
  assert.equal(rec.connected[0]!.heartbeatIntervalMs, 1000);
  assert.equal(link.connected, true);
});

test('malformed and unknown messages get an error reply and the link survives', LIMIT, async (t) => {
  const relay = await startRelay(t);
  const { link, rec } = makeLink(t, relay);
  link.start();
  const conn = await relay.connection();
  await waitFor(() => link.connected, 'connected');
  conn.ws.send('{not json');
  conn.ws.send(JSON.stringify({ type: 'launch_missiles' }));
  conn.ws.send(JSON.stringify({ type: 'shell_resize', sessionId: 's1', cols: 'wide', rows: 24 }));
  conn.ws.send(encodeFrame(FrameKind.ShellOutput, 's1', 0, new Uint8Array([1, 2, 3])));
  conn.ws.send(JSON.stringify({ type: 'ping', ts: 42 }));
  conn.ws.send(JSON.stringify({ type: 'shell_stop', sessionId: 's1' }));
  await waitFor(() => conn.messages.some((m) => m.type === 'pong'), 'pong');
  const errors = conn.messages.filter((m) => m.type === 'error');
  assert.deepEqual(
    errors.map((e) => [e.code, e.ref]),
    [
      ['invalid_message', undefined],
      ['unknown_message', 'launch_missiles'],
      ['invalid_message', 'shell_resize'],
      ['invalid_message', undefined],
    ],
  );
  assert.match(errors[3]!.message, /binary/);
  assert.deepEqual(conn.messages.at(-1), { type: 'pong', ts: 42 });
  await waitFor(() => rec.commands.length === 1, 'the valid command after the bad ones');
  assert.deepEqual(rec.commands, [{ type: 'shell_stop', sessionId: 's1' }]);
  assert.equal(relay.connections.length, 1, 'the link was never dropped');
  assert.equal(conn.closed, undefined);
});

test('HTTP 401 on the upgrade is fatal: the relay message is reported and there are no retries', LIMIT, async (t) => {
  const relay = await startRelay(t, { reject: { status: 401, body: { error: { code: 'unauthorized', message: 'agent credential revoked' } } } });
  const { link, rec } = makeLink(t, relay);
  link.start();
  await waitFor(() => rec.fatal.length === 1, 'fatal');
  assert.equal(rec.fatal[0]!.message, 'authentication rejected by relay: agent credential revoked');
  assert.equal(rec.fatal[0]!.code, 'unauthorized');
  await sleep(300); // many times the 20-100 ms backoff
  assert.equal(relay.upgrades, 1);
  assert.equal(rec.retries.length, 0);
  assert.equal(link.state, 'stopped');
});

test('HTTP 404 (agent deleted) is fatal; HTTP 503 is retried', LIMIT, async (t) => {
  const gone = await startRelay(t, { reject: { status: 404, body: { error: { code: 'not_found', message: 'no such agent' } } } });
  const a = makeLink(t, gone);
  a.link.start();
  await waitFor(() => a.rec.fatal.length === 1, 'fatal');
  assert.match(a.rec.fatal[0]!.message, /no such agent/);

  const busy = await startRelay(t, { reject: { status: 503, body: { error: { code: 'internal', message: 'draining' } } } });
  const b = makeLink(t, busy);
  b.link.start();
  await waitFor(() => busy.upgrades >= 3, 'retries');
  assert.equal(b.rec.fatal.length, 0);
  assert.match(b.rec.retries[0]!.lastError, /HTTP 503: draining/);
});

test('fatal close codes stop the link with the code name; others reconnect', LIMIT, async (t) => {
  const relay = await startRelay(t);
  const { link, rec } = makeLink(t, relay);
  link.start();
  (await relay.connection(0)).ws.close(1001, 'relay restarting');
  await relay.connection(1);
  assert.equal(rec.fatal.length, 0);
  (await relay.connection(1)).ws.close(4003, 'credential revoked');
  await waitFor(() => rec.fatal.length === 1, 'fatal');
  assert.equal(rec.fatal[0]!.message, 'relay closed the link: Unauthorized: credential revoked');
  await sleep(200);
  assert.equal(relay.connections.length, 2);
});

test('after a relay restart the link reconnects with exponential backoff, reset after hello', LIMIT, async (t) => {
  const relay = await startRelay(t);
  let n = 0;
  const { link, rec } = makeLink(t, relay, { credential: () => `rxa_attempt${++n}` });
  link.start();
  await relay.connection();
  const port = relay.port;

  // Given the relay goes away for a while
  await relay.close();
  await waitFor(() => rec.retries.length >= 5, 'five retries');
  // Then the delays grow 20, 40, 80 and stay at the 100 ms cap
  assert.deepEqual(rec.retries.slice(0, 5).map((r) => r.delayMs), [20, 40, 80, 100, 100]);

  // When it comes back on the same port, the agent reconnects and says hello again
  const again = await new TestRelay().listen(port);
  t.after(() => again.close());
  const conn = await again.connection();
  await waitFor(() => rec.connected.length === 2, 'second connect');
  // And the credential was re-read for the new attempt
  assert.notEqual(conn.req.headers.authorization, `Bearer rxa_attempt1`);
  assert.equal(rec.disconnected[0]!.wasConnected, true);

  // And after a link that got past hello, backoff starts from the base again
  const before = rec.retries.length;
  conn.ws.terminate();
  await waitFor(() => rec.retries.length > before, 'retry after second drop');
  assert.equal(rec.retries[before]!.delayMs, 20);
});

test('a link that goes silent past deadLinkTimeoutMs is dropped and redialled', LIMIT, async (t) => {
  const relay = await startRelay(t, { heartbeatIntervalMs: 30, deadLinkTimeoutMs: 200 });
  const { link, rec } = makeLink(t, relay);
  link.start();
  const first = await relay.connection(0);
  await waitFor(() => link.connected, 'connected');
  // A stalled relay: it stops reading, so it never answers our ws pings.
  await sleep(100);
  assert.equal(rec.disconnected.length, 0, 'ws pongs alone keep a quiet link alive');
  (first.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  await waitFor(() => rec.disconnected.length === 1, 'dead link detected', 3000);
  assert.match(rec.retries[0]!.lastError, /no frame from the relay/);
  await relay.connection(1);
});

test('dispose closes with 1000 and stops reconnecting', LIMIT, async (t) => {
  const relay = await startRelay(t);
  const { link, rec } = makeLink(t, relay);
  link.start();
  const conn = await relay.connection();
  await waitFor(() => link.connected, 'connected');
  await link.dispose();
  await waitFor(() => conn.closed, 'server saw the close');
  assert.equal(conn.closed!.code, 1000);
  await sleep(100);
  assert.equal(relay.connections.length, 1);
  assert.equal(rec.retries.length, 0);
  assert.equal(link.sendJson({ type: 'pong', ts: 1 }), false);
});

test('network errors are retried (nothing listening)', LIMIT, async (t) => {
  const relay = await startRelay(t);
  const url = relay.url;
  await relay.close();
  const { link, rec } = makeLink(t, { url } as TestRelay);
  link.start();
  await waitFor(() => rec.retries.length >= 2, 'retries');
  assert.match(rec.retries[0]!.lastError, /ECONNREFUSED/);
  assert.equal(rec.fatal.length, 0);
});
