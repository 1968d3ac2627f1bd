import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyEnvOverrides,
  ConfigError,
  loadRegistration,
  parseConfig,
  readConfig,
  updateConfig,
  writeConfig,
  type AgentConfig,
} from '../src/config.js';
import { defaultConfigPath, resolveConfigPath, runtimePaths, SYSTEM_CONFIG_PATH } from '../src/paths.js';
import { tempDir } from './helpers.js';

const sample: AgentConfig = {
  api_url: 'https://relay.example.com',
  agent_id: 'ag_123',
  token: 'rxa_' + 'x'.repeat(43),
  name: 'web-1',
  labels: ['prod', 'db'],
  shell: '/bin/bash',
  description: 'a: tricky "value"\nwith a newline',
  working_dir: '/srv',
};

test('config path: --config beats REXEC_CONFIG beats the default', () => {
  const ctx = { env: { REXEC_CONFIG: '/env/agent.yaml' }, isRoot: false, homedir: '/home/u', cwd: '/work' };
  assert.equal(resolveConfigPath('rel/flag.json', ctx), '/work/rel/flag.json');
  assert.equal(resolveConfigPath(undefined, ctx), '/env/agent.yaml');
  assert.equal(resolveConfigPath(undefined, { ...ctx, env: {} }), '/home/u/.rexec/agent.json');
  assert.equal(resolveConfigPath(undefined, { ...ctx, env: {}, isRoot: true }), SYSTEM_CONFIG_PATH);
  assert.equal(defaultConfigPath({ isRoot: true, homedir: '/root' }), '/etc/rexec/agent.yaml');
});

test('pid, log and state files sit next to the config and take its base name', () => {
  assert.deepEqual(runtimePaths('/etc/rexec/agent.yaml'), {
    config: '/etc/rexec/agent.yaml',
    pid: '/etc/rexec/agent.pid',
    log: '/etc/rexec/agent.log',
    state: '/etc/rexec/agent.state.json',
    runs: '/etc/rexec/agent.runs',
    sessions: '/etc/rexec/agent.sessions',
  });
  assert.equal(runtimePaths('/x/box2.json').pid, '/x/box2.pid');
});

test('env REXEC_TOKEN and REXEC_HOST (alias REXEC_API) override the file', () => {
  const file: AgentConfig = { api_url: 'https://file', token: 'rxa_file' };
  assert.deepEqual(applyEnvOverrides(file, {}).config, file);
  const a = applyEnvOverrides(file, { REXEC_HOST: 'https://host', REXEC_API: 'https://api', REXEC_TOKEN: 'rxa_env' });
  assert.equal(a.config.api_url, 'https://host');
  assert.equal(a.config.token, 'rxa_env');
  assert.deepEqual(a.applied, ['REXEC_HOST', 'REXEC_TOKEN']);
  assert.equal(applyEnvOverrides(file, { REXEC_API: 'https://api' }).config.api_url, 'https://api');
});

test('REXEC_TOKEN holding an API or enrollment token (rxt_, rxe_) is not used as the agent credential', () => {
  // Regression guard: REXEC_TOKEN doubles as register's token; a shell that still has it set
  // must not make `start` present it on the link.
  for (const prefix of ['rxt_', 'rxe_']) {
    const r = applyEnvOverrides({ token: 'rxa_file' }, { REXEC_TOKEN: prefix + 'a'.repeat(43) });
    assert.equal(r.config.token, 'rxa_file');
    assert.equal(r.applied.length, 0);
    assert.match(r.ignored[0]!, /API or enrollment token/);
  }
});

for (const ext of ['yaml', 'yml', 'json']) {
  test(`round trip through .${ext}, file 0600 in a new 0700 directory`, (t) => {
    const dir = join(tempDir(t), 'nested', 'rexec');
    const path = join(dir, `agent.${ext}`);
    writeConfig(path, sample);
    assert.deepEqual(readConfig(path), sample);
    const text = readFileSync(path, 'utf8');
    if (ext === 'json') assert.doesNotThrow(() => JSON.parse(text));
    else assert.match(text, /^api_url: https:\/\/relay\.example\.com$/m);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
}

test('writes are atomic: no temp files left, a replaced file is never half-written', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'agent.json');
  writeFileSync(path, '{"name":"old"}', { mode: 0o644 });
  const oldInode = statSync(path).ino;
  writeConfig(path, sample);
  assert.notEqual(statSync(path).ino, oldInode, 'the file must be replaced by rename, not rewritten in place');
  assert.deepEqual(readdirSync(dir), ['agent.json']);
  // The new file replaced the old inode (rename), so it carries the new mode, not the old 0644.
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readConfig(path)?.name, 'web-1');
});

test('a failed write leaves the old file intact and no temp file', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'agent.json');
  writeConfig(path, sample);
  // A value JSON cannot encode makes serialisation throw before anything is written.
  assert.throws(() => writeConfig(path, { ...sample, name: 1n as unknown as string }));
  assert.deepEqual(readConfig(path), sample);
  assert.deepEqual(readdirSync(dir), ['agent.json']);
});

test('updateConfig keeps unknown keys and removes keys set to undefined', (t) => {
  const path = join(tempDir(t), 'agent.yaml');
  writeFileSync(path, 'api_url: http://r\nagent_id: a\ntoken: rxa_t\nfuture_setting: 7\n');
  updateConfig(path, { token: 'rxa_new', agent_id: undefined });
  assert.deepEqual(readConfig(path), { api_url: 'http://r', token: 'rxa_new', future_setting: 7 });
});

test('invalid files give a clear error naming the file', (t) => {
  const dir = tempDir(t);
  const cases: [string, string, RegExp][] = [
    ['bad.json', '{"api_url": ', /bad\.json is not valid JSON/],
    ['bad.yaml', 'api_url: [unclosed\n', /bad\.yaml is not valid YAML/],
    ['list.yaml', '- a\n- b\n', /must hold a mapping/],
    ['labels.json', '{"labels": "prod"}', /"labels" must be a list of strings/],
    ['num.json', '{"agent_id": 5}', /"agent_id" must be a string/],
    ['url.json', '{"api_url": "ftp://x"}', /"api_url" must start with http/],
    ['roots.json', '{"allowed_roots": "/srv"}', /"allowed_roots" must be a list of directories/],
    ['roots2.yaml', 'allowed_roots: [1]\n', /"allowed_roots" must be a list of directories/],
    ['maxruns.json', '{"max_runs": 0}', /"max_runs" must be a whole number from 1 to 256/],
  ];
  for (const [name, text, re] of cases) {
    const path = join(dir, name);
    writeFileSync(path, text);
    assert.throws(() => readConfig(path), (err: unknown) => err instanceof ConfigError && re.test(err.message) && err.message.includes(path), name);
  }
  assert.deepEqual(parseConfig('', join(dir, 'empty.yaml')), {});
  assert.deepEqual(parseConfig('allowed_roots: [/srv, ~/code]\nmax_runs: 4\n', join(dir, 'ok.yaml')), { allowed_roots: ['/srv', '~/code'], max_runs: 4 });
});

test('loadRegistration explains what is missing', (t) => {
  const dir = tempDir(t);
  assert.throws(() => loadRegistration(join(dir, 'none.json'), {}), /not registered \(no config file at .*none\.json\)/);
  const path = join(dir, 'partial.json');
  writeFileSync(path, '{"api_url":"http://r/"}');
  assert.throws(() => loadRegistration(path, {}), /lacks agent_id, token/);
  writeFileSync(path, '{"api_url":"http://r/","agent_id":"a1"}');
  assert.throws(() => loadRegistration(path, { REXEC_TOKEN: 'rxt_' + 'a'.repeat(43) }), /lacks token/);
  const ok = loadRegistration(path, { REXEC_TOKEN: 'rxa_env', REXEC_HOST: 'http://h:1/base/' });
  assert.equal(ok.registration.token, 'rxa_env');
  assert.equal(ok.registration.api_url, 'http://h:1/base');
  assert.equal(existsSync(path), true);
});
