/**
 * TLS served by the relay itself: HTTPS and WSS with a certificate from a private CA. The agent
 * trusts that CA only when told to (--ca-file / REXEC_AGENT_CA_FILE); without it, registration
 * fails on the certificate: there is no silent insecure fallback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { AGENT_BIN, run, spawnAgent, startRelay, tempDir, waitUntil, type RelayProc } from './harness.js';

let relay: RelayProc;
let dir: string;
let ca: Buffer;
const agents: ReturnType<typeof spawnAgent>[] = [];

function call(method: string, url: string, opts: { token?: string; body?: unknown; ca?: Buffer } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ...(opts.ca ? { ca: opts.ca } : {}), headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...(opts.body ? { 'Content-Type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(opts.body ? JSON.stringify(opts.body) : undefined);
  });
}

before(async () => {
  dir = tempDir('tls');
  const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=rexec test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  o('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'relay.key', '-out', 'relay.csr');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  o('x509', '-req', '-in', 'relay.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'relay.pem');
  ca = fs.readFileSync(path.join(dir, 'ca.pem'));
  relay = await startRelay({ env: { REXEC_TLS_CERT: path.join(dir, 'relay.pem'), REXEC_TLS_KEY: path.join(dir, 'relay.key') } });
});
after(async () => {
  for (const a of agents) {
    a.proc.kill('SIGTERM');
    await a.exit;
  }
  await relay?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the relay serves HTTPS with its certificate; clients that do not trust the CA are refused', async () => {
  assert.match(relay.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ok = await call('GET', `${relay.url}/api/health`, { ca });
  assert.equal(ok.status, 200);
  await assert.rejects(call('GET', `${relay.url}/api/health`), /self[- ]signed|unable to verify|certificate/i);
});

test('an agent given the CA registers and links over WSS; without it, registration fails on the certificate', async () => {
  const noCa = await run(AGENT_BIN, ['register', '--host', relay.url, '--token', relay.apiToken, '--name', 'no-ca', '--config', path.join(tempDir('tlsa'), 'agent.json')]);
  assert.equal(noCa.status, 1);
  assert.match(noCa.stderr, /cannot reach the relay.*(SELF_SIGNED|UNABLE_TO_VERIFY|CERT)/i);

  const cfg = path.join(tempDir('tlsb'), 'agent.json');
  const reg = await run(AGENT_BIN, ['register', '--host', relay.url, '--token', relay.apiToken, '--name', 'with-ca', '--ca-file', path.join(dir, 'ca.pem'), '--config', cfg]);
  assert.equal(reg.status, 0, reg.stderr);
  assert.equal(JSON.parse(fs.readFileSync(cfg, 'utf8')).ca_file, path.join(dir, 'ca.pem'));
  const agent = spawnAgent(cfg);
  agents.push(agent);
  await waitUntil('the agent online over wss', async () => JSON.parse((await call('GET', `${relay.url}/api/agents/with-ca`, { ca, token: relay.apiToken })).text).agent?.status === 'online', 20_000);
  const exec = await call('POST', `${relay.url}/api/agents/with-ca/exec`, { ca, token: relay.apiToken, body: { command: 'echo over-tls-$((40+2))' } });
  const output = exec.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; data?: string });
  assert.equal(Buffer.from(output.find((e) => e.type === 'output')!.data!, 'base64').toString(), 'over-tls-42\n');

  const badCa = await run(AGENT_BIN, ['register', '--host', relay.url, '--token', relay.apiToken, '--name', 'bad-ca', '--ca-file', '/nonexistent/ca.pem', '--config', path.join(tempDir('tlsc'), 'agent.json')]);
  assert.equal(badCa.status, 1);
  assert.match(badCa.stderr, /cannot read the CA file \/nonexistent\/ca.pem: ENOENT/);
});
