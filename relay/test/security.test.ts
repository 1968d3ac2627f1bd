/**
 * Adversarial black-box suite: a real relay (on PostgreSQL, so the test can read the JWT secret
 * and forge tokens precisely) and two real agents on 127.0.0.1, attacked the way an outsider, a
 * low-privilege user or a stolen agent credential would. Every case asserts the safe outcome:
 * refused with a clear error, nothing executed, nothing leaked, other sessions unaffected.
 * Threat model: docs/security.md.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import WebSocket from 'ws';
import { CloseCode, type ProfileView, type RunView, type UserView } from '@rexec/shared';
import { AGENT_BIN, RELAY_BIN, TerminalClient, registerAgent, run, startAgent, startRelay, tempDir, waitUntil, type AgentProc, type RelayProc } from './harness.js';

describe('adversarial suite', () => {
  let relay: RelayProc;
  let staging: AgentProc;
  let prod: AgentProc;
  let root: string;
  let jwtSecret: Buffer;
  let adminId: string;
  let viewerToken: string;
  let stagingOperatorToken: string;
  let shell: ProfileView;
  const secretsSeen: string[] = [];

  const api = <T = { error: { code: string; message: string } }>(method: string, p: string, body?: unknown, token?: string) => relay.api<T>(method, p, body, token);
  const sql = async <T>(q: string, params: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: relay.databaseUrl });
    await c.connect();
    try {
      return (await c.query(q, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  const token = async (name: string, role: string, agentTags: string[] = []) => {
    const r = await api<{ token: string }>('POST', '/api/tokens', { name, role, agentTags });
    assert.equal(r.status, 201);
    secretsSeen.push(r.body.token);
    return r.body.token;
  };
  const forge = (claims: object, opts: jwt.SignOptions = {}, secret: jwt.Secret = jwtSecret) => jwt.sign(claims, secret, { algorithm: 'HS256', issuer: 'rexec-relay', ...opts });
  const upgradeStatus = (url: string, headers: Record<string, string> = {}, protocols?: string[]) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url, protocols ?? [], { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => {});
    });

  before(async () => {
    root = fs.realpathSync(tempDir('secroot'));
    relay = await startRelay({ database: 'postgres' });
    // (The first-start one-time admin password is printed by design, once; it is not in this list.)
    secretsSeen.push(relay.apiToken);
    staging = await startAgent(relay, { name: 'stage-1', tags: ['staging'], env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
    prod = await startAgent(relay, { name: 'prod-1', tags: ['prod'], env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
    for (const a of [staging, prod]) secretsSeen.push((JSON.parse(fs.readFileSync(a.configPath, 'utf8')) as { token: string }).token);
    jwtSecret = Buffer.from((await sql<{ value: string }>(`SELECT value FROM settings WHERE key = 'jwt_secret'`))[0]!.value, 'base64url');
    adminId = (await sql<{ id: string }>(`SELECT id FROM users WHERE username = 'admin'`))[0]!.id;
    viewerToken = await token('viewer-tok', 'viewer');
    stagingOperatorToken = await token('staging-op', 'operator', ['staging']);
    shell = (await api<{ items: ProfileView[] }>('GET', '/api/profiles?q=shell')).body.items.find((p) => p.builtIn && p.agentType === 'custom')!;
  });
  after(async () => {
    await staging?.stop();
    await prod?.stop();
    await relay?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('authentication', () => {
    const me = (bearer?: string) => fetch(new URL('/api/auth/me', relay.url), { headers: bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` } }).then((r) => r.status);
    const pv = async () => (await sql<{ password_version: number }>(`SELECT password_version FROM users WHERE id = $1`, [adminId]))[0]!.password_version;

    test('a correctly forged session works (the harness signs like the relay), so the refusals below are meaningful', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv() }, { expiresIn: 60 })), 200);
    });
    test('missing or malformed credentials: 401', async () => {
      assert.equal(await me(), 401);
      assert.equal(await me('garbage'), 401);
      assert.equal(await me('rxt_' + 'A'.repeat(43)), 401);
      assert.equal(await me('x'.repeat(5000)), 401);
    });
    test('expired session (past the leeway): 401', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv(), exp: Math.floor(Date.now() / 1000) - 60 })), 401);
    });
    test('not yet valid (nbf in the future): 401', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv() }, { expiresIn: 600, notBefore: 300 })), 401);
    });
    test('no exp claim: 401', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv() })), 401);
    });
    test('alg none: 401', async () => {
      const none = jwt.sign({ sub: adminId, pv: await pv(), iss: 'rexec-relay' }, '', { algorithm: 'none', expiresIn: 60 });
      assert.equal(await me(none), 401);
    });
    test('another algorithm with the right key (HS512): 401, the algorithm is pinned', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv() }, { algorithm: 'HS512', expiresIn: 60 })), 401);
    });
    test('signed with a different secret: 401', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv() }, { expiresIn: 60 }, 'not-the-secret')), 401);
    });
    test('tampered claims (payload edited, signature kept): 401', async () => {
      const good = forge({ sub: 'nobody', pv: await pv() }, { expiresIn: 60 });
      const [h, , s] = good.split('.');
      const payload = Buffer.from(JSON.stringify({ sub: adminId, pv: await pv(), iss: 'rexec-relay', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
      assert.equal(await me(`${h}.${payload}.${s}`), 401);
    });
    test('wrong issuer or stale password version: 401', async () => {
      assert.equal(await me(forge({ sub: adminId, pv: await pv() }, { expiresIn: 60, issuer: 'evil' })), 401);
      assert.equal(await me(forge({ sub: adminId, pv: (await pv()) - 1 }, { expiresIn: 60 })), 401);
    });
    test('revoked and expired API tokens: 401', async () => {
      const t = await token('short-lived', 'operator');
      assert.equal(await me(t), 200);
      await sql(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'short-lived'`);
      assert.equal(await me(t), 401);
      const t2 = await token('to-revoke', 'operator');
      assert.equal((await api('DELETE', '/api/tokens/to-revoke')).status, 200);
      assert.equal(await me(t2), 401);
    });
    test('five wrong passwords lock the account; the right one is refused while locked; the lock is audited', async () => {
      const created = await api<{ user: UserView }>('POST', '/api/users', { username: 'lockme', role: 'viewer', password: 'correct horse battery' });
      assert.equal(created.status, 201);
      const login = (password: string) => api('POST', '/api/auth/login', { username: 'lockme', password }, '');
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await login('wrong password!')).status);
      assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
      assert.equal(statuses[4], 429);
      const locked = await login('correct horse battery');
      assert.equal(locked.status, 429);
      assert.match(locked.body.error.message, /locked until/);
      const audit = await api<{ items: { action: string; target: string }[] }>('GET', '/api/audit?action=auth.&limit=50');
      assert.ok(audit.body.items.some((e) => e.action === 'auth.lockout' && e.target === 'lockme'), 'audit.body.items.some((e) => e.action === \'auth.lockout\' && e.target === \'lockme\')');
      assert.ok(audit.body.items.filter((e) => e.action === 'auth.login_failed' && e.target === 'lockme').length >= 6, 'audit.body.items.filter((e) => e.action === \'auth.login_failed\' && e.target === \'lockme\').length ...');
    });
  });

  describe('authorisation', () => {
    test('a viewer cannot act: run, exec, terminal, tokens, users, audit, settings, profiles', async () => {
      const cases: [string, string, unknown][] = [
        ['POST', '/api/run', { agent: 'stage-1', profile: shell.slug, prompt: 'id' }],
        ['POST', '/api/agents/stage-1/exec', { command: 'id' }],
        ['POST', '/api/tokens', { name: 'x', role: 'admin' }],
        ['GET', '/api/users', undefined],
        ['POST', '/api/users', { username: 'evil', role: 'admin' }],
        ['GET', '/api/audit', undefined],
        ['PUT', '/api/settings/runner', { maxConcurrentRuns: 100 }],
        ['POST', '/api/profiles', { name: 'x', agentType: 'custom', invocationTemplate: 'echo "$PROMPT"' }],
        ['DELETE', '/api/agents/stage-1', undefined],
        ['POST', '/api/agents/register', { name: 'sneaky' }],
      ];
      for (const [m, p, b] of cases) assert.equal((await api(m, p, b, viewerToken)).status, 403, `${m} ${p}`);
      await assert.rejects(TerminalClient.open(relay, 'stage-1', { token: viewerToken }), /403/);
      assert.equal((await api('GET', '/api/agents', undefined, viewerToken)).status, 200, 'but may read');
    });
    test('an operator may not administer: tokens, users, audit, profiles, agent deletion', async () => {
      const op = await token('plain-op', 'operator');
      for (const [m, p, b] of [
        ['POST', '/api/tokens', { name: 'y', role: 'admin' }],
        ['PUT', `/api/users/${adminId}`, { role: 'viewer' }],
        ['GET', '/api/audit/verify', undefined],
        ['DELETE', `/api/profiles/${shell.id}`, undefined],
        ['DELETE', '/api/agents/prod-1/credential', undefined],
      ] as const) {
        assert.equal((await api(m, p, b, op)).status, 403, `${m} ${p}`);
      }
    });
    test('an operator limited to staging sees and reaches only staging agents', async () => {
      const list = await api<{ agents: { name: string }[] }>('GET', '/api/agents', undefined, stagingOperatorToken);
      assert.deepEqual(list.body.agents.map((a) => a.name), ['stage-1']);
      assert.equal((await api('GET', '/api/agents/prod-1', undefined, stagingOperatorToken)).status, 404);
      assert.equal((await api('POST', '/api/agents/prod-1/exec', { command: 'touch pwned-exec' }, stagingOperatorToken)).status, 404);
      assert.equal((await api('POST', '/api/run', { agent: 'prod-1', profile: shell.slug, prompt: 'touch pwned-run', workingDirectory: root }, stagingOperatorToken)).status, 404);
      assert.equal((await api('GET', '/api/agents/prod-1/sessions', undefined, stagingOperatorToken)).status, 404);
      await assert.rejects(TerminalClient.open(relay, 'prod-1', { token: stagingOperatorToken }), /404/);
      const t = await TerminalClient.open(relay, 'stage-1', { token: stagingOperatorToken });
      t.close();
      assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('pwned')), [], 'nothing ran on prod');
    });
    test('runs on agents outside your tags are invisible, by list, by guessed id and by socket', async () => {
      const r = await api<{ run: RunView }>('POST', '/api/run', { agent: 'prod-1', profile: shell.slug, prompt: 'echo prod-secret-output', workingDirectory: root });
      assert.equal(r.status, 201);
      const id = r.body.run.id;
      await waitUntil('the prod run to end', async () => (await api<{ run: RunView }>('GET', `/api/runs/${id}`)).body.run.status === 'completed');
      const list = await api<{ items: RunView[] }>('GET', '/api/runs?limit=500', undefined, stagingOperatorToken);
      assert.ok(!list.body.items.some((x) => x.id === id), '!list.body.items.some((x) => x.id === id)');
      for (const p of [`/api/runs/${id}`, `/api/runs/${id}/output`, `/api/runs/${id}/log`]) assert.equal((await api('GET', p, undefined, stagingOperatorToken)).status, 404, p);
      assert.equal((await api('POST', `/api/runs/${id}/kill`, undefined, stagingOperatorToken)).status, 404);
      assert.equal(await upgradeStatus(`${relay.url.replace('http', 'ws')}/ws/runs/${id}`, { Authorization: `Bearer ${stagingOperatorToken}` }), 404);
      const exp = await api<{ runs: RunView[] }>('GET', '/api/runs/export', undefined, stagingOperatorToken);
      assert.ok(!JSON.stringify(exp.body).includes('prod-secret-output'), '!JSON.stringify(exp.body).includes(\'prod-secret-output\')');
    });
    test('guessed ids: 404 without a hint of existence', async () => {
      for (const p of ['/api/runs/AAAAAAAAAAAAAAAA', '/api/agents/00000000-0000-0000-0000-000000000000', '/api/prompts/nope', '/api/profiles/nope', `/api/users/${'x'.repeat(200)}`]) {
        assert.equal((await api('GET', p)).status, 404, p);
      }
    });
    test('taking access away closes live terminals at once (token revoked, user disabled)', async () => {
      const t = await token('live-op', 'operator');
      const term = await TerminalClient.open(relay, 'stage-1', { token: t });
      assert.equal((await api('DELETE', '/api/tokens/live-op')).status, 200);
      assert.equal((await term.waitClosed(5000)).code, CloseCode.Unauthorized);

      const created = await api<{ user: UserView }>('POST', '/api/users', { username: 'soon-gone', role: 'operator', password: 'a long enough password' });
      const login = await api<{ token: string }>('POST', '/api/auth/login', { username: 'soon-gone', password: 'a long enough password' }, '');
      const t2 = await TerminalClient.open(relay, 'stage-1', { token: login.body.token, auth: 'subprotocol' });
      assert.equal((await api('PUT', `/api/users/${created.body.user.id}`, { disabled: true })).status, 200);
      assert.equal((await t2.waitClosed(5000)).code, CloseCode.Unauthorized);
      assert.equal((await api('GET', '/api/agents', undefined, login.body.token)).status, 401, 'and the session is dead');
    });
    test('the last admin cannot be disabled or demoted', async () => {
      const r = await api('PUT', `/api/users/${adminId}`, { disabled: true });
      assert.equal(r.status, 409);
      assert.match(r.body.error.message, /last enabled admin/);
    });
  });

  describe('enrollment', () => {
    test('an enrollment token registers exactly one agent, with its tags, and then is spent', async () => {
      const created = await api<{ token: string; installCommand: string; registerCommand: string; expiresAt: string }>('POST', '/api/enrollment-tokens', { tags: ['staging'], expiresInMinutes: 5 }, stagingOperatorToken);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      secretsSeen.push(created.body.token);
      assert.match(created.body.token, /^rxe_/);
      assert.ok(created.body.installCommand.includes(`--host ${relay.url} --token ${created.body.token}`), 'created.body.installCommand.includes(`--host ${relay.url} --token ${created.body.token}`)');
      const cfg = path.join(tempDir('enrol'), 'agent.json');
      const reg = await run(AGENT_BIN, ['register', '--host', relay.url, '--token', created.body.token, '--name', 'enrolled-1', '--tags', 'prod', '--config', cfg]);
      assert.equal(reg.status, 0, reg.stderr);
      const agent = await api<{ agent: { tags: string[] } }>('GET', '/api/agents/enrolled-1');
      assert.deepEqual(agent.body.agent.tags, ['staging'], "the token's tags win over what the agent asks for");
      const again = await run(AGENT_BIN, ['register', '--host', relay.url, '--token', created.body.token, '--name', 'enrolled-2', '--config', path.join(tempDir('enrol'), 'agent.json')]);
      assert.notEqual(again.status, 0);
      assert.match(again.stderr, /already used/);
      assert.equal((await api('GET', '/api/agents/enrolled-2')).status, 404);
      assert.ok(!fs.readFileSync(cfg, 'utf8').includes('rxe_'), 'the enrollment token is not stored on the server');
    });
    test('expired, unknown and misused enrollment tokens do nothing', async () => {
      const t = await api<{ token: string }>('POST', '/api/enrollment-tokens', {});
      secretsSeen.push(t.body.token);
      await sql(`UPDATE enrollment_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`);
      const r = await api('POST', '/api/agents/register', { name: 'late' }, t.body.token);
      assert.equal(r.status, 401);
      assert.equal((await api('POST', '/api/agents/register', { name: 'forged' }, 'rxe_' + 'A'.repeat(43))).status, 401);
      const fresh = await api<{ token: string }>('POST', '/api/enrollment-tokens', {});
      secretsSeen.push(fresh.body.token);
      assert.equal((await api('GET', '/api/agents', undefined, fresh.body.token)).status, 401, 'it opens nothing else');
      assert.equal((await api('POST', '/api/enrollment-tokens', {}, viewerToken)).status, 403, 'viewers cannot create them');
    });
  });

  describe('agent identity', () => {
    const agentCred = (a: AgentProc) => (JSON.parse(fs.readFileSync(a.configPath, 'utf8')) as { token: string }).token;
    test("one agent's credential cannot open another agent's link", async () => {
      assert.equal(await upgradeStatus(`${relay.url.replace('http', 'ws')}/ws/agent/${prod.agentId}`, { Authorization: `Bearer ${agentCred(staging)}` }), 403);
    });
    test('an agent credential is no user: people routes refuse it', async () => {
      for (const [m, p] of [['GET', '/api/runs'], ['POST', '/api/run'], ['GET', '/api/users'], ['GET', `/api/agents/${prod.agentId}`], ['DELETE', `/api/agents/${prod.agentId}`]] as const) {
        const s = (await api(m, p, m === 'POST' ? {} : undefined, agentCred(staging))).status;
        assert.ok(s === 403 || s === 404, `${m} ${p} -> ${s}`);
      }
      assert.equal(await upgradeStatus(`${relay.url.replace('http', 'ws')}/ws/terminal/prod-1`, { Authorization: `Bearer ${agentCred(staging)}` }), 401);
    });
  });

  describe('transport', () => {
    test('hostile Origins are refused before the upgrade (terminal and run sockets)', async () => {
      for (const p of ['/ws/terminal/stage-1', '/ws/runs/AAAA']) {
        assert.equal(await upgradeStatus(`${relay.url.replace('http', 'ws')}${p}`, { Origin: 'https://evil.example', Authorization: `Bearer ${relay.apiToken}` }), 403, p);
      }
    });
    test('a cookie alone never authorises a socket', async () => {
      assert.equal(await upgradeStatus(`${relay.url.replace('http', 'ws')}/ws/terminal/stage-1`, { Origin: relay.url, Cookie: `token=${relay.apiToken}; session=${relay.apiToken}` }), 401);
    });
    test('a header flood gets 431, not a crash', async () => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < 300; i++) headers[`x-h${i}`] = 'y'.repeat(100);
      const s = await fetch(new URL('/api/health', relay.url), { headers }).then((r) => r.status, () => 431);
      assert.equal(s, 431);
      assert.equal((await api('GET', '/api/health')).status, 200);
    });
    test('an oversize frame closes only that socket (1009); others keep working', async () => {
      const bystander = await TerminalClient.open(relay, 'stage-1');
      const t = await TerminalClient.open(relay, 'stage-1');
      t.sendRaw(Buffer.alloc(3 * 1024 * 1024, 0x61), true);
      assert.equal((await t.waitClosed()).code, 1009);
      bystander.input('echo still-$((40+2))\r');
      await bystander.waitFor(/still-42/);
      bystander.close();
    });
    test('a message flood is cut off with 4008 without affecting other sockets', async () => {
      const t = await TerminalClient.open(relay, 'stage-1', { start: false });
      for (let i = 0; i < 12_000 && t.ws.readyState === WebSocket.OPEN; i++) t.sendRaw('{"type":"ping","ts":1}');
      assert.equal((await t.waitClosed()).code, CloseCode.RateLimited);
      assert.equal((await api('GET', '/api/health')).status, 200);
    });
    test('a silent socket on the agent endpoint is closed after the hello deadline', async () => {
      const reg = await api<{ agent: { id: string }; credential: string }>('POST', '/api/agents/register', { name: 'silent' });
      secretsSeen.push(reg.body.credential);
      const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/ws/agent/${reg.body.agent.id}`, { headers: { Authorization: `Bearer ${reg.body.credential}` } });
      const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
      assert.equal(code, CloseCode.HelloTimeout);
    });
    test('a raw TCP connection that never finishes its request is dropped', async () => {
      const sock = net.connect(relay.port, '127.0.0.1');
      sock.write('GET /api/health HTTP/1.1\r\nHost: x\r\n'); // no end of headers
      sock.resume();
      const closed = await new Promise<boolean>((resolve) => {
        sock.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 20_000).unref();
      });
      sock.destroy();
      assert.ok(closed, 'headersTimeout closes the slow client');
    });
  });

  describe('protocol', () => {
    test('malformed, unknown, binary garbage, deep nesting and invalid UTF-8 get errors; nothing crashes', async () => {
      const t = await TerminalClient.open(relay, 'stage-1');
      t.sendRaw('{not json');
      t.sendRaw('{"type":"launch_missiles"}');
      t.sendRaw(Buffer.from([0xff, 0x00, 0x13, 0x37]), true);
      t.sendRaw('['.repeat(100_000) + ']'.repeat(100_000));
      t.sendRaw(JSON.stringify({ type: 'shell_input', data: 42 }));
      await waitUntil('five error replies', () => t.messages.filter((m) => m.type === 'error').length >= 5, 5000);
      t.input('echo alive-$((6*7))\r');
      await t.waitFor(/alive-42/);
      // Invalid UTF-8 in a text frame: the WebSocket layer closes that socket (1007); the relay lives on.
      t.sendRaw(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), false);
      const ws = t.ws as unknown as { _socket: net.Socket };
      ws._socket.write(Buffer.from([0x81, 0x84, 0, 0, 0, 0, 0x7b, 0xc3, 0x28, 0x7d]));
      await t.waitClosed();
      assert.equal((await api('GET', '/api/health')).status, 200);
    });
  });

  describe('injection and paths', () => {
    test('shell metacharacters in exec argv are arguments, not code', async () => {
      const r = await api<string>('POST', '/api/agents/stage-1/exec', { argv: ['printf', '%s', `$(touch ${root}/pwned-argv); touch ${root}/pwned-argv2 \`id\``], cwd: root });
      assert.equal(r.status, 200);
      assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('pwned')), []);
    });
    test('working directories: .., encoded forms and symlinks cannot leave the allowed roots', async () => {
      fs.symlinkSync('/etc', path.join(root, 'etc-link'));
      for (const dir of [`${root}/../../etc`, `${root}/%2e%2e/%2e%2e/etc`, `${root}/etc-link`, '/etc', `${root}/..%2f..%2fetc`, `${root}/\u002e\u002e/\u002e\u002e`]) {
        const r = await api<{ run: RunView }>('POST', '/api/run', { agent: 'stage-1', profile: shell.slug, prompt: 'ls', workingDirectory: dir });
        assert.equal(r.status, 201);
        const end = await waitUntil('the run to end', async () => {
          const v = (await api<{ run: RunView }>('GET', `/api/runs/${r.body.run.id}`)).body.run;
          return v.status !== 'queued' && v.status !== 'running' ? v : null;
        });
        assert.equal(end.status, 'failed', dir);
        assert.equal(end.pid, null, `${dir}: nothing was started`);
      }
    });
  });

  describe('agent limits', () => {
    test("the agent's command allowlist refuses execs and runs outside it, whatever the relay asks", async () => {
      const cfg = path.join(tempDir('allow'), 'agent.json');
      assert.equal(registerAgent(relay, 'locked-down', cfg).status, 0);
      const c = JSON.parse(fs.readFileSync(cfg, 'utf8'));
      fs.writeFileSync(cfg, JSON.stringify({ ...c, command_allowlist: ['echo [a-z-]+', 'claude -p "\\$PROMPT"'] }), { mode: 0o600 });
      const a = await startAgent(relay, { configPath: cfg, name: 'locked-down', env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
      try {
        const ok = await api<string>('POST', '/api/agents/locked-down/exec', { command: 'echo allowed-cmd' });
        assert.match(JSON.stringify(ok.body), /\\"exitCode\\":0|"exitCode":0/);
        const no = await api<string>('POST', '/api/agents/locked-down/exec', { command: `echo x; touch ${root}/pwned-allow` });
        assert.match(JSON.stringify(no.body), /refused by this agent's command_allowlist/);
        const argv = await api<string>('POST', '/api/agents/locked-down/exec', { argv: ['touch', `${root}/pwned-allow2`] });
        assert.match(JSON.stringify(argv.body), /command_allowlist/);
        const r = await api<{ run: RunView }>('POST', '/api/run', { agent: 'locked-down', profile: shell.slug, prompt: `touch ${root}/pwned-allow3`, workingDirectory: root });
        const end = await waitUntil('the run to end', async () => {
          const v = (await api<{ run: RunView }>('GET', `/api/runs/${r.body.run.id}`)).body.run;
          return v.status !== 'queued' && v.status !== 'running' ? v : null;
        });
        assert.equal(end.status, 'failed');
        assert.match(end.statusReason ?? '', /command_allowlist/);
        assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('pwned')), []);
      } finally {
        await a.stop();
      }
    });
  });

  describe('leakage', () => {
    test('no secret in logs, process arguments, child environments, stored output or the audit log', async () => {
      const r = await api<{ run: RunView }>('POST', '/api/run', { agent: 'stage-1', profile: shell.slug, prompt: 'env; cat /proc/$PPID/cmdline | tr "\\0" " "', workingDirectory: root });
      const id = r.body.run.id;
      await waitUntil('the run to end', async () => (await api<{ run: RunView }>('GET', `/api/runs/${id}`)).body.run.status === 'completed');
      const out = (await api<{ rawOutput: string }>('GET', `/api/runs/${id}/output`)).body.rawOutput;
      assert.doesNotMatch(out, /REXEC_/, 'no REXEC_* variable reaches a run');
      const audit = JSON.stringify((await api('GET', '/api/audit/export')).body);
      const cmdlines = [staging, prod].map((a) => fs.readFileSync(`/proc/${a.proc.pid}/cmdline`, 'utf8'));
      for (const secret of secretsSeen) {
        const probe = secret.slice(0, 24);
        assert.ok(!relay.output.text.includes(probe), 'relay log');
        assert.ok(!staging.output.text.includes(probe) && !prod.output.text.includes(probe), 'agent logs');
        assert.ok(!out.includes(probe), 'run output');
        assert.ok(!audit.includes(probe), 'audit log');
        for (const c of cmdlines) assert.ok(!c.includes(probe), 'agent process arguments');
      }
      const stored = await sql<{ token_hash: string }>('SELECT token_hash FROM api_tokens');
      for (const row of stored) assert.match(row.token_hash, /^[0-9a-f]{64}$/, 'tokens are stored as hashes');
    });
    test('the audit log holds the events above and verifies intact', async () => {
      const actions = new Set((await api<{ items: { action: string }[] }>('GET', '/api/audit?limit=1000')).body.items.map((e) => e.action));
      for (const a of ['enrollment.create', 'auth.login_failed', 'auth.lockout', 'token.create', 'token.revoke', 'user.create', 'user.update', 'agent.register', 'terminal.open', 'terminal.close', 'exec.start', 'run.start']) {
        assert.ok(actions.has(a), `audit has ${a}`);
      }
      const v = await run(RELAY_BIN, ['audit', 'verify'], { DATABASE_URL: relay.databaseUrl! });
      assert.equal(v.status, 0, v.stderr);
      assert.match(v.stdout, /intact/);
    });
  });
});
