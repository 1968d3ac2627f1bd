/**
 * The relay's own timeout layer: an agent that stops answering (SIGSTOP: the link stays open,
 * nothing is reported) cannot keep a run `running` forever. Once the agent resumes, it kills the
 * run's process group anyway and the relay's verdict stands.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { ProfileView, RunView } from '@rexec/shared';
import { startAgent, startRelay, tempDir, waitUntil, type AgentProc, type RelayProc } from './harness.js';

let relay: RelayProc;
let agent: AgentProc;
let root: string;

before(async () => {
  root = fs.realpathSync(tempDir('wdroot'));
  // A dead-link timeout far above the test, so only the run watchdog can act.
  relay = await startRelay({ env: { REXEC_RUN_WATCHDOG_SLACK_MS: '500', REXEC_RUN_LOST_AFTER_MS: '600000', REXEC_DEAD_LINK_MS: '120000' } });
  agent = await startAgent(relay, { name: 'sleepy', env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
});
after(async () => {
  agent?.proc.kill('SIGCONT');
  await agent?.stop();
  await relay?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

test('an agent that never reports: the relay marks the run timeout; the agent still kills the group when it wakes', async () => {
  const profile = (await relay.api<{ items: ProfileView[] }>('GET', '/api/profiles?q=shell')).body.items.find((p) => p.builtIn && p.agentType === 'custom')!;
  const created = await relay.api<{ run: RunView }>('POST', '/api/run', { agent: 'sleepy', profile: profile.slug, prompt: 'sleep 100', workingDirectory: root, timeout: 0.02 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.run.id;
  const get = async () => (await relay.api<{ run: RunView }>('GET', `/api/runs/${id}`)).body.run;
  const running = await waitUntil('the run to start', async () => ((await get()).pid ? get() : null));
  agent.proc.kill('SIGSTOP');
  // timeout 1.2 s + kill grace 5 s + slack 0.5 s
  const ended = await waitUntil('the watchdog', async () => {
    const r = await get();
    return r.status !== 'running' ? r : null;
  }, 20_000, 200);
  assert.equal(ended.status, 'timeout');
  assert.match(ended.statusReason ?? '', /did not report/);
  agent.proc.kill('SIGCONT');
  await waitUntil('the process group to be gone', () => spawnSync('pgrep', ['-g', String(running.pid)]).status !== 0, 15_000);
  await new Promise((r) => setTimeout(r, 500));
  const after = await get();
  assert.equal(after.status, 'timeout', 'a late report does not change the verdict');
  assert.match(after.statusReason ?? '', /did not report/);
});
