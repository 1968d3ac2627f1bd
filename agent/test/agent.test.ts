/** runAgent wiring in-process: link + sessions + config file, with a fake PTY. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runAgent } from '../src/agent.js';
import { updateConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { readState } from '../src/state-file.js';
import type { PtySpawner } from '../src/sessions/pty.js';
import { AGENT_VERSION } from '../src/version.js';
import { EchoPty, registrationJson, tempDir, TestRelay, waitFor } from './helpers.js';

const LIMIT = { timeout: 15_000 };

test('a dropped link detaches its sessions and the next hello lists them; the reconnect uses the credential now in the config file; a fatal close ends with 2', LIMIT, async (t) => {
  const dir = tempDir(t);
  const relay = await new TestRelay().listen();
  t.after(() => relay.close());
  const configPath = join(dir, 'agent.json');
  writeFileSync(configPath, registrationJson(relay.url), { mode: 0o600 });
  const ptys: EchoPty[] = [];
  const spawnPty: PtySpawner = (f, a, o) => {
    const p = new EchoPty(f, a, o);
    ptys.push(p);
    return p;
  };
  let log = '';
  const agent = runAgent({
    configPath,
    env: { PATH: process.env.PATH, REXEC_TOKEN: 'rxt_' + 'a'.repeat(43) },
    logger: createLogger('debug', (l) => (log += l)),
    handleSignals: false,
    spawnPty,
    reconnectBaseMs: 20,
    reconnectCapMs: 50,
  });
  t.after(() => agent.stop());

  // Given a connected agent with an open terminal
  const first = await relay.connection(0);
  const hello = first.messages[0]!;
  assert.equal(hello.type === 'hello' && hello.version, AGENT_VERSION);
  first.ws.send(JSON.stringify({ type: 'shell_start', sessionId: 's1', cols: 80, rows: 24 }));
  await waitFor(() => first.messages.some((m) => m.type === 'shell_started'), 'shell_started');
  first.ws.send(JSON.stringify({ type: 'shell_input', sessionId: 's1', data: 'echo' }));
  await waitFor(() => first.frames.length > 0, 'echoed output');
  assert.equal(readState(join(dir, 'agent.state.json'))?.pid, process.pid);

  // When the credential is rotated on disk and the link drops
  updateConfig(configPath, { token: 'rxa_rotated' });
  first.ws.terminate();

  // Then the session survives, the new link presents the new credential, and its hello lists
  // the session with the output produced so far, for the relay to attach it again
  const second = await relay.connection(1);
  assert.equal(second.req.headers.authorization, 'Bearer rxa_rotated', 'REXEC_TOKEN with an API token must not override');
  assert.deepEqual(ptys[0]!.signals, [], 'the shell was not signalled');
  const hello2 = second.messages[0]!;
  assert.ok(hello2.type === 'hello', 'hello2.type === \'hello\'');
  assert.deepEqual(hello2.sessions.map((s) => [s.sessionId, s.outputBytes > 0]), [['s1', true]]);
  assert.match(log, /REXEC_TOKEN holds an API or enrollment token/);

  // When the relay says the agent was deleted, the agent stops with exit code 2
  second.ws.close(4006, 'deleted by admin');
  assert.equal(await agent.done, 2);
  assert.match(log, /relay closed the link: AgentDeleted: deleted by admin/);
  assert.equal(existsSync(join(dir, 'agent.pid')), false);
  const state = readState(join(dir, 'agent.state.json'));
  assert.equal(state?.stopped, true);
  assert.match(state?.lastError ?? '', /AgentDeleted/);
  assert.doesNotMatch(log, /rxa_/);
});

test('the pid file keeps a second agent off the same config, and a stale one is taken over', LIMIT, async (t) => {
  const dir = tempDir(t);
  const relay = await new TestRelay().listen();
  t.after(() => relay.close());
  const configPath = join(dir, 'agent.json');
  const pidPath = join(dir, 'agent.pid');
  writeFileSync(configPath, registrationJson(relay.url), { mode: 0o600 });
  const silent = createLogger('error', () => {});
  const spawnIdle = (args: string[]) => {
    const c = spawn('sh', args, { stdio: 'ignore', detached: true });
    t.after(() => process.kill(-c.pid!, 'SIGKILL')); // the whole group: sh and its sleep
    return c.pid!;
  };

  // A live process that looks like `rexec-agent ... start` holds the pid file: refused.
  writeFileSync(pidPath, `${spawnIdle(['-c', 'sleep 30; :', 'start'])}\n`);
  assert.throws(() => runAgent({ configPath, env: {}, logger: silent, handleSignals: false }), /already running \(pid \d+/);

  // A live process that is not an agent (pid reused after a crash): the pid file is stale.
  writeFileSync(pidPath, `${spawnIdle(['-c', 'sleep 30; :'])}\n`);
  const a = runAgent({ configPath, env: {}, logger: silent, handleSignals: false });
  assert.equal(readFileSync(pidPath, 'utf8').trim(), String(process.pid));
  await a.stop();
  assert.equal(existsSync(pidPath), false);
});
