/**
 * The real binary as a child process: `start` in the foreground and as a daemon, `status`,
 * `stop`, exit codes, and a terminal and an exec end to end through a test relay.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FrameKind } from '@rexec/shared';
import { processAlive } from '../src/exec/process-group.js';
import { readState } from '../src/state-file.js';
import { registrationJson, sleep, tempDir, TestRelay, waitFor, type RelayConnection } from './helpers.js';

const LIMIT = { timeout: 30_000 };
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'agent', 'src', 'cli.ts');
const CREDENTIAL = 'rxa_' + 'c'.repeat(43);

function agentEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, SHELL: '/bin/sh' };
  env.REXEC_AGENT_RECONNECT_BASE_MS = '50';
  env.REXEC_AGENT_RECONNECT_CAP_MS = '200';
  return env;
}

/** Runs the CLI to completion (async: the test relay lives in this process and must keep answering). */
function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env: agentEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startForeground(t: { after(fn: () => unknown): void }, config: string, ...extra: string[]): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--config', config, 'start', ...extra], { cwd: REPO, env: agentEnv() });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}

function send(conn: RelayConnection, msg: Record<string, unknown>) {
  conn.ws.send(JSON.stringify(msg));
}

test('start (foreground): hello, a terminal and an exec end to end, then SIGTERM exits 0', LIMIT, async (t) => {
  const dir = tempDir(t);
  const relay = await new TestRelay().listen();
  t.after(() => relay.close());
  const config = join(dir, 'agent.json');
  writeFileSync(config, registrationJson(relay.url), { mode: 0o600 });
  const agent = startForeground(t, config);

  const conn = await relay.connection(undefined, 15_000);
  assert.equal(conn.req.headers.authorization, `Bearer ${CREDENTIAL}`);
  assert.equal(conn.messages[0]!.type, 'hello');

  // status sees the running, connected agent through the pid and state files
  await waitFor(() => readState(join(dir, 'agent.state.json'))?.connectedSince, 'state connectedSince');
  const status = await run('--config', config, 'status', '--json');
  const s = JSON.parse(status.stdout);
  assert.equal(s.running, true);
  assert.equal(s.pid, agent.child.pid);
  assert.ok(s.connectedSince, 's.connectedSince');

  // exec: output frames and a result
  send(conn, { type: 'exec', execId: 'e1', command: 'echo from-exec; echo oops >&2; exit 4', timeoutMs: 5000 });
  const result = await waitFor(() => conn.messages.find((m) => m.type === 'exec_result'), 'exec_result');
  assert.equal(result.type === 'exec_result' && result.exitCode, 4);
  const stdout = Buffer.concat(conn.frames.filter((f) => f.id === 'e1' && f.kind === FrameKind.ExecStdout).map((f) => f.payload)).toString();
  assert.equal(stdout, 'from-exec\n');

  // terminal: started, output, and it keeps running when the agent stops (its session host outlives the agent)
  send(conn, { type: 'shell_start', sessionId: 't1', cols: 80, rows: 24 });
  const started = await waitFor(() => conn.messages.find((m) => m.type === 'shell_started'), 'shell_started');
  const shellPid = started.type === 'shell_started' ? started.pid : 0;
  send(conn, { type: 'shell_input', sessionId: 't1', data: 'echo $((6*7))x\n' });
  await waitFor(
    () => Buffer.concat(conn.frames.filter((f) => f.id === 't1').map((f) => f.payload)).toString().includes('42x'),
    'terminal output',
  );

  agent.child.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  await waitFor(() => conn.closed, 'relay saw the close');
  assert.equal(conn.closed!.code, 1000);
  await sleep(300);
  assert.equal(processAlive(shellPid), true, 'the shell outlives the agent');
  assert.equal(existsSync(join(dir, 'agent.sessions', 't1.json')), true, 'its host keeps a state file');
  assert.equal(existsSync(join(dir, 'agent.pid')), false);
  assert.doesNotMatch(agent.output(), /rxa_/, 'the credential must never be logged');
  assert.match(agent.output(), /connected to relay/);
});

test('start exits 2 and says why when the relay rejects the credential', LIMIT, async (t) => {
  const dir = tempDir(t);
  const relay = await new TestRelay({ reject: { status: 401, body: { error: { code: 'unauthorized', message: 'credential revoked' } } } }).listen();
  t.after(() => relay.close());
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, `api_url: ${relay.url}\nagent_id: agent-1\ntoken: ${CREDENTIAL}\n`, { mode: 0o600 });
  const agent = startForeground(t, config);
  assert.equal(await agent.exited, 2);
  assert.match(agent.output(), /authentication rejected by relay: credential revoked/);
  assert.equal(relay.upgrades, 1);
  assert.equal(readState(join(dir, 'agent.state.json'))?.lastError, 'authentication rejected by relay: credential revoked');
});

test('start --daemon reports the connection; status, a second start, and stop behave', LIMIT, async (t) => {
  const dir = tempDir(t);
  const relay = await new TestRelay().listen();
  t.after(() => relay.close());
  const config = join(dir, 'agent.json');
  writeFileSync(config, registrationJson(relay.url), { mode: 0o600 });

  const started = await run('--config', config, 'start', '--daemon');
  assert.equal(started.code, 0, started.stderr + started.stdout);
  const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
  assert.ok(pid > 0, 'pid > 0');
  assert.match(started.stdout, new RegExp(`log: ${join(dir, 'agent.log').replace(/[.]/g, '\\.')}`));
  assert.match(started.stdout, /connected to the relay/);
  assert.equal(readFileSync(join(dir, 'agent.pid'), 'utf8').trim(), String(pid));

  const status = await run('--config', config, 'status');
  assert.match(status.stdout, new RegExp(`running: +yes \\(pid ${pid}\\)`));
  assert.match(status.stdout, /connected: +since /);

  const again = await run('--config', config, 'start', '--daemon');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already running/);

  const stopped = await run('--config', config, 'stop');
  assert.equal(stopped.code, 0);
  assert.match(stopped.stdout, new RegExp(`agent stopped \\(pid ${pid}\\)`));
  assert.equal(processAlive(pid), false);
  assert.equal(existsSync(join(dir, 'agent.pid')), false);
  assert.match(readFileSync(join(dir, 'agent.log'), 'utf8'), /signal received; stopping/);

  const notRunning = await run('--config', config, 'stop');
  assert.equal(notRunning.code, 0);
  assert.match(notRunning.stdout, /not running/);
});

test('start --daemon reports a failure of the background agent', LIMIT, async (t) => {
  const dir = tempDir(t);
  const relay = await new TestRelay({ reject: { status: 403, body: { error: { code: 'forbidden', message: 'agent disabled' } } } }).listen();
  t.after(() => relay.close());
  const config = join(dir, 'agent.json');
  writeFileSync(config, registrationJson(relay.url), { mode: 0o600 });
  const r = await run('--config', config, 'start', '--daemon');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /the agent exited \(code 2\): authentication rejected by relay: agent disabled/);
});
