/**
 * Schedules, webhooks and analytics against real processes. Relays run a scaled test clock
 * (REXEC_SCHEDULER_TEST_CLOCK: one scheduler minute per real second or two), so `* * * * *`
 * schedules fire every second or two and no test waits on wall-clock minutes.
 *
 * - One relay + agent: clear 4xx for bad input (invalid and never-firing expressions refused
 *   fast), previews, hot reload over HTTP (edit, disable, enable, delete), run-now and overlap,
 *   signed webhooks retried after a failure, analytics with token usage, the `rexec` CLI.
 * - Two relays on one PostgreSQL database with the agent on one of them: a `* * * * *` schedule
 *   fires exactly once per fire time, and a kill -9 of the other relay changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { PreviewResponse, ProfileView, PromptView, RunView, ScheduleConflict, ScheduleFireView, ScheduleView, StatsResponse, WebhookDeliveryView, WebhookPayload, WebhookView } from '@rexec/shared';
import { verifySignature } from '../src/notify/signature.js';
import { CLI_BIN, run, startAgent, startRelay, tempDir, waitUntil, type AgentProc, type RelayProc } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENDED = new Set(['completed', 'failed', 'timeout', 'killed', 'lost']);
/** Scheduler time starts at a fixed instant (no cron in these tests fires by accident near it). */
const testClock = (scale: number) => `start=2026-06-15T12:00:00Z,anchor=${Date.now()},scale=${scale}`;

type Api = <T>(method: string, p: string, body?: unknown) => Promise<{ status: number; body: T & { error?: { code: string; message: string } } }>;

async function setUp(api: Api, agent: string, work: string) {
  const prof = await api<{ profile: ProfileView }>('POST', '/api/profiles', { name: `Shell ${randomBytes(2).toString('hex')}`, agentType: 'custom', invocationTemplate: 'cd "$WORKING_DIR" && sh -c "$PROMPT"', defaultTimeout: 1, maxTimeout: 5 });
  assert.equal(prof.status, 201, JSON.stringify(prof.body));
  const prompt = async (name: string, content: string) => {
    const r = await api<{ prompt: PromptView }>('POST', '/api/prompts', { name, content, agentProfileId: prof.body.profile.id, workingDirectory: work });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.prompt;
  };
  return { profile: prof.body.profile, prompt, agent };
}

describe('schedules, webhooks and analytics (one relay)', { timeout: 120_000 }, () => {
  let relay: RelayProc;
  let agent: AgentProc;
  let root: string;
  let work: string;
  let api: Api;
  let echo: PromptView;
  let sleeper: PromptView;
  const cliEnv = () => ({ REXEC_HOST: relay.url, REXEC_TOKEN: relay.apiToken, HOME: root });

  before(async () => {
    root = fs.realpathSync(tempDir('schedroot'));
    work = path.join(root, 'work');
    fs.mkdirSync(work);
    relay = await startRelay({ env: { REXEC_SCHEDULER_TEST_CLOCK: testClock(60), REXEC_SCHEDULER_TICK_MS: '100', REXEC_WEBHOOK_RETRY_BASE_MS: '300', REXEC_WEBHOOK_POLL_MS: '100' } });
    api = (m, p, b) => relay.api(m, p, b) as never;
    agent = await startAgent(relay, { name: 'sched-1', tags: ['fleet'], env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
    const s = await setUp(api, agent.name, work);
    echo = await s.prompt('echo', "echo scheduled-output; echo 'Total cost: $0.12'; echo 'Usage: 1.2k input, 300 output, 0 cache read, 0 cache write'");
    sleeper = await s.prompt('sleeper', 'sleep 30');
  });
  after(async () => {
    await agent?.stop();
    await relay?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const create = (body: Record<string, unknown>) => api<{ schedule: ScheduleView; warnings: ScheduleConflict[] }>('POST', '/api/schedules', { promptId: echo.id, agent: agent.name, ...body });
  const fires = async (id: string) => (await api<{ items: ScheduleFireView[] }>('GET', `/api/schedules/${id}/fires?limit=500`)).body.items;

  test('bad input gets a clear 4xx at once; invalid and never-firing expressions are refused on save', async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ name: 'x', cronExpression: '61 * * * *' }, 400, /Invalid value for minute: 61/],
      [{ name: 'x', cronExpression: '0 0 30 2 *' }, 400, /never fires/],
      [{ name: 'x', cronExpression: 'garbage' }, 400, /5 fields/],
      [{ name: 'x', cronExpression: '* * * * *', timezone: 'Mars/Olympus' }, 400, /unknown time zone/],
      [{ name: 'x', cronExpression: '* * * * *', agent: null }, 400, /exactly one of "agent".*"agentTag"/],
      [{ name: 'x', cronExpression: '* * * * *', agentTag: 'fleet' }, 400, /exactly one of "agent"/],
      [{ name: 'x', cronExpression: '* * * * *', promptId: 'nope' }, 404, /no prompt with id nope/],
      [{ name: 'x', cronExpression: '* * * * *', agent: 'nope' }, 404, /no agent "nope"/],
      [{ name: 'x', cronExpression: '* * * * *', overlapPolicy: 'pile-up' }, 400, /overlapPolicy/],
    ];
    for (const [body, status, msg] of cases) {
      const t0 = Date.now();
      const r = await create(body);
      assert.equal(r.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      assert.match(r.body.error!.message, msg);
      assert.ok(Date.now() - t0 < 1500, `answered in ${Date.now() - t0} ms`);
    }
    const ok = await create({ name: 'dup', cronExpression: '0 0 1 1 *', enabled: false });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.schedule.nextRunTime, null, 'disabled: no next run');
    assert.equal((await create({ name: 'dup', cronExpression: '0 0 1 1 *' })).status, 409);
    assert.equal((await api('GET', '/api/schedules/nope')).status, 404);
    assert.equal((await api('GET', '/api/schedules?enabled=maybe')).status, 400);
    // Previews: of an expression, and of a saved schedule (?n=5).
    const p = await api<PreviewResponse>('GET', `/api/schedules/preview?cron=${encodeURIComponent('30 2 * * *')}&timezone=America/New_York&n=3`);
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.times.length, 3);
    assert.ok(p.body.local.every((l) => / 0[23]:[03]0 E[SD]T$/.test(l)), JSON.stringify(p.body.local));
    const sp = await api<PreviewResponse>('GET', `/api/schedules/${ok.body.schedule.id}/preview?n=5`);
    assert.equal(sp.body.times.length, 5);
    assert.ok(sp.body.times.every((t) => t.endsWith('-01-01T00:00:00.000Z')), JSON.stringify(sp.body));
    assert.equal((await api('GET', `/api/schedules/${ok.body.schedule.id}/preview?n=0`)).status, 400);
    assert.equal((await api('DELETE', '/api/schedules/dup')).status, 204);
  });

  test('hot reload over HTTP: edit, disable, enable and delete take effect without a restart', async () => {
    const c = await create({ name: 'every-minute', cronExpression: '* * * * *' });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const id = c.body.schedule.id;
    assert.ok(c.body.schedule.nextRunTime, 'an enabled schedule has a next run time');
    const fired = async () => (await fires(id)).filter((f) => f.status === 'fired').length;
    await waitUntil('two fires', async () => (await fired()) >= 2, 10_000);
    const runs = await api<{ items: RunView[] }>('GET', `/api/runs?schedule=${id}&limit=100`);
    assert.ok(runs.body.items.length >= 2 && runs.body.items.every((r) => r.triggeredBy === 'schedule' && r.scheduleId === id), JSON.stringify(runs.body.items));
    await waitUntil('the last run to complete', async () => (await api<{ schedule: ScheduleView }>('GET', `/api/schedules/${id}`)).body.schedule.lastRunStatus === 'completed', 10_000);

    // Edited to once a year: no more fires.
    const edit = await api<{ schedule: ScheduleView }>('PUT', `/api/schedules/${id}`, { cronExpression: '0 0 1 1 *' });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.match(edit.body.schedule.nextRunTime!, /-01-01T00:00:00.000Z$/);
    await sleep(300);
    const n1 = (await fires(id)).length;
    await sleep(1600); // 1.6 scheduler minutes
    assert.equal((await fires(id)).length, n1, 'the edit took effect');
    assert.equal((await api('PUT', `/api/schedules/${id}`, { cronExpression: '0 0 30 2 *' })).status, 400, 'an edit is checked like a create');

    // Back to every minute, then disabled, enabled, deleted.
    assert.equal((await api('PUT', `/api/schedules/${id}`, { cronExpression: '* * * * *' })).status, 200);
    await waitUntil('a fire after the edit', async () => (await fires(id)).length > n1, 5000);
    assert.equal((await api('POST', `/api/schedules/${id}/disable`)).status, 200);
    await sleep(300);
    const n2 = (await fires(id)).length;
    await sleep(1600);
    assert.equal((await fires(id)).length, n2, 'disabled: no fires');
    const en = await api<{ schedule: ScheduleView }>('POST', `/api/schedules/${id}/enable`);
    assert.equal(en.body.schedule.enabled, true);
    await waitUntil('a fire after enabling', async () => (await fires(id)).length > n2, 5000);
    assert.ok((await fires(id)).every((f) => f.status !== 'missed'), 'the disabled minutes are not "missed"');
    assert.equal((await api('DELETE', `/api/schedules/${id}`)).status, 204);
    const runCount = async () => (await api<{ total: number }>('GET', `/api/runs?schedule=${id}`)).body.total;
    await sleep(300);
    const r1 = await runCount();
    await sleep(1600);
    assert.equal(await runCount(), r1, 'deleted: no runs');
    assert.equal((await api('GET', `/api/schedules/${id}/fires`)).status, 404);
  });

  test('run now: starts at once; refused while the previous run is active unless forced; conflicts are warned about', async () => {
    const c = await create({ name: 'long-one', promptId: sleeper.id, cronExpression: '0 3 * * *' });
    assert.equal(c.status, 201);
    const first = await api<{ runs: RunView[] }>('POST', '/api/schedules/long-one/run', {});
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.runs.length, 1);
    assert.equal(first.body.runs[0]!.scheduleId, c.body.schedule.id);
    const again = await api('POST', '/api/schedules/long-one/run', {});
    assert.equal(again.status, 409);
    assert.match(again.body.error!.message, /still (queued|running).*"force": true/);
    const forced = await api<{ runs: RunView[] }>('POST', '/api/schedules/long-one/run', { force: true });
    assert.equal(forced.status, 201);
    for (const r of [...first.body.runs, ...forced.body.runs]) assert.equal((await api('POST', `/api/runs/${r.id}/kill`)).status, 202);
    // A second enabled schedule on the same agent and directory whose runs can overlap.
    const other = await create({ name: 'long-two', promptId: sleeper.id, cronExpression: '0 3 * * MON-FRI' });
    assert.deepEqual(other.body.warnings.map((w) => w.name), ['long-one']);
    assert.match(other.body.warnings[0]!.message, /can overlap/);
    const show = await api<{ warnings: ScheduleConflict[] }>('GET', '/api/schedules/long-one');
    assert.deepEqual(show.body.warnings.map((w) => w.name), ['long-two']);
    assert.equal((await api('DELETE', '/api/schedules/long-two')).status, 204);
  });

  test('webhooks: signed deliveries to 127.0.0.1, retried with backoff after a failure, recorded', async () => {
    const got: { headers: http.IncomingHttpHeaders; body: string; at: number }[] = [];
    let failNext = 1;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        got.push({ headers: req.headers, body, at: Date.now() });
        const fail = failNext > 0;
        failNext--;
        res.writeHead(fail ? 500 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const secret = 'whsec_' + randomBytes(16).toString('hex');
      const hook = await api<{ webhook: WebhookView; secret: string }>('POST', '/api/webhooks', { name: 'ci', url, secret });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      assert.equal(hook.body.secret, secret);
      assert.ok(!JSON.stringify((await api('GET', '/api/webhooks')).body).includes(secret), 'the secret is never shown again');
      assert.equal((await api('POST', '/api/webhooks', { name: 'bad', url: 'ftp://x' })).status, 400);
      // A webhook scoped to another schedule hears nothing of this run.
      const scoped = await api<{ webhook: WebhookView }>('POST', '/api/webhooks', { name: 'scoped', url, schedule: 'long-one' });
      assert.equal(scoped.status, 201);

      const r = await api<{ run: RunView }>('POST', '/api/run', { agent: agent.name, promptId: echo.id });
      assert.equal(r.status, 201);
      await waitUntil('a delivery after a retry', () => got.length >= 2, 10_000);
      const [first, second] = got;
      for (const g of [first!, second!]) {
        assert.equal(g.headers['x-rexec-event'], 'run.completed');
        assert.ok(verifySignature(secret, String(g.headers['x-rexec-timestamp']), g.body, String(g.headers['x-rexec-signature'])), 'valid signature');
        assert.ok(!verifySignature('whsec_wrong-secret-0000', String(g.headers['x-rexec-timestamp']), g.body, String(g.headers['x-rexec-signature'])), '!verifySignature(\'whsec_wrong-secret-0000\', String(g.headers[\'x-rexec-timestamp\']), g.body, Strin...');
      }
      assert.equal(first!.body, second!.body, 'a retry sends the same body');
      assert.equal(first!.headers['x-rexec-delivery'], second!.headers['x-rexec-delivery']);
      assert.ok(second!.at - first!.at >= 250, `retried after backoff (${second!.at - first!.at} ms)`);
      const payload = JSON.parse(second!.body) as WebhookPayload;
      assert.equal(payload.run?.id, r.body.run.id);
      assert.equal(payload.run?.status, 'completed');
      const deliveries = await waitUntil('the delivery to be recorded', async () => {
        const d = await api<{ items: WebhookDeliveryView[] }>('GET', `/api/webhooks/${hook.body.webhook.id}/deliveries`);
        return d.body.items[0]?.status === 'delivered' ? d.body.items : null;
      });
      assert.equal(deliveries.length, 1);
      assert.deepEqual([deliveries[0]!.attempts, deliveries[0]!.responseStatus, deliveries[0]!.runId], [2, 204, r.body.run.id]);

      // A failing run: run.failed. A ping: delivered at once.
      const bad = await api<{ run: RunView }>('POST', '/api/run', { agent: agent.name, prompt: 'exit 3', profile: (await api<{ items: ProfileView[] }>('GET', '/api/profiles?q=Shell')).body.items[0]!.id, workingDirectory: work });
      assert.equal(bad.status, 201);
      await waitUntil('run.failed', () => got.some((g) => g.headers['x-rexec-event'] === 'run.failed'), 10_000);
      const ping = await api<{ deliveryId: string }>('POST', `/api/webhooks/${hook.body.webhook.id}/test`);
      assert.equal(ping.status, 202);
      await waitUntil('ping', () => got.some((g) => g.headers['x-rexec-delivery'] === ping.body.deliveryId), 5000);
      assert.equal((await api<{ total: number }>('GET', `/api/webhooks/${scoped.body.webhook.id}/deliveries`)).body.total, 0, 'scoped to another schedule');
      assert.equal((await api('GET', '/api/webhooks', undefined)).status, 200);
    } finally {
      server.close();
    }
  });

  test('analytics: success rates, durations, directories, schedule health, tokens and cost; rexec stats', async () => {
    const s = await api<StatsResponse>('GET', '/api/stats?bucket=hour');
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.ok(s.body.totals.runs >= 4, JSON.stringify(s.body.totals));
    assert.ok(s.body.totals.completed >= 2 && s.body.totals.failed >= 1, JSON.stringify(s.body.totals));
    const shell = s.body.byProfile.find((g) => g.name.startsWith('Shell'));
    assert.ok(shell && shell.successRate !== null && shell.successRate < 1 && shell.successRate > 0, JSON.stringify(s.body.byProfile));
    assert.ok(s.body.byAgentType.some((g) => g.name === 'custom'), JSON.stringify(s.body.byAgentType));
    assert.ok(s.body.byPrompt.some((g) => g.id === echo.id && g.name === 'echo'), JSON.stringify(s.body.byPrompt));
    assert.ok(s.body.topDirectories.some((d) => d.workingDirectory === work), JSON.stringify(s.body.topDirectories));
    assert.ok(s.body.durationOverTime.length >= 1 && s.body.durationOverTime[0]!.avgDurationSeconds !== null, JSON.stringify(s.body.durationOverTime));
    const health = s.body.scheduleHealth.find((h) => h.name === 'long-one');
    assert.ok(health && health.runs === 2 && health.failureRate === 1, JSON.stringify(health));
    assert.ok(s.body.usage.runsWithUsage >= 2, JSON.stringify(s.body.usage));
    assert.ok(s.body.usage.inputTokens >= 2400 && s.body.usage.costUsd! >= 0.24 - 1e-9, JSON.stringify(s.body.usage));
    assert.equal((await api('GET', '/api/stats?bucket=month')).status, 400);
    assert.equal((await api('GET', '/api/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status, 400);
    assert.equal((await api<StatsResponse>('GET', '/api/stats?agent=nobody')).body.totals.runs, 0);

    const out = await run(CLI_BIN, ['stats', '--days', '1'], cliEnv());
    assert.equal(out.status, 0, out.stderr);
    for (const heading of ['BY PROFILE', 'BY AGENT TYPE', 'SCHEDULE HEALTH', 'MOST ACTIVE DIRECTORIES', 'DURATION BY DAY', 'TOKENS AND COST']) assert.ok(out.stdout.includes(heading), `${heading} in\n${out.stdout}`);
    assert.match(out.stdout, /\$0\.\d{4}/);
  });

  test('rexec schedules: create, list, show, preview, edit, disable, enable, run-now, fires, delete', async () => {
    const env = cliEnv();
    const ok = async (args: string[]) => {
      const r = await run(CLI_BIN, args, env);
      assert.equal(r.status, 0, `rexec ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(await ok(['schedules', 'create', '--name', 'cli-one', '--prompt-id', echo.id, '--agent', agent.name, '--cron', '0 3 * * *', '--tz', 'Europe/Paris', '--overlap', 'queue']), /created schedule cli-one .*next run \d{4}-\d\d-\d\d/);
    const bad = await run(CLI_BIN, ['schedules', 'create', '--name', 'cli-bad', '--prompt-id', echo.id, '--agent', agent.name, '--cron', '0 0 30 2 *'], env);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /never fires/);
    assert.match(await ok(['schedules', 'list']), /cli-one\s+0 3 \* \* \*\s+Europe\/Paris\s+yes\s+sched-1/);
    assert.match(await ok(['schedules', 'show', 'cli-one']), /cron:\s+0 3 \* \* \* \(Europe\/Paris\)\s+overlap: queue/);
    assert.match(await ok(['schedules', 'preview', '--cron', '30 2 * * *', '--tz', 'America/New_York', '-n', '2']), /LOCAL TIME\s+UTC\n\d{4}-\d\d-\d\d 0[23]:[03]0 E[DS]T/);
    assert.match(await ok(['schedules', 'edit', 'cli-one', '--cron', '15 4 * * MON']), /updated schedule cli-one/);
    assert.match(await ok(['schedules', 'disable', 'cli-one']), /disabled/);
    assert.match(await ok(['schedules', 'enable', 'cli-one']), /enabled; next run/);
    const now = await ok(['schedules', 'run-now', 'cli-one']);
    const runId = now.trim().split(/\s+/)[0]!;
    await waitUntil('the run-now run to end', async () => ENDED.has((await api<{ run: RunView }>('GET', `/api/runs/${runId}`)).body.run.status));
    assert.match(await ok(['schedules', 'fires', 'cli-one']), /manual\s+fired\s+\w+/);
    assert.match(await ok(['schedules', 'delete', 'cli-one']), /deleted/);
    assert.match((await run(CLI_BIN, ['schedules', 'show', 'cli-one'], env)).stderr, /no schedule "cli-one"/);
    assert.match((await run(CLI_BIN, ['schedules', 'create', '--help'], env)).stdout, /--overlap <policy>\s+when the previous run is still active/);
  });
});

describe('two relays on one PostgreSQL database', { timeout: 120_000 }, () => {
  let a: RelayProc;
  let b: RelayProc;
  let agent: AgentProc;
  let root: string;

  before(async () => {
    root = fs.realpathSync(tempDir('sched2root'));
    const env = {
      REXEC_SECRET_KEY: randomBytes(32).toString('base64'), // the relay that dispatches a run may not be the one that queued it
      REXEC_SCHEDULER_TEST_CLOCK: testClock(40), // one scheduler minute every 1.5 s
      REXEC_SCHEDULER_TICK_MS: '100',
      REXEC_RUN_PUMP_MS: '200',
    };
    a = await startRelay({ database: 'postgres', env });
    b = await startRelay({ join: a, env });
    agent = await startAgent(b, { name: 'pg-agent', env: { REXEC_AGENT_ALLOWED_ROOTS: root } }); // held by relay B only
  });
  after(async () => {
    await agent?.stop();
    await b?.stop();
    await a?.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a `* * * * *` schedule fires exactly once per fire time; kill -9 of one relay mid-minute changes nothing', async () => {
    const apiA: Api = (m, p, body) => a.api(m, p, body) as never;
    const apiB: Api = (m, p, body) => b.api(m, p, body) as never;
    const s = await setUp(apiA, agent.name, root);
    const prompt = await s.prompt('tick', 'echo tick');
    const c = await apiA<{ schedule: ScheduleView }>('POST', '/api/schedules', { name: 'both-relays', promptId: prompt.id, agent: agent.name, cronExpression: '* * * * *' });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const id = c.body.schedule.id;
    const fires = async () => (await apiB<{ items: ScheduleFireView[] }>('GET', `/api/schedules/${id}/fires?limit=500`)).body.items.reverse();

    await waitUntil('five fires with both relays up', async () => (await fires()).length >= 5, 20_000);
    await sleep(700 + Math.floor(Math.random() * 600)); // somewhere inside a scheduler minute
    await a.kill();
    const killedAt = (await fires()).length;
    await waitUntil('four more fires with relay A gone', async () => (await fires()).length >= killedAt + 4, 20_000);
    assert.equal((await apiB('POST', `/api/schedules/${id}/disable`)).status, 200);
    await sleep(500);

    const list = await fires();
    // One row per fire time, every minute from the first to the last, none missed.
    const times = list.map((f) => Date.parse(f.fireTime));
    for (let i = 1; i < times.length; i++) assert.equal(times[i]! - times[i - 1]!, 60_000, `fire times contiguous: ${list.map((f) => f.fireTime).join(' ')}`);
    assert.ok(list.every((f) => f.trigger === 'cron' && (f.status === 'fired' || f.status === 'skipped')), JSON.stringify(list));
    const fired = list.filter((f) => f.status === 'fired');
    assert.ok(fired.length >= list.length - 2, `most fires ran (echo ends within a scheduler minute): ${JSON.stringify(list)}`);
    assert.ok(fired.every((f) => f.runIds.length === 1), JSON.stringify(fired));
    // Exactly one run per fired fire time, each dispatched by relay B (which holds the agent), all completed.
    const runs = await waitUntil('every run to end', async () => {
      const r = await apiB<{ items: RunView[] }>('GET', `/api/runs?schedule=${id}&limit=500`);
      return r.body.items.every((x) => ENDED.has(x.status)) ? r.body.items : null;
    }, 20_000);
    assert.equal(runs.length, fired.length, 'one run per fire');
    assert.deepEqual(new Set(runs.map((r) => r.id)), new Set(fired.flatMap((f) => f.runIds)));
    assert.ok(runs.every((r) => r.status === 'completed'), JSON.stringify(runs.map((r) => [r.id, r.status, r.statusReason])));
    const claimers = new Set(list.map((f) => f.relay));
    const after = list.slice(killedAt + 1).map((f) => f.relay);
    assert.ok(new Set(after).size <= 1, `after the kill only relay B claims fires: ${after}`);
    console.log(`# fires claimed by: ${[...claimers].map((r) => `${r} x${list.filter((f) => f.relay === r).length}`).join(', ')}; relay A killed after fire ${killedAt}`);
  });
});
