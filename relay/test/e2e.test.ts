/**
 * End to end: a real relay process, real rexec-agent processes, real PTYs, on 127.0.0.1.
 * Runs against the embedded database, or PostgreSQL with REXEC_TEST_DATABASE=postgres.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { CloseCode, ErrorCode, FrameKind, LIMITS, encodeFrame, type AgentView } from '@rexec/shared';
import {
  AGENT_BIN,
  PG_ADMIN_URL,
  CLI_BIN,
  TerminalClient,
  connectRawAgent,
  execViaApi,
  registerAgent,
  run,
  spawnAgent,
  startAgent,
  startRelay,
  tempDir,
  testDatabaseKind,
  waitForAgentStatus,
  waitUntil,
  type AgentProc,
  type RelayProc,
} from './harness.js';

const DB = testDatabaseKind();

function processesMatching(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe(`end to end (${DB} database)`, () => {
  let relay: RelayProc;
  let agent: AgentProc;

  before(async () => {
    relay = await startRelay();
    agent = await startAgent(relay, { name: 'web-1', tags: ['prod', 'eu'] });
  });
  after(async () => {
    await agent?.stop();
    await relay?.stop();
  });

  test('a registered agent shows online with its host facts and tags', async () => {
    const r = await relay.api<{ agents: AgentView[] }>('GET', '/api/agents');
    assert.equal(r.status, 200);
    const a = r.body.agents.find((x) => x.name === 'web-1');
    assert.ok(a, 'agent listed');
    assert.equal(a.status, 'online');
    assert.deepEqual(a.tags, ['prod', 'eu']);
    assert.equal(a.arch, process.arch);
    assert.ok(a.os.length > 0 && a.shell.length > 0 && a.version.length > 0, 'a.os.length > 0 && a.shell.length > 0 && a.version.length > 0');
    assert.ok(a.lastSeenAt, 'a.lastSeenAt');
    // The credential is stored 0600 and is not the API token used to register.
    const cfg = JSON.parse(fs.readFileSync(agent.configPath, 'utf8'));
    assert.equal(fs.statSync(agent.configPath).mode & 0o777, 0o600);
    assert.match(cfg.token, /^rxa_/);
    assert.notEqual(cfg.token, relay.apiToken);
  });

  test('registering a duplicate name is a clear 409', async () => {
    const r = registerAgent(relay, 'web-1', path.join(tempDir('dup'), 'agent.json'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /already exists/);
  });

  test('a terminal runs a real shell: echo, resize, two sessions stay separate', async () => {
    const t1 = await TerminalClient.open(relay, 'web-1', { cols: 100, rows: 30 });
    const t2 = await TerminalClient.open(relay, agent.agentId, { cols: 80, rows: 24, auth: 'subprotocol' });
    t1.input('echo hi-$((40+2))\r');
    await t1.waitFor(/hi-42/);
    t1.input('stty size\r');
    await t1.waitFor(/30 100/);
    t1.resize(132, 43);
    t1.input('stty size\r');
    await t1.waitFor(/43 132/);
    t1.input('export MARK=one-$((1))\r');
    t2.input('echo "mark=[$MARK]" two-$((1+1))\r');
    await t2.waitFor(/mark=\[\] two-2/);
    assert.doesNotMatch(t2.text, /hi-42/);
    assert.doesNotMatch(t1.text, /two-2/);
    t1.input('exit 5\r');
    const stopped = await t1.waitForMessage('shell_stopped');
    assert.equal(stopped.exitCode, 5);
    assert.equal((await t1.waitClosed()).code, CloseCode.SessionEnded);
    t2.close();
  });

  test('exec returns exit codes, both streams, and signals', async () => {
    const ok = await execViaApi(relay, 'web-1', { argv: ['sh', '-c', 'echo out; echo err >&2'] });
    const exit = ok.events.at(-1)!;
    assert.equal(exit.type, 'exit');
    assert.equal(exit.exitCode, 0);
    assert.equal(ok.stdout, 'out\n');
    assert.equal(ok.stderr, 'err\n');

    const three = await execViaApi(relay, 'web-1', { command: 'exit 3' });
    assert.equal(three.events.at(-1)!.exitCode, 3);

    const sig = await execViaApi(relay, 'web-1', { command: 'kill -TERM $$' });
    assert.equal(sig.events.at(-1)!.exitCode, null);
    assert.equal(sig.events.at(-1)!.signal, 'SIGTERM');

    const missing = await execViaApi(relay, 'web-1', { argv: ['/no/such/program'] });
    assert.equal(missing.events.at(-1)!.exitCode, null);
    assert.match(String(missing.events.at(-1)!.error), /not found|ENOENT/);
  });

  test('an exec timeout kills the whole process group, children included', async () => {
    const marker = `sleep 7${Date.now() % 1000}1`;
    const started = Date.now();
    const r = await execViaApi(relay, 'web-1', { command: `sh -c '${marker} & ${marker}'`, timeoutSec: 1 });
    const exit = r.events.at(-1)!;
    assert.equal(exit.type, 'exit');
    assert.equal(exit.timedOut, true);
    assert.ok(Date.now() - started < 10_000, 'timeout honoured');
    await waitUntil('no sleeper left', () => processesMatching(marker).length === 0, 5000);
  });

  test('the rexec CLI logs in, lists agents and execs with the remote exit code', async () => {
    const home = tempDir('cli');
    const env = { REXEC_CLI_CONFIG: path.join(home, 'cli.json'), REXEC_HOST: '', REXEC_TOKEN: '' };
    const login = await run(CLI_BIN, ['login', '--host', relay.url, '--token', relay.apiToken], env);
    assert.equal(login.status, 0, login.stderr);
    assert.equal(fs.statSync(env.REXEC_CLI_CONFIG).mode & 0o777, 0o600);
    const agents = await run(CLI_BIN, ['agents'], env);
    assert.equal(agents.status, 0, agents.stderr);
    assert.match(agents.stdout, /web-1\s+online\s+prod,eu/);
    const uname = await run(CLI_BIN, ['exec', '--agent', 'web-1', '--', 'uname', '-a'], env);
    assert.equal(uname.status, 0, uname.stderr);
    assert.match(uname.stdout, /Linux/);
    const ls = await run(CLI_BIN, ['exec', '--agent', 'web-1', '--cmd', 'ls -la / >/dev/null; echo listed; exit 7'], env);
    assert.equal(ls.status, 7);
    assert.equal(ls.stdout, 'listed\n');
    const stderr = await run(CLI_BIN, ['exec', '--agent', 'web-1', '--cmd', 'echo oops >&2; exit 1'], env);
    assert.equal(stderr.status, 1);
    assert.equal(stderr.stderr, 'oops\n');
    const bad = await run(CLI_BIN, ['login', '--host', relay.url, '--token', 'rxt_' + 'x'.repeat(43)], { ...env, REXEC_CLI_CONFIG: path.join(home, 'other.json') });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /rejected/);
    const unknown = await run(CLI_BIN, ['exec', '--agent', 'nope', '--', 'true'], env);
    assert.equal(unknown.status, 255);
    assert.match(unknown.stderr, /no such agent/);
  });

  test('bad input gets clear errors: tokens, unknown agents, offline agents, bodies', async () => {
    assert.equal((await relay.api('GET', '/api/agents', undefined, 'rxt_' + 'y'.repeat(43))).status, 401);
    assert.equal((await relay.api('GET', '/api/agents', undefined, 'not-a-jwt')).status, 401);
    assert.equal((await relay.api('GET', '/api/agents', undefined, '')).status, 401);
    const unknown = await relay.api<{ error: { code: string } }>('POST', '/api/agents/nope/exec', { argv: ['true'] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, ErrorCode.NotFound);
    const invalid = await relay.api<{ error: { code: string; message: string } }>('POST', '/api/agents/web-1/exec', { argv: [] });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, ErrorCode.ValidationFailed);
    const notJson = await relay.api<{ error: { code: string } }>('POST', '/api/agents/web-1/exec', '{oops');
    assert.equal(notJson.status, 400);
    const huge = await relay.api<{ error: { code: string } }>('POST', '/api/agents/web-1/exec', { command: 'x'.repeat(300_000) });
    assert.equal(huge.status, 413);

    // A registered agent that is not connected.
    const reg = await relay.api<{ agent: AgentView }>('POST', '/api/agents/register', { name: 'offline-1' });
    assert.equal(reg.status, 201);
    const off = await relay.api<{ error: { code: string; message: string } }>('POST', '/api/agents/offline-1/exec', { argv: ['true'] });
    assert.equal(off.status, 503);
    assert.equal(off.body.error.code, ErrorCode.AgentOffline);
    assert.match(off.body.error.message, /offline/);
    const t = await TerminalClient.open(relay, 'offline-1', { start: false });
    t.send({ type: 'shell_start', cols: 80, rows: 24 });
    assert.equal((await t.waitClosed()).code, CloseCode.AgentOffline);
    assert.equal((await t.waitForMessage('error')).code, ErrorCode.AgentOffline);
  });

  test('terminal sockets: Origin allowlist and authentication are checked before the upgrade', async () => {
    await assert.rejects(TerminalClient.open(relay, 'web-1', { auth: 'subprotocol', origin: 'https://evil.example' }), (e: { status?: number }) => e.status === 403);
    await assert.rejects(TerminalClient.open(relay, 'web-1', { auth: 'subprotocol', token: 'garbage' }), (e: { status?: number }) => e.status === 401);
    await assert.rejects(TerminalClient.open(relay, 'no-such-agent'), (e: { status?: number }) => e.status === 404);
    // The agent credential is not a user credential.
    const cred = JSON.parse(fs.readFileSync(agent.configPath, 'utf8')).token as string;
    await assert.rejects(TerminalClient.open(relay, 'web-1', { token: cred }), (e: { status?: number }) => e.status === 401);
  });

  test('malformed terminal messages get an error reply and the session survives; oversized ones close only that socket', async () => {
    const t = await TerminalClient.open(relay, 'web-1');
    const other = await TerminalClient.open(relay, 'web-1');
    t.sendRaw('{not json');
    t.sendRaw(JSON.stringify({ type: 'format_disk' }));
    t.sendRaw(JSON.stringify({ type: 'shell_resize', cols: -1, rows: 5 }));
    t.sendRaw(Buffer.from([1, 2, 3]), true);
    await waitUntil('four error replies', () => t.messages.filter((m) => m.type === 'error').length >= 4);
    const codes = t.messages.filter((m) => m.type === 'error').map((m) => (m as { code: string }).code);
    assert.deepEqual(codes, [ErrorCode.InvalidMessage, ErrorCode.UnknownMessage, ErrorCode.InvalidMessage, ErrorCode.InvalidMessage]);
    t.input('echo still-$((2*21))\r');
    await t.waitFor(/still-42/);
    t.sendRaw('x'.repeat(LIMITS.maxMessageBytes + 10));
    assert.equal((await t.waitClosed()).code, 1009);
    other.input('echo unaffected-$((3*3))\r');
    await other.waitFor(/unaffected-9/);
    other.close();
  });

  test('malformed frames on the agent link get error replies and the link survives', async () => {
    const { agentId, ws, messages: got } = await connectRawAgent(relay, 'raw-1');
    ws.send('{garbage');
    ws.send(JSON.stringify({ type: 'rm_rf' }));
    ws.send(JSON.stringify({ type: 'exec_result', execId: 'x' }));
    ws.send(Buffer.from([250, 1, 2]));
    ws.send(Buffer.from(encodeFrame(FrameKind.ShellOutput, 'nosuchsession', 0, new Uint8Array([65]))));
    await waitUntil('four errors', () => got.filter((m) => m.type === 'error').length >= 4);
    assert.deepEqual(got.filter((m) => m.type === 'error').map((m) => m.code), ['invalid_message', 'unknown_message', 'invalid_message', 'invalid_message']);
    await waitForAgentStatus(relay, agentId, 'online');
    await waitUntil('a ping after the garbage (link alive)', () => got.find((m) => m.type === 'ping'), 5000);
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
    await waitForAgentStatus(relay, agentId, 'offline');
  });

  test('an agent with a bad credential exits with a clear message instead of retrying', async () => {
    const dir = tempDir('badagent');
    const cfg = path.join(dir, 'agent.json');
    fs.writeFileSync(cfg, JSON.stringify({ api_url: relay.url, agent_id: agent.agentId, token: 'rxa_' + 'z'.repeat(43), name: 'web-1' }), { mode: 0o600 });
    const bad = spawnAgent(cfg);
    const code = await Promise.race([bad.exit, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.equal(code, 2, bad.output.tail());
    assert.match(bad.output.text, /rejected|invalid|revoked/i);
    assert.doesNotMatch(bad.output.text, /zzzzzzzz/, 'the credential is never logged');
    // The real agent was not disturbed by the impostor.
    await waitForAgentStatus(relay, agent.agentId, 'online');
  });

  test('refresh-token rotates the credential without dropping the link', async () => {
    const before = JSON.parse(fs.readFileSync(agent.configPath, 'utf8')).token as string;
    const r = await run(AGENT_BIN, ['refresh-token', '--config', agent.configPath]);
    assert.equal(r.status, 0, r.stderr);
    const afterTok = JSON.parse(fs.readFileSync(agent.configPath, 'utf8')).token as string;
    assert.notEqual(afterTok, before);
    assert.equal((await relay.api('GET', `/api/agents/${agent.agentId}`, undefined, before)).status, 401, 'old credential revoked');
    assert.equal((await relay.api('GET', `/api/agents/${agent.agentId}`, undefined, afterTok)).status, 200, 'new credential works');
    const t = await TerminalClient.open(relay, 'web-1');
    t.input('echo rotated-ok\r');
    await t.waitFor(/rotated-ok/);
    t.close();
  });

  test('no secret ever appears in the relay or agent logs', async () => {
    const login = await relay.api<{ token: string }>('POST', '/api/auth/login', { username: 'admin', password: relay.admin.password }, '');
    assert.equal(login.status, 200);
    // Use the session and a query-string credential (accepted for compatibility, never logged).
    await relay.api('GET', '/api/auth/me', undefined, login.body.token);
    const cred = JSON.parse(fs.readFileSync(agent.configPath, 'utf8')).token as string;
    await fetch(`${relay.url}/ws/agent/${agent.agentId}?token=${cred}x`).catch(() => {});
    const logs = relay.output.text + agent.output.text;
    for (const secret of [relay.apiToken, cred, login.body.token]) {
      assert.ok(!logs.includes(secret), 'a secret leaked into the logs');
      assert.ok(!logs.includes(secret.slice(4, 24)), 'part of a secret leaked into the logs');
    }
  });

  test('PostgreSQL closing the relay\'s connections (a restart, an administrator) does not end the relay', { skip: DB !== 'postgres' && 'PostgreSQL only' }, async () => {
    const ok = await relay.api('GET', '/api/agents');
    assert.equal(ok.status, 200);
    const dbName = new URL(relay.databaseUrl!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      const r = await admin.query<{ pid: number }>('SELECT pid, pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
      assert.ok(r.rows.length > 0, 'the relay holds pooled connections to terminate');
      // pg_terminate_backend only signals: a backend on a busy machine can take a while to end,
      // and a request sent before it has would be its last query (CI saw that 500 once).
      const pids = r.rows.map((row) => row.pid);
      await waitUntil('the terminated backends to exit', async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [pids])).rows[0]!.n === 0, 5000, 20);
    } finally {
      await admin.end();
    }
    await waitUntil('the pool to see its connections closed', () => /connection was closed by the server/.test(relay.output.text), 5000);
    await new Promise((r) => setTimeout(r, 100)); // the relay reads the other closed sockets too
    assert.equal(relay.proc.exitCode, null, `the relay exited:\n${relay.output.tail()}`);
    const again = await relay.api<{ agents: AgentView[] }>('GET', '/api/agents');
    assert.equal(again.status, 200, `the next request gets a new connection: ${JSON.stringify(again.body)}\n${relay.output.tail()}`);
    assert.ok(again.body.agents.some((a) => a.name === 'web-1'), 'the agent list is intact');
  });
});

describe(`relay restarts and agent lifecycle (${DB} database)`, () => {
  let relay: RelayProc;
  before(async () => {
    relay = await startRelay();
  });
  after(async () => relay?.stop());

  test('relay killed with SIGKILL and restarted: the agent is back within seconds and new shells work', async () => {
    const agent = await startAgent(relay, { name: 'phoenix' });
    const t = await TerminalClient.open(relay, 'phoenix');
    await relay.kill();
    assert.equal((await t.waitClosed()).code, 1006);
    const t0 = Date.now();
    await relay.restart();
    await waitForAgentStatus(relay, agent.agentId, 'online', 10_000);
    const reconnectMs = Date.now() - t0;
    assert.ok(reconnectMs < 10_000, `back online after ${reconnectMs} ms`);
    const t2 = await TerminalClient.open(relay, 'phoenix');
    t2.input('echo reborn-$((5*5))\r');
    await t2.waitFor(/reborn-25/);
    t2.close();
    await agent.stop();
    assert.equal(await agent.exit, 0, 'SIGTERM ends the agent cleanly');
    await waitForAgentStatus(relay, agent.agentId, 'offline');
  });

  test('SIGTERM stops the relay cleanly: exit 0, agents told to go away, back after restart', async () => {
    const agent = await startAgent(relay, { name: 'graceful' });
    const t = await TerminalClient.open(relay, 'graceful');
    const t0 = Date.now();
    relay.proc.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => relay.proc.once('exit', (c) => r(c)));
    assert.equal(code, 0, relay.output.tail());
    assert.ok(Date.now() - t0 < 5000, 'shutdown is prompt');
    assert.equal((await t.waitClosed()).code, CloseCode.GoingAway);
    await waitUntil('the agent to see the going-away close', () => /1001|GoingAway/.test(agent.output.text), 5000);
    assert.equal(agent.proc.exitCode, null, 'the agent keeps running and retries');
    await relay.restart();
    await waitForAgentStatus(relay, agent.agentId, 'online', 10_000);
    await agent.stop();
  });

  test('start --daemon, status, stop, unregister', async (t) => {
    const dir = tempDir('daemon');
    const cfg = path.join(dir, 'agent.json');
    assert.equal(registerAgent(relay, 'daemon-1', cfg, ['ops']).status, 0);
    const start = await run(AGENT_BIN, ['start', '--daemon', '--config', cfg], { REXEC_AGENT_RECONNECT_BASE_MS: '200' });
    t.after(() => run(AGENT_BIN, ['stop', '--config', cfg])); // no daemon outlives a failed assertion
    assert.equal(start.status, 0, start.stderr + start.stdout);
    const id = JSON.parse(fs.readFileSync(cfg, 'utf8')).agent_id as string;
    await waitForAgentStatus(relay, id, 'online');
    const status = await run(AGENT_BIN, ['status', '--config', cfg]);
    assert.equal(status.status, 0);
    assert.match(status.stdout, /daemon-1/);
    assert.match(status.stdout, /running/i);
    assert.match(status.stdout, /connected:\s+since \d{4}-/i);
    const stop = await run(AGENT_BIN, ['stop', '--config', cfg]);
    assert.equal(stop.status, 0, stop.stderr);
    await waitForAgentStatus(relay, id, 'offline');
    const unreg = await run(AGENT_BIN, ['unregister', '--config', cfg]);
    assert.equal(unreg.status, 0, unreg.stderr);
    assert.equal((await relay.api('GET', `/api/agents/${id}`)).status, 404);
  });

  test('deleting an agent on the relay closes its link and the agent stops retrying', async () => {
    const agent = await startAgent(relay, { name: 'doomed' });
    assert.equal((await relay.api('DELETE', `/api/agents/${agent.agentId}`)).status, 204);
    const code = await Promise.race([agent.exit, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.equal(code, 2, agent.output.tail());
    assert.match(agent.output.text, /deleted/i);
  });
});
