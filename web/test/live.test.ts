/**
 * Live data in a real Chromium against a real relay and agent, with the pages' slow safety
 * refresh turned OFF (localStorage rexec.safetyRefreshMs = 0), so anything that changes on screen
 * without a reload came over the event stream: a run started through the API appears on the
 * dashboard and in the history and finishes there; the agent going offline and online; host
 * metrics with sparklines; renaming and re-tagging an agent in place (and a taken name refused in
 * place); the session refreshing itself before it expires (30 s sessions here); signing out
 * everywhere showing "signed out" on the login page. Then every page at 1280x720, 1024x768 and
 * 1366x800 in light and dark: no sideways scrolling (screenshots in test-output/layout/).
 *
 *   node --import tsx --test web/test/live.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ProfileView, RunView } from '@rexec/shared';
import { startAgent, startRelay, type AgentProc, type RelayProc } from '../../relay/test/harness.js';
import { VIEWPORTS, buildWeb, firstSignIn, go, launchChromium, layoutProblems, openPage, outDir, shots, tempRoot } from './helpers.js';

const OUT = outDir('live');
const LAYOUT = outDir('layout');
/** The dashboard polled every 8 s when idle, the history every 10 s: live updates must beat that clearly. */
const WELL_UNDER_OLD_POLL_MS = 4000;

describe('live updates in Chromium', { timeout: 300_000 }, () => {
  let relay: RelayProc | undefined;
  let agent: AgentProc | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let pageErrors: string[] = [];
  let root = '';
  let profile: ProfileView;
  const agentEnv = () => ({ REXEC_AGENT_ALLOWED_ROOTS: root, REXEC_AGENT_METRICS_INTERVAL: '1' });

  const startRun = async (prompt: string): Promise<RunView> => {
    const r = await relay!.api<{ run: RunView }>('POST', '/api/run', { agent: agent!.agentId, profile: profile.slug, workingDirectory: path.join(root, 'work'), prompt });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.run;
  };
  /** A marker that a reload would lose. */
  const markPage = () => page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
  const notReloaded = async () => assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1, 'the page was not reloaded');

  before(async () => {
    buildWeb();
    root = tempRoot('rexec-web-live-', ['work']);
    relay = await startRelay({ env: { REXEC_SESSION_TTL_SECONDS: '30' } });
    agent = await startAgent(relay, { name: 'live-agent', tags: ['web'], env: agentEnv() });
    const p = await relay.api<{ profile: ProfileView }>('POST', '/api/profiles', { name: 'Live shell', agentType: 'custom', invocationTemplate: 'cd "$WORKING_DIR" && sh -c "$PROMPT"', defaultTimeout: 1, maxTimeout: 5 });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    profile = p.body.profile;
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openPage(browser));
    // No safety refresh: whatever updates without a reload came over the event stream.
    await page.addInitScript(() => localStorage.setItem('rexec.safetyRefreshMs', '0'));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await agent?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('signed in, the sidebar shows the live connection', async () => {
    await firstSignIn(page, relay!);
    await page.waitForSelector('#live-state[data-state="live"]', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => localStorage.getItem('rexec.safetyRefreshMs')), '0', 'the safety refresh is off');
  });

  test('dashboard: a run started through the API appears at once and finishes without a reload', async () => {
    await go(page, 'dashboard');
    await page.waitForSelector('[data-testid="last-runs"]');
    await markPage();
    const t0 = Date.now();
    const run = await startRun('sleep 2; echo live-done');
    await page.waitForSelector(`[data-testid="active-runs"] [data-run-id="${run.id}"]`, { timeout: WELL_UNDER_OLD_POLL_MS });
    const appeared = Date.now() - t0;
    assert.ok(appeared < WELL_UNDER_OLD_POLL_MS, `the run appeared after ${appeared} ms`);
    await page.waitForSelector(`[data-testid="active-runs"] [data-run-id="${run.id}"] [data-status="running"]`, { timeout: 5000 });
    await shots(page, OUT, 'dashboard-running');
    await page.waitForSelector(`[data-testid="last-runs"] [data-run-id="${run.id}"] [data-status="completed"]`, { timeout: 15_000 });
    await page.waitForSelector(`[data-testid="active-runs"] [data-run-id="${run.id}"]`, { state: 'detached', timeout: 5000 });
    await notReloaded();
  });

  test('history: a new run shows up and ends in the table without a reload', async () => {
    await go(page, 'history');
    await page.waitForSelector('#history-table, [data-testid="history-empty"], .empty');
    await markPage();
    const t0 = Date.now();
    const run = await startRun('sleep 1; echo history-live');
    await page.waitForSelector(`#history-table tr[data-run-id="${run.id}"]`, { timeout: WELL_UNDER_OLD_POLL_MS });
    assert.ok(Date.now() - t0 < WELL_UNDER_OLD_POLL_MS, 'the row appeared well before the old 10 s poll');
    await page.waitForSelector(`#history-table tr[data-run-id="${run.id}"] [data-status="completed"]`, { timeout: 15_000 });
    await notReloaded();
  });

  test('agents: the agent going offline and coming back shows without a reload', async () => {
    await go(page, 'agents');
    const card = '[data-agent-name="live-agent"]';
    await page.waitForSelector(`${card}[data-status="online"]`);
    await markPage();
    await agent!.stop();
    await page.waitForSelector(`${card}[data-status="offline"]`, { timeout: 10_000 });
    await shots(page, OUT, 'agents-offline');
    agent = await startAgent(relay!, { name: 'live-agent', configPath: agent!.configPath, env: agentEnv(), noWait: true });
    await page.waitForSelector(`${card}[data-status="online"]`, { timeout: 20_000 });
    await notReloaded();
  });

  test('agent page: live host metrics with sparklines; rename and re-tag in place, a taken name refused there', async () => {
    await page.evaluate((id) => (location.hash = `#/agents/${id}`), agent!.agentId);
    await page.waitForSelector('#agent-detail');
    await page.waitForFunction(() => Number(document.querySelector('#agent-metrics')?.getAttribute('data-samples') ?? 0) >= 3, undefined, { timeout: 15_000 });
    const points = Number(await page.getAttribute('[data-testid="metric-cpu"] svg', 'data-points'));
    assert.ok(points >= 3, `the CPU sparkline has points (${points})`);
    assert.match((await page.textContent('[data-testid="metric-memory"]')) ?? '', /\d+%.*of/s, 'memory shows a share and the total');
    await shots(page, OUT, 'agent-metrics');

    const taken = await relay!.api('POST', '/api/agents/register', { name: 'taken-name' });
    assert.equal(taken.status, 201);
    await page.click('#agent-edit');
    await page.fill('#agent-edit-name', 'taken-name');
    await page.click('#agent-edit-save');
    await page.waitForSelector('.field-error:has-text("already exists")');
    await shots(page, OUT, 'agent-rename-conflict');
    await page.fill('#agent-edit-name', 'live-agent-2');
    await page.fill('#agent-edit-tags', 'web, blue');
    await page.click('#agent-edit-save');
    await page.waitForSelector('.page-title h1:has-text("live-agent-2")');
    await page.waitForSelector('[data-testid="agent-tags"] [data-tag="blue"]');
    const r = await relay!.api<{ agent: { name: string; tags: string[] } }>('GET', `/api/agents/${agent!.agentId}`);
    assert.deepEqual([r.body.agent.name, r.body.agent.tags], ['live-agent-2', ['web', 'blue']], 'the relay has the new name and tags');
    // A rename by someone else (the API) arrives as an event.
    await relay!.api('PATCH', `/api/agents/${agent!.agentId}`, { name: 'live-agent' });
    await page.waitForSelector('.page-title h1:has-text("live-agent")', { timeout: 5000 });
    assert.equal(await page.textContent('.page-title h1'), 'live-agent');
  });

  test('the session refreshes itself before it expires (30 s sessions)', async () => {
    const first = await page.evaluate(() => JSON.parse(sessionStorage.getItem('rexec.session') ?? '{}').token as string);
    await page.waitForFunction((t) => JSON.parse(sessionStorage.getItem('rexec.session') ?? '{}').token !== t, first, { timeout: 40_000, polling: 500 });
    const res = await relay!.api('GET', '/api/auth/me', undefined, await page.evaluate(() => JSON.parse(sessionStorage.getItem('rexec.session') ?? '{}').token as string));
    assert.equal(res.status, 200, 'the refreshed token works');
    await page.waitForSelector('#live-state[data-state="live"]');
  });

  test('layout: every page at 1280x720, 1024x768 and 1366x800 in light and dark, without sideways scrolling', async () => {
    const pages: [string, string][] = [
      ['dashboard', '#/dashboard'],
      ['agents', '#/agents'],
      ['agent', `#/agents/${agent!.agentId}`],
      ['add-agent', '#/agents/new'],
      ['run', '#/run'],
      ['prompts', '#/prompts'],
      ['schedules', '#/schedules'],
      ['history', '#/history'],
      ['analytics', '#/analytics'],
      ['settings', '#/settings'],
      ['admin', '#/admin'],
    ];
    const problems: string[] = [];
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      for (const [name, hash] of pages) {
        await page.evaluate((h) => (location.hash = h), hash);
        await page.waitForSelector('#main h1', { timeout: 10_000 }).catch(() => problems.push(`${name} at ${vp.width}x${vp.height}: no heading`));
        await page.waitForTimeout(400);
        for (const p of await layoutProblems(page)) problems.push(`${name} at ${vp.width}x${vp.height}: ${p}`);
        await shots(page, LAYOUT, `${vp.width}x${vp.height}-${name}`);
      }
    }
    await page.setViewportSize({ width: 1366, height: 800 });
    assert.deepEqual(problems, [], 'no page scrolls sideways');
  });

  test('signing out everywhere (from another device) shows "signed out" on the login page', async () => {
    await go(page, 'dashboard');
    const tok = await page.evaluate(() => JSON.parse(sessionStorage.getItem('rexec.session') ?? '{}').token as string);
    const res = await fetch(`${relay!.url}/api/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(res.status, 204);
    await page.waitForSelector('[data-testid="signed-out"]', { timeout: 15_000 });
    assert.match((await page.textContent('[data-testid="signed-out"]')) ?? '', /Signed out.*Sign in again/s);
    assert.match(page.url(), /#\/login/);
    await shots(page, OUT, 'signed-out');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });
});
