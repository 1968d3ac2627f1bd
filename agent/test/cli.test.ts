/** The commands that talk HTTP to the relay, run in-process against a fake relay API. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registerAgentRequestSchema } from '@rexec/shared';
import type { CliContext } from '../src/commands/context.js';
import { readConfig } from '../src/config.js';
import { runCli } from '../src/program.js';
import { tempDir, TestRelay, type RecordedRequest } from './helpers.js';

const LIMIT = { timeout: 15_000 };
const API_TOKEN = 'rxt_' + 'a'.repeat(43);
const CRED_1 = 'rxa_' + '1'.repeat(43);
const CRED_2 = 'rxa_' + '2'.repeat(43);

function agentView(name: string, tags: string[]) {
  return {
    id: 'agent-1', name, description: '', type: 'linux', hostname: 'h', os: 'o', arch: 'x64', shell: '/bin/sh', tags,
    version: '', status: 'offline', connectedAt: null, lastSeenAt: null, createdAt: new Date().toISOString(),
  };
}

/** A relay API that accepts API_TOKEN for register and the current credential for the rest. */
function fakeApi(state: { credential: string; deleteStatus?: number }) {
  return (req: RecordedRequest) => {
    const auth = req.headers.authorization;
    if (req.method === 'POST' && req.url === '/api/agents/register') {
      if (auth !== `Bearer ${API_TOKEN}`) return { status: 401, body: { error: { code: 'unauthorized', message: 'invalid API token' } } };
      const body = registerAgentRequestSchema.parse(req.body);
      return { status: 201, body: { agent: agentView(body.name, body.tags), credential: state.credential } };
    }
    if (auth !== `Bearer ${state.credential}`) return { status: 401, body: { error: { code: 'unauthorized', message: 'bad agent credential' } } };
    if (req.method === 'POST' && req.url === '/api/agents/agent-1/credential') {
      state.credential = CRED_2;
      return { status: 200, body: { agentId: 'agent-1', credential: CRED_2 } };
    }
    if (req.method === 'DELETE' && req.url === '/api/agents/agent-1') {
      return state.deleteStatus ? { status: state.deleteStatus, body: { error: { code: 'not_found', message: 'agent not found' } } } : { status: 204 };
    }
    return { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
  };
}

async function setup(t: { after(fn: () => unknown): void }, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir(t);
  const api = { credential: CRED_1 } as { credential: string; deleteStatus?: number };
  const relay = await new TestRelay({ http: fakeApi(api) }).listen();
  t.after(() => relay.close());
  const out = { stdout: '', stderr: '' };
  const ctx: CliContext = {
    env: { PATH: process.env.PATH, SHELL: '/bin/sh', ...env },
    cwd: dir,
    isRoot: false,
    homedir: dir,
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    self: { command: process.execPath, args: [] },
  };
  const cli = async (...argv: string[]) => {
    out.stdout = '';
    out.stderr = '';
    return runCli(argv, ctx);
  };
  return { dir, relay, api, out, cli, ctx, config: join(dir, 'agent.yaml') };
}

test('register posts the host facts with the API token and stores the agent credential 0600', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  const code = await cli('--config', config, 'register', '--host', relay.url + '/', '--token', API_TOKEN, '-n', 'web-1', '-t', 'prod, db,prod', '-d', 'front end', '-s', '/bin/sh');
  assert.equal(code, 0, out.stderr);
  const req = relay.requests[0]!;
  assert.equal(req.headers.authorization, `Bearer ${API_TOKEN}`);
  assert.equal(req.headers['content-type'], 'application/json');
  const body = registerAgentRequestSchema.parse(req.body);
  assert.equal(body.name, 'web-1');
  assert.deepEqual(body.tags, ['prod', 'db']);
  assert.equal(body.description, 'front end');
  assert.equal(body.shell, '/bin/sh');
  assert.equal(body.type, process.platform === 'linux' ? 'linux' : body.type);
  assert.equal(body.arch, process.arch);
  assert.ok(body.hostname && body.os, 'body.hostname && body.os');

  assert.deepEqual(readConfig(config), {
    api_url: relay.url,
    agent_id: 'agent-1',
    token: CRED_1,
    name: 'web-1',
    labels: ['prod', 'db'],
    shell: '/bin/sh',
    description: 'front end',
  });
  assert.equal(statSync(config).mode & 0o777, 0o600);
  assert.doesNotMatch(readFileSync(config, 'utf8'), /rxt_/, 'the API token must not be stored');
  assert.match(out.stdout, /registered agent "web-1" \(id agent-1\)/);
});

test('register refuses to overwrite a registration unless --force', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  assert.equal(await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a'), 0);
  assert.equal(await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'b'), 1);
  assert.match(out.stderr, /^rexec-agent: already registered as "a"/);
  assert.equal(readConfig(config)?.name, 'a');
  assert.equal(await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'b', '--force'), 0);
  assert.equal(readConfig(config)?.name, 'b');
});

test('register reports the relay error message and exits non-zero', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  const code = await cli('--config', config, 'register', '--host', relay.url, '--token', 'rxt_wrong', '-n', 'a');
  assert.equal(code, 1);
  assert.equal(out.stderr, 'rexec-agent: invalid API token\n');
  assert.equal(existsSync(config), false);
});

test('register takes the relay from REXEC_HOST / REXEC_API and the token from REXEC_TOKEN', LIMIT, async (t) => {
  const { relay, cli, config, ctx, out } = await setup(t);
  ctx.env.REXEC_API = relay.url;
  ctx.env.REXEC_TOKEN = API_TOKEN;
  assert.equal(await cli('--config', config, 'register', '-n', 'envy'), 0, out.stderr);
  assert.equal(readConfig(config)?.api_url, relay.url);
});

test('register validates input locally and needs a host and a token', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  assert.equal(await cli('--config', config, 'register', '--token', API_TOKEN), 1);
  assert.match(out.stderr, /no relay URL/);
  assert.equal(await cli('--config', config, 'register', '--host', relay.url), 1);
  assert.match(out.stderr, /no token: pass --token/);
  assert.equal(await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'bad name!'), 1);
  assert.match(out.stderr, /--name: names start with/);
  assert.equal(relay.requests.length, 0);
});

test('refresh-token rotates with the current credential and writes the new one', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a');
  assert.equal(await cli('--config', config, 'refresh-token'), 0, out.stderr);
  const req = relay.requests.at(-1)!;
  assert.equal(req.url, '/api/agents/agent-1/credential');
  assert.equal(req.headers.authorization, `Bearer ${CRED_1}`);
  assert.equal(readConfig(config)?.token, CRED_2);
  assert.equal(statSync(config).mode & 0o777, 0o600);
  assert.doesNotMatch(out.stdout, /rxa_/);
});

test('status shows the registration; --json is machine-readable', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  assert.equal(await cli('--config', config, 'status'), 0);
  assert.match(out.stdout, /registered: +no/);
  await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a', '-t', 'x,y');
  await cli('--config', config, 'status');
  assert.match(out.stdout, /registered: +yes/);
  assert.match(out.stdout, /agent id: +agent-1/);
  assert.match(out.stdout, /tags: +x, y/);
  assert.match(out.stdout, /running: +no/);
  assert.doesNotMatch(out.stdout, /rxa_/);
  await cli('--config', config, 'status', '--json');
  const s = JSON.parse(out.stdout);
  assert.equal(s.registered, true);
  assert.equal(s.running, false);
  assert.equal(s.host, relay.url);
});

test('register --allowed-root (repeatable) stores allowed_roots; status shows them and where they came from', LIMIT, async (t) => {
  const { relay, out, cli, config, dir } = await setup(t);
  mkdirSync(join(dir, 'srv'));
  const code = await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a', '--allowed-root', 'srv', '--allowed-root', '/nonexistent-rexec-root');
  assert.equal(code, 0, out.stderr);
  assert.deepEqual(readConfig(config)?.allowed_roots, [join(dir, 'srv'), '/nonexistent-rexec-root']);
  assert.match(out.stderr, /warning: allowed root \/nonexistent-rexec-root is not an existing directory/);
  await cli('--config', config, 'status');
  assert.match(out.stdout, new RegExp(`allowed roots: +${join(dir, 'srv')}, /nonexistent-rexec-root\n`));
  // Registering again without the option keeps the stored list.
  await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a', '--force');
  assert.deepEqual(readConfig(config)?.allowed_roots, [join(dir, 'srv'), '/nonexistent-rexec-root']);
  await cli('--config', config, 'status', '--json');
  assert.deepEqual(JSON.parse(out.stdout).allowedRoots, [join(dir, 'srv'), '/nonexistent-rexec-root']);
});

test('status: allowed roots default to the home directory', LIMIT, async (t) => {
  const { relay, out, cli, config, dir } = await setup(t);
  await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a');
  await cli('--config', config, 'status');
  assert.match(out.stdout, new RegExp(`allowed roots: +${dir} \\(default\\)`));
});

test('unregister deletes on the relay with the agent credential and removes the config', LIMIT, async (t) => {
  const { relay, out, cli, config } = await setup(t);
  await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a');
  assert.equal(await cli('--config', config, 'unregister'), 0, out.stderr);
  const req = relay.requests.at(-1)!;
  assert.equal(req.method, 'DELETE');
  assert.equal(req.url, '/api/agents/agent-1');
  assert.equal(req.headers.authorization, `Bearer ${CRED_1}`);
  assert.equal(existsSync(config), false);
  assert.equal(await cli('--config', config, 'unregister'), 1);
  assert.match(out.stderr, /not registered/);
});

test('unregister cleans up locally with a warning when the relay answers 404; --keep-config keeps settings', LIMIT, async (t) => {
  const { relay, api, out, cli, config } = await setup(t);
  await cli('--config', config, 'register', '--host', relay.url, '--token', API_TOKEN, '-n', 'a', '-t', 'x');
  api.deleteStatus = 404;
  assert.equal(await cli('--config', config, 'unregister', '--keep-config'), 0);
  assert.match(out.stderr, /warning: the relay answered 404 \(agent not found\)/);
  const kept = readConfig(config);
  assert.equal(kept?.name, 'a');
  assert.deepEqual(kept?.labels, ['x']);
  assert.equal(kept?.token, undefined);
  assert.equal(kept?.agent_id, undefined);
});

test('unregister keeps everything when the relay cannot be reached, unless --force', LIMIT, async (t) => {
  const { dir, out, cli } = await setup(t);
  const config = join(dir, 'agent.json');
  writeFileSync(config, JSON.stringify({ api_url: 'http://127.0.0.1:1', agent_id: 'agent-1', token: CRED_1 }));
  assert.equal(await cli('--config', config, 'unregister'), 1);
  assert.match(out.stderr, /cannot reach the relay.*nothing removed/);
  assert.equal(existsSync(config), true);
  assert.equal(await cli('--config', config, 'unregister', '--force'), 0);
  assert.equal(existsSync(config), false);
});

test('every command has help text', LIMIT, async (t) => {
  const { out, cli } = await setup(t);
  for (const cmd of ['register', 'start', 'stop', 'status', 'unregister', 'refresh-token']) {
    assert.equal(await cli(cmd, '--help'), 0);
    assert.match(out.stdout, new RegExp(`Usage: rexec-agent ${cmd}`));
  }
  assert.equal(await cli('frobnicate'), 1);
  assert.match(out.stderr, /unknown command/);
});
