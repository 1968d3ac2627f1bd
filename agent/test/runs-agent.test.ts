/** Runs through a running agent and a real link: hello.runs, survival of a dropped link, resume, forget, shutdown. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runAgent } from '../src/agent.js';
import { createLogger } from '../src/logger.js';
import { registrationJson, tempDir, TestRelay, waitFor } from './helpers.js';
import { combined, groupGone, LIMIT } from './runs-fixture.js';

test('a run survives a dropped link: the next hello lists it, run_attach resumes from the relay\'s offset, run_forget frees it', LIMIT, async (t) => {
  const dir = realpathSync(tempDir(t));
  const work = join(dir, 'work');
  const home = join(dir, 'home');
  mkdirSync(work);
  mkdirSync(home);
  const relay = await new TestRelay().listen();
  t.after(() => relay.close());
  const configPath = join(dir, 'agent.json');
  writeFileSync(configPath, registrationJson(relay.url), { mode: 0o600 });
  let log = '';
  const agent = runAgent({
    configPath,
    env: { PATH: process.env.PATH, HOME: home, REXEC_AGENT_ALLOWED_ROOTS: work },
    logger: createLogger('debug', (l) => (log += l)),
    handleSignals: false,
    reconnectBaseMs: 20,
    reconnectCapMs: 50,
  });
  t.after(() => agent.stop());

  const first = await relay.connection(0);
  const hello = first.messages[0]!;
  assert.ok(hello.type === 'hello', 'hello.type === \'hello\'');
  assert.deepEqual(hello.runs, []);
  const go = join(work, 'go');
  first.ws.send(
    JSON.stringify({
      type: 'run_start',
      runId: 'run-1',
      command: `printf %s "$PROMPT"; while [ ! -e go ]; do sleep 0.02; done; echo; echo done >&2`,
      cwd: work,
      env: { PROMPT: 'hello $(world)' },
      timeoutMs: 20_000,
      maxOutputBytes: 65_536,
    }),
  );
  await waitFor(() => combined(first.frames, 'run-1').toString() === 'hello $(world)', 'the prompt echoed');
  const startedMsg = first.messages.find((m) => m.type === 'run_started');
  assert.ok(startedMsg && startedMsg.type === 'run_started' && startedMsg.cwd === work, 'startedMsg && startedMsg.type === \'run_started\' && startedMsg.cwd === work');
  assert.deepEqual(readdirSync(join(dir, 'agent.runs')), ['run-1.json']);

  // The link drops; the run finishes meanwhile, with nobody attached.
  first.ws.terminate();
  const second = await relay.connection(1);
  writeFileSync(go, '');
  await waitFor(() => !existsSync(join(dir, 'agent.runs', 'run-1.json')), 'the run to end (its record removed)');
  const hello2 = second.messages[0]!;
  assert.ok(hello2.type === 'hello', 'hello2.type === \'hello\'');
  assert.equal(hello2.runs.length, 1);
  assert.equal(hello2.runs[0]!.runId, 'run-1');
  assert.equal(hello2.runs[0]!.state, 'running');
  assert.equal(hello2.runs[0]!.outputBytes, 14);
  assert.equal(second.frames.length, 0, 'no frames before run_attach');

  // The relay had stored 14 bytes: it resumes from there and gets the rest, then run_finished.
  second.ws.send(JSON.stringify({ type: 'run_attach', runId: 'run-1', offset: 14 }));
  await waitFor(() => second.messages.some((m) => m.type === 'run_finished'), 'run_finished');
  assert.equal(combined(second.frames, 'run-1', 0, 14).toString(), '\ndone\n');
  assert.equal(second.frames[0]!.offset, 14);
  const fin = second.messages.find((m) => m.type === 'run_finished');
  assert.ok(fin && fin.type === 'run_finished', 'fin && fin.type === \'run_finished\'');
  assert.equal(fin.status, 'completed');
  assert.equal(fin.outputBytes, 20);

  second.ws.send(JSON.stringify({ type: 'run_ack', runId: 'run-1', offset: 20 }));
  second.ws.send(JSON.stringify({ type: 'run_forget', runId: 'run-1' }));
  second.ws.send(JSON.stringify({ type: 'run_forget', runId: 'run-1' }));
  await waitFor(() => second.messages.some((m) => m.type === 'error'), 'not_found for the second forget');
  const err = second.messages.find((m) => m.type === 'error');
  assert.ok(err && err.type === 'error' && err.code === 'not_found' && err.ref === 'run_forget', 'err && err.type === \'error\' && err.code === \'not_found\' && err.ref === \'run_forget\'');

  // A run outside the allowed roots is refused; a long one is killed when the agent stops.
  second.ws.send(JSON.stringify({ type: 'run_start', runId: 'run-2', command: 'true', cwd: '/', env: {}, timeoutMs: 1000, maxOutputBytes: 65_536 }));
  second.ws.send(JSON.stringify({ type: 'run_start', runId: 'run-3', command: 'sleep 100 & sleep 100', cwd: work, env: {}, timeoutMs: 60_000, maxOutputBytes: 65_536 }));
  await waitFor(() => second.messages.some((m) => m.type === 'run_started' && m.runId === 'run-3'), 'run-3 started');
  const refused = second.messages.find((m) => m.type === 'run_finished' && m.runId === 'run-2');
  assert.ok(refused && refused.type === 'run_finished', 'refused && refused.type === \'run_finished\'');
  assert.equal(refused.status, 'failed');
  assert.equal(refused.error, `working directory / is outside the allowed roots (${work})`);
  const run3 = second.messages.find((m) => m.type === 'run_started' && m.runId === 'run-3');
  assert.ok(run3 && run3.type === 'run_started', 'run3 && run3.type === \'run_started\'');
  assert.deepEqual(readdirSync(join(dir, 'agent.runs')), ['run-3.json']);
  assert.equal(await agent.stop(), 0);
  await groupGone(run3.pid);
  assert.deepEqual(readdirSync(join(dir, 'agent.runs')), []);
  assert.match(log, /allowedRoots=/);
});
