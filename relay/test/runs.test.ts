/**
 * The agent runner against real processes: relay, agent, shells. Profiles and their template
 * checks, every run state, kill and timeout leaving nothing behind, prompt injection, path
 * confinement, the concurrency limit, the output cap, a relay SIGKILL mid-run, an agent SIGKILL
 * mid-run, and the `rexec` CLI. Embedded database, or PostgreSQL with REXEC_TEST_DATABASE=postgres.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { DryRunResponse, ProfileView, RunnerSettings, RunView, ValidateTemplateResponse } from '@rexec/shared';
import { followRun } from '../src/cli/follow-run.js';
import { CLI_BIN, run, spawnAgent, startAgent, startRelay, tempDir, waitForAgentStatus, waitUntil, type AgentProc, type RelayProc } from './harness.js';

const relay_pg = () => process.env.REXEC_TEST_DATABASE === 'postgres';
const ENDED = new Set(['completed', 'failed', 'timeout', 'killed', 'lost']);

/** No process of the group is left (zombies waiting for a reaper do not count). */
function groupGone(pgid: number): boolean {
  const r = spawnSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
  const pids = r.stdout.split('\n').filter(Boolean);
  return pids.every((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return true;
    }
  });
}

class Sink extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

describe('agent runner', () => {
  let relay: RelayProc;
  let agent: AgentProc;
  let root: string;
  let work: string;
  let shellProfile: ProfileView;
  let printProfile: ProfileView;

  const api = <T>(method: string, p: string, body?: unknown) => relay.api<T>(method, p, body);
  const submit = async (body: Record<string, unknown>): Promise<RunView> => {
    const r = await api<{ run: RunView; error?: { message: string } }>('POST', '/api/run', { agent: agent.name, profile: shellProfile.slug, workingDirectory: work, ...body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.run;
  };
  const get = async (id: string): Promise<RunView> => (await api<{ run: RunView }>('GET', `/api/runs/${id}`)).body.run;
  const waitEnd = (id: string, timeoutMs = 20_000) => waitUntil(`run ${id} to end`, async () => {
    const r = await get(id);
    return ENDED.has(r.status) ? r : null;
  }, timeoutMs, 100);
  const output = async (id: string) => (await api<{ stdout: string; stderr: string; rawOutput: string }>('GET', `/api/runs/${id}/output`)).body;
  const setSettings = async (s: Partial<RunnerSettings>) => assert.equal((await api('PUT', '/api/settings/runner', s)).status, 200);

  before(async () => {
    root = fs.realpathSync(tempDir('runroot'));
    work = path.join(root, 'work');
    fs.mkdirSync(work);
    relay = await startRelay({ env: { REXEC_RUN_LOST_AFTER_MS: '4000' } });
    agent = await startAgent(relay, { name: 'runner-1', env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
    const mk = async (name: string, invocationTemplate: string) => {
      const r = await api<{ profile: ProfileView }>('POST', '/api/profiles', { name, agentType: 'custom', invocationTemplate, defaultTimeout: 1, maxTimeout: 5 });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.profile;
    };
    shellProfile = await mk('Shell', 'cd "$WORKING_DIR" && sh -c "$PROMPT"');
    printProfile = await mk('Print', 'cd "$WORKING_DIR" && printf %s "$PROMPT"');
  });
  after(async () => {
    await agent?.stop();
    await relay?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('built-in profiles are seeded; templates are checked on save; secrets are write-only', async () => {
    const list = await api<{ items: ProfileView[]; total: number }>('GET', '/api/profiles?limit=100');
    const builtIn = list.body.items.filter((p) => p.builtIn).map((p) => p.agentType).sort();
    assert.deepEqual(builtIn, ['aider', 'claude-code', 'codex', 'custom', 'gemini-cli', 'opencode']);

    const bad = async (invocationTemplate: string, check: string) => {
      const r = await api<{ error: { code: string; message: string; details: { checks: ValidateTemplateResponse['checks'] } } }>('POST', '/api/profiles', { name: 'Bad', agentType: 'custom', invocationTemplate });
      assert.equal(r.status, 400, `${invocationTemplate} should be refused`);
      const failed = r.body.error.details.checks.filter((c) => !c.ok && c.severity === 'error').map((c) => c.id);
      assert.ok(failed.includes(check), `${invocationTemplate}: expected ${check} among ${failed}`);
    };
    await bad('claude -p hello', 'prompt-present');
    await bad('claude -p "$PROMPT', 'quotes-balanced');
    await bad('echo "$(cat "$PROMPT"', 'substitutions-closed');
    await bad('claude -p "$PROMPT" && rm -rf /', 'dangerous-patterns');
    await bad('claude -p "$PROMPT" | | x', 'bash-syntax');
    const acked = await api<{ profile: ProfileView; checks: ValidateTemplateResponse['checks'] }>('POST', '/api/profiles', {
      name: 'Acked',
      agentType: 'custom',
      invocationTemplate: 'printf %s "$PROMPT"; reboot',
      acknowledgeDangerous: true,
    });
    assert.equal(acked.status, 201);
    assert.ok(acked.body.checks.some((c) => c.id === 'working-dir-used' && !c.ok), 'an unused $WORKING_DIR is a warning');
    assert.equal((await api('DELETE', `/api/profiles/${acked.body.profile.id}`)).status, 204);

    const v = await api<ValidateTemplateResponse>('POST', '/api/profiles/validate', { invocationTemplate: 'codex exec --cd "$WORKING_DIR" "$PROMPT"' });
    assert.equal(v.body.valid, true);
    assert.ok(v.body.checks.every((c) => c.ok), JSON.stringify(v.body.checks));

    // Secrets: stored encrypted, never returned, reach the run's environment only.
    const created = await api<{ profile: ProfileView }>('POST', '/api/profiles', {
      name: 'With secrets',
      agentType: 'custom',
      invocationTemplate: 'cd "$WORKING_DIR" && printf "%s|%s|%s" "$PROMPT" "$API_KEY" "$REGION"',
      env: [
        { name: 'API_KEY', value: 'sk-live-very-secret', secret: true },
        { name: 'REGION', value: 'eu-1' },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const p = created.body.profile;
    assert.deepEqual(p.env, [
      { name: 'API_KEY', secret: true, value: null },
      { name: 'REGION', secret: false, value: 'eu-1' },
    ]);
    assert.ok(!JSON.stringify(await api('GET', `/api/profiles/${p.slug}`)).includes('sk-live-very-secret'), '!JSON.stringify(await api(\'GET\', `/api/profiles/${p.slug}`)).includes(\'sk-live-very-secret\')');
    // An update that omits the secret's value keeps it.
    const upd = await api<{ profile: ProfileView }>('PUT', `/api/profiles/${p.id}`, { env: [{ name: 'API_KEY', secret: true }, { name: 'REGION', value: 'us-2' }] });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    const dry = await api<DryRunResponse>('POST', '/api/run', { agent: agent.name, profile: p.slug, prompt: 'hi', workingDirectory: work, dryRun: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.env.API_KEY, '********');
    assert.ok(!JSON.stringify(dry.body).includes('sk-live-very-secret'), 'dry runs never show secrets');
    const r = await submit({ profile: p.slug, prompt: 'hi' });
    assert.equal((await waitEnd(r.id)).status, 'completed');
    assert.equal((await output(r.id)).stdout, 'hi|sk-live-very-secret|us-2');
    assert.ok(!relay.output.text.includes('sk-live-very-secret') && !agent.output.text.includes('sk-live-very-secret'), 'no secret in any log');

    const dup = await api<{ profile: ProfileView }>('POST', `/api/profiles/${p.id}/duplicate`, {});
    assert.equal(dup.status, 201);
    assert.notEqual(dup.body.profile.slug, p.slug);
    assert.equal((await api('DELETE', `/api/profiles/${dup.body.profile.id}`)).status, 204);

    const tested = await api<{ ok: boolean; output: string }>('POST', `/api/profiles/${shellProfile.id}/test`, { agent: agent.name, workingDirectory: work });
    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    assert.equal(tested.body.ok, true);
    assert.equal(tested.body.output, 'test\n');
  });

  test('queued -> running -> completed: output streamed live and stored, exit code, duration, resource usage', async () => {
    // The busy loop is followed by a pause: usage is sampled every 250 ms, and a loop that ends
    // between two samples of a fast machine left no CPU time in any sample.
    const r = await submit({ prompt: 'echo out-1; echo err-1 >&2; sleep 0.3; echo out-2; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 0.6' });
    assert.ok(r.status === 'queued' || r.status === 'running', 'r.status === \'queued\' || r.status === \'running\'');
    const out = new Sink();
    const err = new Sink();
    const statuses: string[] = [];
    const final = await followRun({ host: relay.url, token: relay.apiToken, runId: r.id, out, err, onRun: (v) => statuses.push(v.status) });
    assert.equal(final.status, 'completed');
    assert.ok(statuses.includes('running') || statuses[0] === 'running', `saw ${statuses}`);
    assert.equal(out.text, 'out-1\nout-2\n');
    assert.equal(err.text, 'err-1\n');
    const v = await get(r.id);
    assert.equal(v.exitCode, 0);
    assert.ok(v.pid && v.pid > 0, 'v.pid && v.pid > 0');
    assert.ok(v.startedAt && v.finishedAt && v.durationSeconds! >= 0.3, 'v.startedAt && v.finishedAt && v.durationSeconds! >= 0.3');
    assert.equal(v.workingDirectory, work);
    assert.ok(v.resourceUsage, 'resource usage reported');
    assert.ok(v.resourceUsage!.cpuUserMs + v.resourceUsage!.cpuSystemMs > 0, JSON.stringify(v.resourceUsage));
    assert.ok(v.resourceUsage!.peakRssBytes > 100 * 1024, JSON.stringify(v.resourceUsage));
    const o = await output(r.id);
    assert.equal(o.stdout, 'out-1\nout-2\n');
    assert.equal(o.stderr, 'err-1\n');
    assert.equal(o.rawOutput.replace(/\r/g, ''), 'out-1\nerr-1\nout-2\n');
    const log = await fetch(new URL(`/api/runs/${r.id}/log`, relay.url), { headers: { Authorization: `Bearer ${relay.apiToken}` } });
    assert.match(log.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="run-${r.id}.log"`));
    assert.equal(await log.text(), 'out-1\nerr-1\nout-2\n');
    // Listing, filters and sorting.
    const list = await api<{ items: RunView[]; total: number }>('GET', `/api/runs?status=completed&agent=${agent.name}&profile=${shellProfile.slug}&sort=startedAt&order=desc&limit=5`);
    assert.equal(list.status, 200);
    assert.equal(list.body.items[0]!.id, r.id);
    assert.equal((await api('GET', '/api/runs?status=bogus')).status, 400);
    assert.equal((await api<{ total: number }>('GET', `/api/runs?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.total, 0);
    const exp = await api<{ count: number; runs: (RunView & { stdout: string; stderr: string })[] }>('GET', `/api/runs/export?q=${encodeURIComponent('echo out-1')}&agent=${agent.name}&status=completed`);
    assert.equal(exp.status, 200);
    assert.deepEqual(exp.body.runs.map((x) => [x.id, x.stdout, x.stderr]), [[r.id, 'out-1\nout-2\n', 'err-1\n']], 'the export holds exactly the matching run, with its output');
    assert.equal(exp.body.count, 1);
    const none = await api<{ runs: unknown[] }>('GET', `/api/runs/export?q=${encodeURIComponent('echo out-1')}&status=failed`);
    assert.deepEqual(none.body.runs, [], 'filters apply to the export');
  });

  test('failed, killed and timeout; kill and timeout leave no process of the group', async () => {
    const failed = await waitEnd((await submit({ prompt: 'echo about to fail; exit 3' })).id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.exitCode, 3);

    const k = await submit({ prompt: 'sleep 100 & sleep 100 & echo started; wait' });
    const running = await waitUntil('the run to have a pid', async () => {
      const v = await get(k.id);
      return v.pid && (await output(k.id)).stdout.includes('started') ? v : null;
    });
    assert.ok(!groupGone(running.pid!), 'the group is alive before the kill');
    const killResp = await api<{ run: RunView }>('POST', `/api/runs/${k.id}/kill`);
    assert.equal(killResp.status, 202);
    const killed = await waitEnd(k.id);
    assert.equal(killed.status, 'killed');
    assert.ok(groupGone(running.pid!), 'nothing of the killed run survives');
    assert.equal((await api('POST', `/api/runs/${k.id}/kill`)).status, 409, 'killing an ended run is a conflict');

    const t = await submit({ prompt: 'sleep 100 & sleep 100', timeout: 0.02 });
    const tv = await waitEnd(t.id);
    assert.equal(tv.status, 'timeout');
    assert.match(tv.statusReason ?? '', /timed out|timeout/);
    assert.ok(tv.pid && groupGone(tv.pid), 'nothing of the timed-out run survives');
  });

  test('PTY mode: the template runs under a terminal of the requested size; output is stored clean and raw', async () => {
    const pty = await api<{ profile: ProfileView }>('POST', '/api/profiles', { name: 'Tty', agentType: 'custom', invocationTemplate: 'cd "$WORKING_DIR" && sh -c "$PROMPT"', pty: true });
    assert.equal(pty.status, 201);
    const r = await waitEnd((await submit({ profile: pty.body.profile.slug, prompt: "[ -t 1 ] && echo is-a-tty; stty size; printf '\\033[31mred\\033[0m\\n'" })).id);
    assert.equal(r.status, 'completed', r.statusReason ?? '');
    assert.equal(r.pty, true);
    const o = await output(r.id);
    assert.equal(o.stdout, 'is-a-tty\n50 200\nred\n');
    assert.match(o.rawOutput, /\x1b\[31mred\x1b\[0m\r\n/);
  });

  test('prompt injection: quotes, backticks, $(...), newlines and ; arrive byte-exact and run nothing', async () => {
    const evil = `it's "quoted" \`touch pwned-backtick\` $(touch pwned-subst) ; touch pwned-semicolon\n$HOME \${PATH} \\ 'x' && touch pwned-and | tee pwned-pipe\r\n\u00e9\u{1f600} {{NOT_A_VAR}} %s %n`;
    const r = await submit({ profile: printProfile.slug, prompt: evil });
    assert.equal((await waitEnd(r.id)).status, 'completed');
    assert.equal((await output(r.id)).rawOutput, evil.replace(/\r\n/g, '\r\n'));
    assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith('pwned')), [], 'no file was created');
    // Variables are filled into the text and reach the shell as variables, not as code.
    const v = await submit({ profile: printProfile.slug, prompt: 'module={{MODULE_NAME}}', variables: { MODULE_NAME: '$(touch pwned-var)' } });
    assert.equal((await waitEnd(v.id)).status, 'completed');
    assert.equal((await output(v.id)).rawOutput, 'module=$(touch pwned-var)');
    assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith('pwned')), []);
    // A prompt near the limit (it travels as one environment variable) arrives whole.
    const big = 'ab\n'.repeat(40_000);
    const b = await submit({ profile: printProfile.slug, prompt: big });
    assert.equal((await waitEnd(b.id)).status, 'completed');
    assert.equal((await output(b.id)).rawOutput, big);
  });

  test('working directories and file references are confined to the allowed roots', async () => {
    const outside = fs.realpathSync(tempDir('outside'));
    fs.writeFileSync(path.join(outside, 'secret.md'), 'do not read');
    fs.symlinkSync(outside, path.join(work, 'escape'));
    fs.writeFileSync(path.join(work, 'task.md'), 'echo from-file');
    try {
      for (const dir of [outside, `${work}/../../`, path.join(work, 'escape'), '/etc']) {
        const r = await waitEnd((await submit({ prompt: 'echo no', workingDirectory: dir })).id);
        assert.equal(r.status, 'failed', dir);
        assert.match(r.statusReason ?? '', /outside the allowed|not found|allowed roots/i, `${dir}: ${r.statusReason}`);
        assert.equal(r.pid, null);
      }
      const missing = await waitEnd((await submit({ prompt: 'echo no', workingDirectory: path.join(work, 'nope') })).id);
      assert.equal(missing.status, 'failed');

      const ok = await waitEnd((await submit({ prompt: '@task.md', type: 'file-reference' })).id);
      assert.equal(ok.status, 'completed', ok.statusReason ?? '');
      assert.equal((await output(ok.id)).stdout, 'from-file\n');
      for (const ref of [`@${path.join(outside, 'secret.md')}`, '@escape/secret.md', '@../../outside/secret.md']) {
        const r = await waitEnd((await submit({ prompt: ref, type: 'file-reference' })).id);
        assert.equal(r.status, 'failed', ref);
        assert.doesNotMatch((await output(r.id)).rawOutput, /do not read/);
      }
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
      fs.rmSync(path.join(work, 'escape'));
    }
  });

  test('bad requests get clear errors and create nothing', async () => {
    const before = (await api<{ total: number }>('GET', '/api/runs?limit=1')).body.total;
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ agent: 'nope', profile: shellProfile.slug, prompt: 'x' }, 404, /no agent/],
      [{ agent: agent.name, profile: 'nope', prompt: 'x' }, 404, /no profile/],
      [{ agent: agent.name, prompt: 'x' }, 400, /choose a profile/],
      [{ agent: agent.name, profile: shellProfile.slug, prompt: 'x', timeout: 50 }, 400, /exceeds/],
      [{ agent: agent.name, profile: shellProfile.slug, prompt: 'x', promptId: 'p' }, 400, /exactly one/],
      [{ agent: agent.name, profile: shellProfile.slug }, 400, /exactly one/],
      [{ agent: agent.name, profile: shellProfile.slug, prompt: 'x', variables: { path: '1' } }, 400, /not allowed/],
      [{ agent: agent.name, profile: shellProfile.slug, prompt: 'x'.repeat(200_000) }, 400, /prompt: Too big/],
      [{ agent: agent.name, profile: shellProfile.slug, prompt: '{{BIG}} {{BIG}} {{BIG}} {{BIG}} {{BIG}}', variables: { BIG: 'y'.repeat(30_000) } }, 413, /limit is 122880/],
    ];
    for (const [body, status, re] of cases) {
      const r = await api<{ error: { message: string } }>('POST', '/api/run', body);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 120)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.match(r.body.error.message, re);
    }
    const saved = await api<{ prompt: { id: string } }>('POST', '/api/prompts', { name: 'needs var', content: 'fix {{MODULE}}', agentProfileId: shellProfile.slug, tags: ['t1'], variables: [{ name: 'MODULE' }] });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    // A partial update changes only what it names (schema defaults never overwrite stored fields).
    const patched = await api<{ prompt: { tags: string[]; agentProfileId: string | null; variables: unknown[] } }>('PUT', `/api/prompts/${saved.body.prompt.id}`, { tags: ['t2'] });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.prompt.tags, ['t2']);
    assert.equal(patched.body.prompt.agentProfileId, shellProfile.id);
    assert.equal(patched.body.prompt.variables.length, 1);
    const pp = await api<{ profile: ProfileView }>('PUT', `/api/profiles/${printProfile.id}`, { icon: 'printer' });
    assert.equal(pp.body.profile.defaultTimeout, 1);
    assert.equal(pp.body.profile.maxTimeout, 5);
    const missing = await api<{ error: { message: string } }>('POST', '/api/run', { agent: agent.name, promptId: saved.body.prompt.id });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /MODULE/);
    const dis = await api('PUT', `/api/profiles/${printProfile.id}`, { enabled: false });
    assert.equal(dis.status, 200);
    assert.equal((await api('POST', '/api/run', { agent: agent.name, profile: printProfile.slug, prompt: 'x' })).status, 409);
    await api('PUT', `/api/profiles/${printProfile.id}`, { enabled: true });
    assert.equal((await api<{ total: number }>('GET', '/api/runs?limit=1')).body.total, before, 'no run was created');
    const dry = await api<DryRunResponse>('POST', '/api/run', { agent: agent.name, promptId: saved.body.prompt.id, variables: { MODULE: "it's $x" }, workingDirectory: work, dryRun: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.command, `cd "${work}" && sh -c "fix it's \\$x"`);
    assert.equal(dry.body.env.PROMPT, "fix it's $x");
    assert.equal((await api<{ total: number }>('GET', '/api/runs?limit=1')).body.total, before, 'a dry run creates no run');
  });

  test('the concurrency limit holds; extra runs wait in order', async () => {
    await setSettings({ maxConcurrentRuns: 2, maxConcurrentRunsPerAgent: 2 });
    try {
      const runs: RunView[] = [];
      for (let i = 0; i < 5; i++) runs.push(await submit({ prompt: `sleep 0.8; echo done-${i}` }));
      let maxRunning = 0;
      await waitUntil('all runs to end', async () => {
        const active = await api<{ items: RunView[] }>('GET', '/api/runs/active');
        maxRunning = Math.max(maxRunning, active.body.items.filter((r) => r.status === 'running').length);
        return active.body.items.filter((r) => runs.some((x) => x.id === r.id)).length === 0;
      }, 30_000, 50);
      assert.ok(maxRunning <= 2, `at most 2 ran at once (saw ${maxRunning})`);
      const ended = await Promise.all(runs.map((r) => get(r.id)));
      assert.ok(ended.every((r) => r.status === 'completed'), 'ended.every((r) => r.status === \'completed\')');
      // Intervals never overlap more than twice, and runs started in the order they were queued.
      const times = ended.map((r) => [Date.parse(r.startedAt!), Date.parse(r.finishedAt!)] as const);
      for (const [s] of times) assert.ok(times.filter(([a, b]) => a <= s && s < b).length <= 2, 'times.filter(([a, b]) => a <= s && s < b).length <= 2');
      const starts = times.map(([s]) => s);
      assert.deepEqual([...starts].sort((a, b) => a - b), starts, 'FIFO start order');
    } finally {
      await setSettings({ maxConcurrentRuns: 3, maxConcurrentRunsPerAgent: 2 });
    }
  });

  test('output cap: at, just over and far over the cap, cut on a UTF-8 boundary', async () => {
    const cap = 64 * 1024;
    await setSettings({ outputCapBytes: cap });
    try {
      const check = async (prompt: string, truncated: boolean, bytes: number) => {
        const r = await waitEnd((await submit({ prompt })).id);
        assert.equal(r.status, 'completed', r.statusReason ?? '');
        assert.equal(r.truncated, truncated, prompt);
        assert.equal(r.outputBytes, bytes, prompt);
        return output(r.id);
      };
      await check(`head -c ${cap} /dev/zero | tr '\\0' a`, false, cap);
      await check(`head -c ${cap + 1} /dev/zero | tr '\\0' a`, true, cap);
      const far = await check(`head -c ${10 * 1024 * 1024} /dev/zero | tr '\\0' b; echo never-shown`, true, cap);
      assert.equal(far.stdout.length, cap);
      // 'x' then two-byte characters: the cap falls inside one, which is dropped whole.
      const utf = await check(`printf x; i=0; while [ $i -lt 40000 ]; do printf 'éééééééééé'; i=$((i+10)); done`, true, cap - 1);
      assert.equal(Buffer.byteLength(utf.stdout), cap - 1);
      assert.ok(!utf.stdout.includes('\uFFFD'), 'no broken character');
    } finally {
      await setSettings({ outputCapBytes: 10 * 1024 * 1024 });
    }
  });

  test('output retention deletes old output and keeps the run record (PostgreSQL: the test ages a run in the database)', { skip: !relay_pg() }, async () => {
    const r = await waitEnd((await submit({ prompt: 'echo keep-me-for-a-while' })).id);
    const pg = new (await import('pg')).default.Client({ connectionString: relay.databaseUrl });
    await pg.connect();
    try {
      await pg.query(`UPDATE runs SET finished_at = now() - interval '10 days' WHERE id = $1`, [r.id]);
    } finally {
      await pg.end();
    }
    await setSettings({ outputRetentionDays: 30 });
    assert.match((await output(r.id)).stdout, /keep-me/, 'younger than the retention: kept');
    await setSettings({ outputRetentionDays: 7 });
    try {
      const o = await output(r.id);
      assert.deepEqual(o, { stdout: '', stderr: '', rawOutput: '' });
      assert.equal((await get(r.id)).status, 'completed', 'the run record stays');
    } finally {
      await setSettings({ outputRetentionDays: 0 });
    }
  });

  test('rexec CLI: profiles, run --follow with the run exit code, runs list/show/logs/kill', async () => {
    const cliEnv = { HOME: tempDir('clihome') };
    const login = await run(CLI_BIN, ['login', '--host', relay.url, '--token', relay.apiToken], cliEnv);
    assert.equal(login.status, 0, login.stderr);
    const profiles = await run(CLI_BIN, ['profiles', 'list'], cliEnv);
    assert.equal(profiles.status, 0, profiles.stderr);
    assert.match(profiles.stdout, /claude-code/);
    const r = await run(CLI_BIN, ['run', '--agent', agent.name, '--profile', shellProfile.slug, '--dir', work, '--prompt', 'echo via-cli; echo e >&2; exit 5', '--follow'], cliEnv);
    assert.equal(r.status, 5, r.stderr);
    // Failed once on CI with an empty stdout (exit code right): keep what is needed to find out why.
    assert.equal(r.stdout, 'via-cli\n', `CLI stderr: ${r.stderr}\n--- relay:\n${relay.output.tail()}\n--- agent:\n${agent.output.tail()}`);
    assert.match(r.stderr, /failed, exit 5/);
    const id = /run (\S+) (queued|running)/.exec(r.stderr)![1]!;
    const logs = await run(CLI_BIN, ['runs', 'logs', id], cliEnv);
    assert.equal(logs.stdout, 'via-cli\ne\n', 'the log holds both streams as produced');
    const show = await run(CLI_BIN, ['runs', 'show', id], cliEnv);
    assert.match(show.stdout, /failed/);
    const list = await run(CLI_BIN, ['runs', 'list', '--status', 'failed', '--agent', agent.name], cliEnv);
    assert.match(list.stdout, new RegExp(id));
    const dry = await run(CLI_BIN, ['run', '--agent', agent.name, '--profile', shellProfile.slug, '--prompt', 'ls', '--dry-run'], cliEnv);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /sh -c "ls"/);
    const bg = await run(CLI_BIN, ['run', '--agent', agent.name, '--profile', shellProfile.slug, '--dir', work, '--prompt', 'sleep 60'], cliEnv);
    const bgId = bg.stdout.trim();
    await waitUntil('the background run to run', async () => (await get(bgId)).status === 'running');
    const kill = await run(CLI_BIN, ['runs', 'kill', bgId], cliEnv);
    assert.equal(kill.status, 0, kill.stderr);
    assert.equal((await waitEnd(bgId)).status, 'killed');
    const usage = await run(CLI_BIN, ['run', '--agent', agent.name], cliEnv);
    assert.equal(usage.status, 2);
    for (const cmd of [['run'], ['runs'], ['runs', 'logs'], ['profiles'], ['prompts', 'create']]) {
      const h = await run(CLI_BIN, [...cmd, '--help'], cliEnv);
      assert.equal(h.status, 0);
      assert.match(h.stdout, /Usage: rexec/);
    }
  });

  test('relay SIGKILL mid-run: the agent buffers, nothing is lost, the run completes', async () => {
    const r = await submit({ prompt: 'i=1; while [ $i -le 60 ]; do echo line-$i; i=$((i+1)); sleep 0.05; done' });
    await waitUntil('some output', async () => (await output(r.id)).rawOutput.includes('line-5'));
    await relay.kill();
    await new Promise((res) => setTimeout(res, 1500));
    await relay.restart();
    const v = await waitEnd(r.id, 30_000);
    assert.equal(v.status, 'completed', v.statusReason ?? '');
    const lines = (await output(r.id)).stdout.trim().split('\n');
    assert.deepEqual(lines, Array.from({ length: 60 }, (_, i) => `line-${i + 1}`));
    await waitForAgentStatus(relay, agent.agentId, 'online');
  });

  test('agent SIGKILL mid-run: lost with a reason (after its restart, and when it stays away); never re-run', async () => {
    const r = await submit({ prompt: 'echo once >> ran.txt; sleep 100' });
    const v = await waitUntil('the run to start', async () => {
      const x = await get(r.id);
      return x.pid ? x : null;
    });
    agent.proc.kill('SIGKILL');
    await agent.exit;
    // The orphaned group is still there until the agent comes back and cleans up.
    assert.ok(!groupGone(v.pid!), '!groupGone(v.pid!)');
    const again = spawnAgent(agent.configPath, { REXEC_AGENT_ALLOWED_ROOTS: root });
    agent = { ...agent, proc: again.proc, output: again.output, exit: again.exit, stop: async () => (again.proc.kill('SIGTERM'), void (await again.exit)) };
    const lost = await waitEnd(r.id);
    assert.equal(lost.status, 'lost');
    assert.match(lost.statusReason ?? '', /restarted/);
    await waitUntil('the orphaned group to be killed', () => groupGone(v.pid!));

    // An agent that stays away: lost after REXEC_RUN_LOST_AFTER_MS (4 s here).
    const r2 = await submit({ prompt: 'sleep 100' });
    const v2 = await waitUntil('the run to start', async () => {
      const x = await get(r2.id);
      return x.pid ? x : null;
    });
    agent.proc.kill('SIGKILL');
    await agent.exit;
    const lost2 = await waitEnd(r2.id, 15_000);
    assert.equal(lost2.status, 'lost');
    assert.match(lost2.statusReason ?? '', /did not come back/);
    const back = spawnAgent(agent.configPath, { REXEC_AGENT_ALLOWED_ROOTS: root });
    agent = { ...agent, proc: back.proc, output: back.output, exit: back.exit, stop: async () => (back.proc.kill('SIGTERM'), void (await back.exit)) };
    await waitForAgentStatus(relay, agent.agentId, 'online');
    await waitUntil('the orphan of the lost run to be killed', () => groupGone(v2.pid!));
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(fs.readFileSync(path.join(work, 'ran.txt'), 'utf8'), 'once\n', 'a lost run is never executed again');
    assert.equal((await get(r.id)).status, 'lost');
  });
});
