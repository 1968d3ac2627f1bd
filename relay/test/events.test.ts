/**
 * The live event stream (GET /api/events, server-sent events) against a real relay and real
 * agents: run status changes, agent online/offline, host metrics from a real agent every second,
 * a tag-limited operator seeing only its agents' events, resuming with Last-Event-ID (and
 * stream.reset when that is impossible), and PATCH /api/agents/{id} (rename, re-tag, 409, 403).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { agentMetricsResponseSchema, type AgentView, type ProfileView, type RunView } from '@rexec/shared';
import { startAgent, startRelay, tempDir, waitForAgentStatus, type AgentProc, type RelayProc } from './harness.js';
import { SseClient } from './sse-client.js';

describe('live events (SSE)', { timeout: 120_000 }, () => {
  let relay: RelayProc;
  let alpha: AgentProc;
  let beta: AgentProc;
  let root: string;
  let profile: ProfileView;
  let operatorToken: string;
  const streams: SseClient[] = [];
  const open = async (token: string, lastEventId?: string) => {
    const s = await SseClient.open(relay.url, token, lastEventId);
    streams.push(s);
    return s;
  };
  const runOn = async (agent: string, prompt: string): Promise<RunView> => {
    const r = await relay.api<{ run: RunView }>('POST', '/api/run', { agent, profile: profile.slug, workingDirectory: root, prompt });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.run;
  };

  before(async () => {
    root = fs.realpathSync(tempDir('events'));
    relay = await startRelay();
    const env = { REXEC_AGENT_ALLOWED_ROOTS: root, REXEC_AGENT_METRICS_INTERVAL: '1' };
    alpha = await startAgent(relay, { name: 'ev-alpha', tags: ['alpha'], env });
    beta = await startAgent(relay, { name: 'ev-beta', tags: ['beta'], env: { ...env, REXEC_AGENT_METRICS_INTERVAL: '0' } });
    const p = await relay.api<{ profile: ProfileView }>('POST', '/api/profiles', { name: 'Events shell', agentType: 'custom', invocationTemplate: 'cd "$WORKING_DIR" && sh -c "$PROMPT"', defaultTimeout: 1, maxTimeout: 5 });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    profile = p.body.profile;
    const t = await relay.api<{ token: string }>('POST', '/api/tokens', { name: 'alpha-operator', role: 'operator', agentTags: ['alpha'] });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    operatorToken = t.body.token;
  });

  after(async () => {
    for (const s of streams) s.close();
    await alpha?.stop().catch(() => {});
    await beta?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
  });

  test('the stream opens with a retry hint; agents and anonymous callers are refused', async () => {
    const s = await open(relay.apiToken);
    assert.equal(s.status, 200, 'an admin token may subscribe');
    for (let i = 0; i < 50 && !s.raw.includes('retry:'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(s.raw, /^retry: \d+\n: connected /, 'a retry hint and a comment come first');
    const anon = await fetch(`${relay.url}/api/events`);
    assert.equal(anon.status, 401, 'no credentials: 401');
    const agentCred = (JSON.parse(fs.readFileSync(alpha.configPath, 'utf8')) as { token: string }).token;
    const asAgent = await fetch(`${relay.url}/api/events`, { headers: { Authorization: `Bearer ${agentCred}` } });
    assert.equal(asAgent.status, 403, 'an agent credential: 403');
  });

  test('a run\'s creation, start and end arrive as events, for the admin and the operator of its agent', async () => {
    const admin = await open(relay.apiToken);
    const op = await open(operatorToken);
    const run = await runOn(alpha.name, 'sleep 0.5; echo done');
    for (const s of [admin, op]) {
      await s.waitFor('run.created', (e) => e.type === 'run.created' && e.run.id === run.id);
      await s.waitFor('run running', (e) => e.type === 'run.updated' && e.run.id === run.id && e.run.status === 'running');
      const fin = await s.waitFor('run.finished', (e) => e.type === 'run.finished' && e.run.id === run.id);
      assert.ok(fin.data.type === 'run.finished' && fin.data.run.status === 'completed', `the run completed (${JSON.stringify(fin.data)})`);
      assert.ok(fin.id && /^[a-z0-9]+-\d+$/.test(fin.id), `events carry ids (${fin.id})`);
    }
  });

  test('a tag-limited operator does not receive the events of another agent', async () => {
    const admin = await open(relay.apiToken);
    const op = await open(operatorToken);
    const run = await runOn(beta.name, 'echo beta');
    await admin.waitFor('beta run finished (admin)', (e) => e.type === 'run.finished' && e.run.id === run.id);
    // A later alpha event proves the operator's stream is flowing; the beta events must not be in it.
    const marker = await runOn(alpha.name, 'echo marker');
    await op.waitFor('alpha marker run', (e) => e.type === 'run.finished' && e.run.id === marker.id);
    const leaked = op.messages.filter((m) => ('run' in m.data && m.data.run.agentId === beta.agentId) || ('agent' in m.data && m.data.agent.id === beta.agentId) || ('agentId' in m.data && m.data.agentId === beta.agentId));
    assert.deepEqual(leaked.map((m) => m.event), [], 'no event about the beta agent reached the alpha operator');
  });

  test('agent offline and online arrive; the operator sees only its own agent come and go', async () => {
    const admin = await open(relay.apiToken);
    const op = await open(operatorToken);
    await beta.stop();
    await admin.waitFor('beta offline', (e) => e.type === 'agent.offline' && e.agent.id === beta.agentId);
    beta = await startAgent(relay, { name: 'ev-beta', configPath: beta.configPath, env: { REXEC_AGENT_ALLOWED_ROOTS: root, REXEC_AGENT_METRICS_INTERVAL: '0' } });
    await admin.waitFor('beta online', (e) => e.type === 'agent.online' && e.agent.id === beta.agentId);
    await alpha.stop();
    const off = await op.waitFor('alpha offline (operator)', (e) => e.type === 'agent.offline' && e.agent.id === alpha.agentId);
    assert.ok(off.data.type === 'agent.offline' && off.data.agent.status === 'offline', 'the event carries the agent as it is now');
    alpha = await startAgent(relay, { name: 'ev-alpha', configPath: alpha.configPath, env: { REXEC_AGENT_ALLOWED_ROOTS: root, REXEC_AGENT_METRICS_INTERVAL: '1' } });
    await op.waitFor('alpha online (operator)', (e) => e.type === 'agent.online' && e.agent.id === alpha.agentId);
    assert.ok(!op.messages.some((m) => 'agent' in m.data && m.data.agent.id === beta.agentId), 'the operator saw nothing of beta going offline and online');
  });

  test('host metrics from a real agent arrive every second, and the relay keeps the recent ones', async () => {
    const admin = await open(relay.apiToken);
    const first = await admin.waitFor('metrics', (e) => e.type === 'agent.metrics' && e.agentId === alpha.agentId, 10_000);
    assert.equal(first.id, null, 'metrics are transient: no event id');
    const t0 = first.data.type === 'agent.metrics' ? first.data.sample.ts : 0;
    const later = await admin.waitFor('a second sample', (e) => e.type === 'agent.metrics' && e.agentId === alpha.agentId && e.sample.ts > t0, 10_000);
    assert.ok(later.data.type === 'agent.metrics' && later.data.sample.memTotalBytes > 0, 'the sample carries memory figures');
    const r = await relay.api('GET', `/api/agents/${alpha.name}/metrics`);
    assert.equal(r.status, 200);
    const body = agentMetricsResponseSchema.parse(r.body);
    assert.ok(body.samples.length >= 2, `the relay holds recent samples (${body.samples.length})`);
    assert.ok(!admin.messages.some((m) => m.data.type === 'agent.metrics' && m.data.agentId === beta.agentId), 'beta (interval 0) sends no metrics');
    const op = await relay.api('GET', `/api/agents/${beta.name}/metrics`, undefined, operatorToken);
    assert.equal(op.status, 404, 'another agent\'s metrics are hidden from the tag-limited operator');
  });

  test('a reconnect with Last-Event-ID gets what it missed; an unknown id gets stream.reset', async () => {
    const s = await open(relay.apiToken);
    const before = await runOn(alpha.name, 'echo one');
    await s.waitFor('first run finished', (e) => e.type === 'run.finished' && e.run.id === before.id);
    const lastId = s.lastId();
    assert.ok(lastId, 'the stream had an id');
    s.close();
    const missed = await runOn(alpha.name, 'echo two');
    const probe = await open(relay.apiToken);
    await probe.waitFor('missed run finished', (e) => e.type === 'run.finished' && e.run.id === missed.id);
    const resumed = await open(relay.apiToken, lastId);
    await resumed.waitFor('replayed creation', (e) => e.type === 'run.created' && e.run.id === missed.id);
    await resumed.waitFor('replayed end', (e) => e.type === 'run.finished' && e.run.id === missed.id);
    assert.ok(!resumed.messages.some((m) => m.data.type === 'run.finished' && m.data.run.id === before.id), 'nothing from before the id is replayed');
    const stale = await open(relay.apiToken, 'zzzz-1');
    await stale.waitFor('stream.reset', (e) => e.type === 'stream.reset', 5000);
  });

  test('PATCH /api/agents/{id}: admins rename and re-tag (event, audit), names stay unique, others are refused', async () => {
    const s = await open(relay.apiToken);
    const bad = await relay.api('PATCH', `/api/agents/${beta.agentId}`, { name: 'no spaces allowed' });
    assert.equal(bad.status, 400, 'an invalid name is refused');
    const empty = await relay.api('PATCH', `/api/agents/${beta.agentId}`, {});
    assert.equal(empty.status, 400, 'an empty change is refused');
    const taken = await relay.api('PATCH', `/api/agents/${beta.agentId}`, { name: alpha.name });
    assert.equal(taken.status, 409, 'a name in use is a conflict');
    const denied = await relay.api('PATCH', `/api/agents/${alpha.agentId}`, { name: 'mine-now' }, operatorToken);
    assert.equal(denied.status, 403, 'an operator may not rename');
    const ok = await relay.api<{ agent: AgentView }>('PATCH', `/api/agents/${beta.agentId}`, { name: 'ev-beta-2', tags: ['beta', 'alpha'] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.agent.name, 'ev-beta-2');
    assert.deepEqual(ok.body.agent.tags, ['beta', 'alpha']);
    assert.equal(ok.body.agent.status, 'online', 'the link stays up under the new name');
    await s.waitFor('agent.updated', (e) => e.type === 'agent.updated' && e.agent.id === beta.agentId && e.agent.name === 'ev-beta-2');
    const got = await waitForAgentStatus(relay, beta.agentId, 'online');
    assert.equal(got.name, 'ev-beta-2');
    const audit = await relay.api<{ items: { action: string; target: string }[] }>('GET', '/api/audit?action=agent.update');
    assert.ok(audit.body.items.some((a) => a.target === 'ev-beta-2'), `the change is in the audit log: ${JSON.stringify(audit.body)}`);
    // Now tagged alpha too: the alpha operator sees beta's runs from here on.
    const op = await open(operatorToken);
    const run = await runOn('ev-beta-2', 'echo retagged');
    await op.waitFor('retagged agent run', (e) => e.type === 'run.finished' && e.run.id === run.id);
  });
});
