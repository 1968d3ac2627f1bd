/**
 * The web app's pages in a real headless Chromium against a real relay and agent
 * (relay/test/harness.ts): dashboard, Run (live output, kill, dry run, save prompt), History
 * (filters, output viewer in both modes), saved prompts, settings (profiles, validate, runner
 * settings), terminals in tabs, agents, and the placeholder pages. One page walks the flows in
 * order, as a person would. Screenshots of every page in light and dark land in test-output/app/.
 *
 *   node --import tsx --test web/test/app.test.ts
 *
 * The agent may run in a temporary allowed root only (REXEC_AGENT_ALLOWED_ROOTS); runs use the
 * built-in "shell" profile (`cd "$WORKING_DIR" && sh -c "$PROMPT"`), so prompts are shell commands.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startAgent, startRelay, type AgentProc, type RelayProc } from '../../relay/test/harness.js';
import { buildWeb, firstSignIn, go, launchChromium, openPage, outDir, shots as shotsIn, tempRoot } from './helpers.js';

const OUT_DIR = outDir('app');
const shots = (page: Page, name: string) => shotsIn(page, OUT_DIR, name);

/** The clean-mode output text of the viewer. */
async function outputText(page: Page): Promise<string> {
  return page.$$eval('#output-viewer .ol .lt', (els) => els.map((e) => e.textContent ?? '').join('\n'));
}

async function waitOutput(page: Page, pattern: RegExp, timeout = 20_000): Promise<void> {
  try {
    await page.waitForFunction(
      ({ source, flags }) => new RegExp(source, flags).test(Array.from(document.querySelectorAll('#output-viewer .ol .lt'), (e) => e.textContent ?? '').join('\n')),
      { source: pattern.source, flags: pattern.flags },
      { timeout, polling: 100 },
    );
  } catch (err) {
    throw new Error(`output never showed ${pattern}; it was:\n${await outputText(page)}`, { cause: err });
  }
}

describe('web app pages in Chromium', { timeout: 240_000 }, () => {
  let relay: RelayProc | undefined;
  let agent: AgentProc | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let root = '';
  let pageErrors: string[] = [];

  before(async () => {
    buildWeb();
    root = tempRoot('rexec-web-runs-', ['project']);
    relay = await startRelay();
    agent = await startAgent(relay, { name: 'web-agent', tags: ['web', 'linux'], env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await agent?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('sign in lands on the dashboard inside the app shell', async () => {
    await firstSignIn(page, relay!);
    await page.waitForSelector('.sidebar');
    assert.match(page.url(), /#\/dashboard$/);
    await page.waitForSelector('[data-testid="dashboard"]');
    await page.waitForSelector('[data-testid="agents-online"]:has-text("1")', { timeout: 15_000 });
    await shots(page, 'dashboard-empty');
  });

  test('the theme toggle switches light, dark and system, and remembers the choice', async () => {
    assert.equal(await page.getAttribute('#theme-toggle', 'data-theme-pref'), 'system');
    await page.click('#theme-toggle'); // system -> light
    assert.equal(await page.getAttribute('#theme-toggle', 'data-theme-pref'), 'light');
    await page.click('#theme-toggle'); // light -> dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.reload();
    await page.waitForSelector('.sidebar');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the choice survives a reload');
    await page.click('#theme-toggle'); // dark -> system
    assert.equal(await page.getAttribute('#theme-toggle', 'data-theme-pref'), 'system');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light', 'system follows the emulated light scheme');
  });

  test('Run: compose a shell prompt, run it, watch live output and the status end in a check', async () => {
    await go(page, 'run');
    await page.waitForSelector('[data-testid="output-idle"]');
    assert.match((await page.textContent('[data-testid="output-idle"]')) ?? '', /Run a prompt to see output here/);
    await shots(page, 'run-idle');

    // Running without a prompt is refused in place
    await page.click('[data-profile="shell"]');
    await page.click('#run-submit');
    await page.waitForSelector('.field-error:has-text("Write a prompt first")');

    await page.fill('#run-dir', path.join(root, 'project'));
    await page.fill('#run-prompt', "for i in 1 2 3 4; do echo line-$i; sleep 0.3; done; printf '\\033[32mgreen-{{WORD}}\\033[0m\\n'; pwd");
    await page.fill('[data-var="WORD"]', 'ok');
    await page.click('#run-submit');
    await page.waitForSelector('#run-status[data-status="running"]', { timeout: 15_000 });
    await waitOutput(page, /^line-1$/m);
    await shots(page, 'run-live');
    await page.waitForSelector('#run-status[data-status="completed"]', { timeout: 20_000 });
    await waitOutput(page, /^green-ok$/m);
    const text = await outputText(page);
    assert.match(text, new RegExp(`^${path.join(root, 'project')}$`, 'm'), 'ran in the working directory');
    assert.equal(await page.locator('#run-kill').count(), 0, 'no Kill button once the run has ended');
    await shots(page, 'run-completed');
  });

  test('Run: dry run shows the resolved command; an invalid directory is explained in place', async () => {
    await page.click('#run-dry');
    await page.waitForSelector('#dry-run-result');
    assert.match((await page.textContent('[data-testid="dry-run-command"]')) ?? '', /sh -c/);
    await shots(page, 'run-dry');

    await page.fill('#run-dir', '/definitely/not/allowed');
    await page.click('#run-submit');
    await page.waitForSelector('#run-error, #run-status[data-status="failed"]', { timeout: 15_000 });
    await page.fill('#run-dir', path.join(root, 'project'));
  });

  test('Run: Kill stops a long run and the status says killed', async () => {
    await page.fill('#run-prompt', 'echo started-long; sleep 60; echo never');
    await page.click('#run-submit');
    await waitOutput(page, /^started-long$/m);
    await page.click('#run-kill');
    await page.waitForSelector('#run-status[data-status="killed"]', { timeout: 20_000 });
    assert.doesNotMatch(await outputText(page), /never/);
    await shots(page, 'run-killed');
  });

  test('Run: Save prompt stores the composed prompt with its tags', async () => {
    await page.fill('#run-prompt', 'ls -1 && echo listed-{{WHAT}}');
    await page.fill('[data-var="WHAT"]', 'files');
    await page.click('#run-save');
    await page.waitForSelector('[data-testid="save-prompt-dialog"]');
    await shots(page, 'run-save-dialog');
    await page.fill('#save-prompt-name', 'list files');
    await page.fill('#save-prompt-tags', 'nightly, web');
    await page.click('#save-prompt-submit');
    await page.waitForSelector('[data-testid="save-prompt-dialog"]', { state: 'detached' });
    await page.waitForSelector('[data-testid="toast"]:has-text("Saved prompt")');
  });

  test('Saved prompts: the table lists it; filter, edit, bulk tag, and Run loads it', async () => {
    await go(page, 'prompts');
    const row = page.locator('tr[data-prompt-name="list files"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Shell command/);
    assert.match((await row.textContent()) ?? '', /nightly/);
    await shots(page, 'prompts');

    // A second prompt through the editor, then the tag filter narrows the list
    await page.click('#new-prompt');
    await page.fill('#pe-name', 'disk usage');
    await page.fill('#pe-content', 'df -h .');
    await page.selectOption('#pe-profile', { label: 'Shell command' });
    await page.fill('#pe-dir', path.join(root, 'project'));
    await shots(page, 'prompt-editor');
    await page.click('#pe-save');
    await page.locator('tr[data-prompt-name="disk usage"]').waitFor();
    await page.selectOption('#prompts-tag', 'nightly');
    await page.waitForFunction(() => document.querySelectorAll('#prompts-table tbody tr').length === 1);
    await page.selectOption('#prompts-tag', '');
    await page.waitForFunction(() => document.querySelectorAll('#prompts-table tbody tr').length === 2);

    // Bulk: select both, add a tag
    await page.check('#prompts-table thead input[type="checkbox"]');
    await page.click('#bulk-tag');
    await page.fill('#bulk-tag-name', 'ops');
    await page.click('#bulk-tag-apply');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#prompts-table tbody tr')).every((r) => /ops/.test(r.textContent ?? '')));

    // Run opens the Run page with the prompt loaded; running it records the prompt's last run
    await page.click('tr[data-prompt-name="list files"] [data-action="run"]');
    await page.waitForFunction(() => (document.querySelector<HTMLTextAreaElement>('#run-prompt')?.value ?? '').includes('listed-'));
    assert.equal(await page.inputValue('[data-var="WHAT"]'), 'files');
    await page.click('#run-submit');
    await page.waitForSelector('#run-status[data-status="completed"]', { timeout: 20_000 });
    await waitOutput(page, /^listed-files$/m);
    await go(page, 'prompts');
    await page.locator('tr[data-prompt-name="list files"] [data-status="completed"]').waitFor();
  });

  test('History: filter by status, open a run, and read its output in clean and terminal mode', async () => {
    await go(page, 'history');
    await page.waitForSelector('#history-table');
    const rows = await page.locator('#history-table tbody tr').count();
    assert.ok(rows >= 4, `at least 4 runs listed (got ${rows})`); // completed, killed, prompt run, refused directory or more
    await shots(page, 'history');

    await page.selectOption('#filter-status', 'killed');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#history-table tbody tr')).every((r) => r.getAttribute('data-status') === 'killed'));
    assert.equal(await page.locator('#history-table tbody tr').count(), 1);
    assert.match(page.url(), /status=killed/);
    await page.fill('#history-q', 'no-such-prompt-text');
    await page.waitForSelector('[data-testid="history-empty"]');
    await shots(page, 'history-empty-filter');
    await page.fill('#history-q', 'started-long');
    await page.waitForSelector('#history-table tbody tr[data-status="killed"]');

    await page.click('#history-table tbody tr');
    await page.waitForSelector('#run-detail[data-status="killed"]');
    await waitOutput(page, /^started-long$/m);
    await page.fill('#output-search', 'started');
    await page.waitForSelector('[data-testid="match-count"]:has-text("1/1")');
    await page.waitForSelector('#output-viewer mark.current');
    await shots(page, 'run-detail-clean');

    await page.click('[data-testid="output-mode-terminal"]');
    await page.waitForFunction(() => /started-long/.test(document.querySelector('[data-testid="output-terminal"] .xterm-rows')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await shots(page, 'run-detail-terminal');
    await page.click('[data-testid="output-full"]');
    await page.waitForSelector('#output-viewer.viewer-full');
    await shots(page, 'output-fullscreen');
    await page.keyboard.press('Escape');
    await page.click('[data-testid="output-mode-clean"]');
    await page.waitForSelector('#output-viewer[data-mode="clean"] .ol');

    // Coloured output: terminal mode keeps the colour, clean mode strips it
    await go(page, 'history');
    await page.selectOption('#filter-status', 'completed');
    await page.fill('#history-q', 'green');
    await page.waitForFunction(() => document.querySelectorAll('#history-table tbody tr').length === 1);
    await page.click('#history-table tbody tr');
    await waitOutput(page, /^green-ok$/m);
    await page.click('[data-testid="output-mode-terminal"]');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid="output-terminal"] .xterm-rows span')).some((s) => s.textContent === 'green-ok' && /xterm-fg-2/.test(s.className)), undefined, { timeout: 10_000 });
    await page.click('[data-testid="output-mode-clean"]');
  });

  test('Settings: create a profile, Validate shows each check, the preview resolves the command; runner settings save', async () => {
    await go(page, 'settings');
    await page.waitForSelector('[data-profile-card="shell"]');
    await shots(page, 'settings');
    await page.click('#new-profile');
    await page.waitForSelector('#pf-template');
    await page.fill('#pf-name', 'Echo bot');
    await page.fill('#pf-template', 'cd "$WORKING_DIR" && echo "$PROMPT" | tr a-z A-Z');
    await page.fill('#pf-default-timeout', '5');
    await page.fill('#pf-max-timeout', '15');
    await page.click('#pf-validate');
    await page.waitForSelector('[data-testid="checks"] [data-check="prompt-present"][data-ok="true"]');
    assert.ok((await page.locator('[data-testid="checks"] [data-check]').count()) >= 5, 'every check is listed');
    assert.match((await page.textContent('#pf-preview')) ?? '', /echo "Fix the failing test in src\/app\.ts"/);
    await shots(page, 'profile-editor');

    // A template without $PROMPT fails its check, in place
    await page.fill('#pf-template', 'echo hello');
    await page.click('#pf-validate');
    await page.waitForSelector('[data-check="prompt-present"][data-ok="false"]');
    await page.click('#pf-save');
    await page.waitForSelector('[data-testid="error-banner"]');
    await shots(page, 'profile-editor-invalid');
    await page.fill('#pf-template', 'cd "$WORKING_DIR" && echo "$PROMPT" | tr a-z A-Z');
    await page.click('#pf-save');
    await page.waitForSelector('[data-testid="toast"]:has-text("Saved profile")');
    await page.waitForFunction(() => /#\/settings\/profiles\/[^n]/.test(location.hash));

    // Test it on the agent from its card; then duplicate
    await go(page, 'settings');
    await page.click('[data-profile-card="echo-bot"] [data-action="test"]');
    await page.fill('#profile-test-dir', path.join(root, 'project'));
    await page.click('#profile-test-run');
    await page.waitForSelector('#profile-test-result[data-ok="true"]', { timeout: 30_000 });
    assert.match((await page.textContent('#profile-test-result')) ?? '', /ECHO TEST/);
    await shots(page, 'profile-test');
    await page.keyboard.press('Escape');
    await page.click('[data-profile-card="echo-bot"] [data-action="duplicate"]');
    await page.waitForFunction(() => (document.querySelector<HTMLInputElement>('#pf-name')?.value ?? '') === 'Echo bot (copy)');

    // Runner settings: a refused value is explained, a good one saved
    await go(page, 'settings');
    await page.fill('#rs-maxConcurrentRuns', '0');
    await page.click('#rs-save');
    await page.waitForSelector('#runner-settings [data-testid="error-banner"]');
    await page.fill('#rs-maxConcurrentRuns', '4');
    await page.fill('#rs-defaultWorkingDirectory', path.join(root, 'project'));
    await page.click('#rs-save');
    await page.waitForSelector('[data-testid="toast"]:has-text("Runner settings saved")');
    const { body } = await relay!.api<{ settings: { maxConcurrentRuns: number } }>('GET', '/api/settings/runner');
    assert.equal(body.settings.maxConcurrentRuns, 4);
  });

  test('Dashboard: agents, last runs, failures and the quick run of the most used prompt', async () => {
    await go(page, 'dashboard');
    await page.waitForSelector('[data-testid="last-runs"] li[data-run-id]');
    await page.waitForSelector('[data-testid="recent-failures"] li[data-run-id]');
    // The most used prompt is counted over the runs the page has; the last ones may arrive a moment later.
    await page.waitForFunction(() => /list files/.test(document.querySelector('#quick-run')?.textContent ?? ''), undefined, { timeout: 10_000 }).catch(() => {});
    assert.match((await page.textContent('#quick-run')) ?? '', /list files/);
    await shots(page, 'dashboard');
    await page.click('#quick-run');
    await page.waitForSelector('#run-detail');
    await page.waitForSelector('#run-detail[data-status="completed"]', { timeout: 20_000 });
  });

  test('Schedules and Analytics open; Admin creates an API token', async () => {
    await go(page, 'schedules');
    await page.waitForSelector('[data-testid="schedules-empty"], #schedules-table');
    await shots(page, 'schedules');
    await go(page, 'analytics');
    await page.waitForSelector('[data-testid="analytics"]');
    await shots(page, 'analytics');
    await go(page, 'admin');
    await page.waitForSelector('#tokens-table tr[data-token-name="harness"]');
    await page.click('#new-token');
    await page.fill('#token-name', 'ci');
    await page.click('#token-create');
    await page.waitForSelector('#token-secret');
    assert.match((await page.textContent('#token-secret')) ?? '', /^rxt_/);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#tokens-table tr[data-token-name="ci"]');
    await shots(page, 'admin');
  });

  test('Agents: detail with sessions; Add agent shows a ready-to-run install command', async () => {
    await go(page, 'agents');
    await page.waitForSelector('[data-agent-name="web-agent"][data-status="online"]');
    await shots(page, 'agents');
    await page.click('[data-action="add-agent"]');
    await page.waitForSelector('#add-agent');
    await page.fill('#add-agent-tags', 'db');
    await page.click('#create-enrollment');
    await page.waitForFunction(() => /rxe_/.test(document.querySelector('#install-command')?.textContent ?? ''));
    assert.match((await page.textContent('#install-command')) ?? '', /^\.\/install-agent\.sh .*rxe_\S+/, 'the install command carries the enrollment token');
    await shots(page, 'add-agent');
    await page.goto(`${relay!.url}/#/agents/${agent!.agentId}`);
    await page.waitForSelector('#agent-detail[data-status="online"]');
    await shots(page, 'agent-detail');
  });

  test('Terminals: two tabs on the agent, each its own shell; the agent page sees the sessions', async () => {
    await go(page, 'terminals');
    await page.waitForSelector('[data-testid="terminals-empty"]');
    await shots(page, 'terminals-empty');
    for (const word of ['first', 'second']) {
      await page.click('#new-terminal');
      const pane = page.locator('[data-testid="term-pane"]:not([hidden])').first();
      await page.waitForFunction((n) => document.querySelectorAll('[data-tab][data-state="running"]').length >= n, word === 'first' ? 1 : 2, { timeout: 20_000 });
      await pane.locator('.xterm-helper-textarea').focus();
      await page.keyboard.type(`echo tab-${word}-$((1+1))`);
      await page.keyboard.press('Enter');
      await page.waitForFunction((w) => Array.from(document.querySelectorAll('[data-testid="term-pane"]:not([hidden]) .xterm-rows > div')).some((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trim() === `tab-${w}-2`), word, { timeout: 15_000 });
    }
    assert.equal(await page.locator('#term-tabs [data-tab]').count(), 2);
    await page.click('#term-split');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="term-pane"]:not([hidden])').length === 2);
    await page.click('#font-bigger');
    await shots(page, 'terminals-split');
    const { body } = await relay!.api<{ sessions: unknown[] }>('GET', `/api/agents/${agent!.agentId}/sessions`);
    assert.ok(body.sessions.length >= 2, 'two sessions open on the agent');
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
