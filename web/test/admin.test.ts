/**
 * The admin, schedules and analytics pages in a real headless Chromium against a real relay and
 * agent: users (create with a one-time password, disable, the last-admin refusal in place), API
 * tokens with agent tags, the audit log (entries, prefix filter, verify chain), Add agent with a
 * single-use enrollment token, a schedule made with the builder (next runs preview, an invalid
 * expression explained, toggle, run now, edit), the dashboard's next-run card, and analytics
 * charts after a few runs. Screenshots in light and dark land in test-output/admin/.
 *
 *   node --import tsx --test web/test/admin.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startAgent, startRelay, waitUntil, type AgentProc, type RelayProc } from '../../relay/test/harness.js';
import { buildWeb, go, launchChromium, NEW_PASSWORD, openPage, outDir, shots as shotsIn, tempRoot } from './helpers.js';

const OUT_DIR = outDir('admin');
const shots = (page: Page, name: string) => shotsIn(page, OUT_DIR, name, { fullPage: true });

describe('admin, schedules and analytics in Chromium', { timeout: 180_000 }, () => {
  let relay: RelayProc | undefined;
  let agent: AgentProc | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let root = '';
  let promptId = '';
  let pageErrors: string[] = [];

  before(async () => {
    buildWeb();
    root = tempRoot('rexec-web-admin-', ['project', 'other']);
    relay = await startRelay();
    agent = await startAgent(relay, { name: 'admin-agent', tags: ['web', 'linux'], env: { REXEC_AGENT_ALLOWED_ROOTS: root } });
    browser = await launchChromium();
    ({ page, errors: pageErrors } = await openPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await agent?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('sign in (forced password change) and a failed sign-in for the audit log', async () => {
    await page.goto(relay!.url);
    await page.fill('#username', relay!.admin.username);
    await page.fill('#password', 'wrong-password-here');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error:not([hidden])');
    await page.fill('#password', relay!.admin.password);
    await page.click('#login-submit');
    await page.fill('#new-password', NEW_PASSWORD);
    await page.fill('#confirm-password', NEW_PASSWORD);
    await page.click('#change-submit');
    await page.waitForSelector('[data-testid="dashboard"]');
  });

  test('Admin -> Users: create a user, see the one-time password once, disable them; the last admin cannot be disabled', async () => {
    await go(page, 'admin');
    await page.waitForSelector('#users-table tr[data-username="admin"]');
    await page.click('#new-user');
    await page.fill('#user-name', 'alice');
    await page.selectOption('#user-role', 'viewer');
    await page.fill('#user-tags', 'web, staging');
    await page.click('#user-create');
    await page.waitForSelector('#one-time-password');
    const otp = ((await page.textContent('#one-time-password')) ?? '').trim();
    assert.ok(otp.length >= 12, `a one-time password is shown (got "${otp}")`);
    await shots(page, 'user-created');
    await page.click('[data-testid="otp-dialog"] .btn-primary');
    const row = 'tr[data-username="alice"]';
    await page.waitForSelector(`${row}[data-disabled="false"]`);
    assert.match((await page.textContent(row)) ?? '', /viewer.*web.*staging.*active/s);
    await page.click(`${row} [data-action="toggle-user"]`);
    await page.waitForSelector(`${row}[data-disabled="true"]`);
    assert.match((await page.textContent(`${row} [data-testid="user-state"]`)) ?? '', /disabled/);
    // The only enabled admin cannot disable themselves: the relay's 409 is shown in place.
    await page.click('tr[data-username="admin"] [data-action="toggle-user"]');
    await page.waitForSelector('[data-testid="user-row-error"]');
    assert.match((await page.textContent('[data-testid="user-row-error"]')) ?? '', /last enabled admin/i);
    await page.waitForSelector('tr[data-username="admin"][data-disabled="false"]');
    // Edit: role and tags
    await page.click(`${row} [data-action="edit-user"]`);
    await page.selectOption('#edit-user-role', 'operator');
    await page.fill('#edit-user-tags', 'web');
    await page.click('#user-save');
    await page.waitForFunction(() => /operator/.test(document.querySelector('tr[data-username="alice"]')?.textContent ?? ''));
    // Reset password gives a new one-time password
    await page.click(`${row} [data-action="reset-user"]`);
    await page.waitForSelector('#one-time-password');
    assert.notEqual(((await page.textContent('#one-time-password')) ?? '').trim(), otp, 'the reset gives a new one-time password');
    await page.keyboard.press('Escape');
    // A token limited to agent tags
    await page.click('#new-token');
    await page.fill('#token-name', 'ci-web');
    await page.fill('#token-tags', 'web');
    await page.click('#token-create');
    await page.waitForSelector('#token-secret');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#tokens-table tr[data-token-name="ci-web"] .chip[data-tag="web"]');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shots(page, 'admin-users');
  });

  test('Admin -> Audit log: entries newest first, prefix filter, verify says intact', async () => {
    await page.click('#audit-refresh');
    // (the harness's own token.create is entry 1, so wait for the new one at the top)
    await page.waitForFunction(() => document.querySelector('#audit-table tbody tr[data-action-name]')?.getAttribute('data-action-name') === 'token.create');
    const first = await page.getAttribute('#audit-table tbody tr[data-action-name]', 'data-action-name');
    assert.equal(first, 'token.create', 'the newest entry comes first');
    await page.fill('#audit-action', 'auth.');
    await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll('#audit-table tr[data-action-name]'));
      return rows.length > 0 && rows.every((r) => (r.getAttribute('data-action-name') ?? '').startsWith('auth.'));
    });
    await page.fill('#audit-action', '');
    await page.waitForFunction(() => document.querySelector('#audit-table tr[data-action-name="user.create"]') !== null);
    await page.click('#audit-verify');
    await page.waitForSelector('[data-testid="audit-verify-result"]');
    assert.equal(await page.getAttribute('[data-testid="audit-verify-result"]', 'data-ok'), 'true');
    assert.match((await page.textContent('[data-testid="audit-verify-result"]')) ?? '', /Chain intact/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    const file = await download.path();
    const exported = JSON.parse(fs.readFileSync(file!, 'utf8')) as { count: number; events: unknown[] };
    assert.ok(exported.count > 3 && exported.events.length === exported.count, `the export holds the entries (${exported.count})`);
    await page.$eval('[data-section="audit"]', (el) => el.scrollIntoView());
    await page.screenshot({ path: path.join(OUT_DIR, 'audit-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(OUT_DIR, 'audit-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('Agents -> Add agent: a single-use enrollment token and both commands', async () => {
    await go(page, 'agents');
    await page.click('[data-action="add-agent"]');
    await page.waitForSelector('#add-agent');
    await page.fill('#add-agent-tags', 'db, eu');
    await page.fill('#add-agent-minutes', '30');
    await page.click('#create-enrollment');
    await page.waitForSelector('#install-command');
    assert.match((await page.textContent('#install-command')) ?? '', /^\.\/install-agent\.sh .*rxe_\S+/, 'the install command carries an rxe_ token');
    assert.match((await page.textContent('#register-command')) ?? '', /^rexec-agent register .*rxe_\S+/, 'the register command carries the same token');
    assert.match((await page.textContent('[data-testid="enrollment-note"]')) ?? '', /Works once.*expires in (29|30) min/s);
    await shots(page, 'add-agent');
  });

  test('Schedules: build one with presets, see its next runs, a bad expression explained, toggle, run now', async () => {
    const profiles = await relay!.api<{ items: { id: string; slug: string }[] }>('GET', '/api/profiles?limit=100');
    const shell = profiles.body.items.find((p) => p.slug === 'shell');
    assert.ok(shell, 'the built-in shell profile exists');
    const created = await relay!.api<{ prompt: { id: string } }>('POST', '/api/prompts', { name: 'nightly report', content: 'echo report; sleep 0.2', agentProfileId: shell.id, workingDirectory: path.join(root, 'project') });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    promptId = created.body.prompt.id;

    await go(page, 'schedules');
    await page.waitForSelector('[data-testid="schedules-empty"]');
    await shots(page, 'schedules-empty');
    // From the saved prompt's "Schedule" action: the builder opens with the prompt chosen.
    await go(page, 'prompts');
    await page.click(`[data-action="schedule"]`);
    await page.waitForSelector('#schedule-form');
    await page.waitForFunction((id) => (document.querySelector('#sched-prompt') as HTMLSelectElement | null)?.value === id, promptId);
    await page.fill('#sched-name', 'nightly');
    await page.click('[data-preset="weekdays"]');
    await page.fill('#sched-time', '07:30');
    await page.fill('#sched-tz', 'Europe/Paris');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-preview"] ol[data-cron="30 7 * * 1-5"] li').length === 5);
    assert.match((await page.textContent('[data-testid="cron-preview"]')) ?? '', /at 07:30 on weekdays.*30 7 \* \* 1-5/s);
    assert.match((await page.textContent('[data-testid="cron-preview"] li')) ?? '', /07:30 (CES?T|GMT\+[12])/);
    // A custom expression the relay refuses: its message in place, Save disabled
    await page.click('[data-preset="custom"]');
    assert.equal(await page.inputValue('#sched-cron'), '30 7 * * 1-5', 'custom starts from the preset');
    await page.fill('#sched-cron', '61 * * * *');
    await page.waitForSelector('[data-testid="cron-error"]');
    assert.match((await page.textContent('[data-testid="cron-error"]')) ?? '', /minute|61|range/i);
    assert.ok(await page.isDisabled('#sched-save'), 'Save is disabled while the expression is invalid');
    await shots(page, 'schedule-form-error');
    await page.fill('#sched-cron', '*/5 * * * *');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-preview"] ol[data-cron="*/5 * * * *"] li').length === 5);
    await page.click('[data-preset="weekly"]');
    await page.click('[data-day="3"]');
    await page.waitForFunction(() => /Mon, Wed/.test(document.querySelector('[data-testid="cron-preview"] .cron-words')?.textContent ?? ''));
    await page.click('[data-preset="hourly"]');
    await page.fill('#sched-minute', '15');
    await page.waitForFunction(() => /every hour at :15/.test(document.querySelector('[data-testid="cron-preview"]')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-preview"] ol[data-cron="15 * * * *"] li').length === 5);
    assert.match((await page.textContent('[data-testid="cron-preview"] li')) ?? '', /:15 /, 'the preview is for the hourly expression');
    await shots(page, 'schedule-form');
    await page.click('#sched-save');
    await page.waitForSelector('#schedules-table tr[data-schedule-name="nightly"][data-enabled="true"]');
    assert.match((await page.textContent('tr[data-schedule-name="nightly"] [data-testid="next-run"]')) ?? '', /^in \d+/);

    // A second schedule at the same minute on the same agent and directory: conflict warnings
    await page.click('#new-schedule');
    await page.waitForSelector('#schedule-form');
    await page.selectOption('#sched-prompt', promptId);
    await page.fill('#sched-name', 'overlapping');
    await page.click('[data-preset="hourly"]');
    await page.fill('#sched-minute', '15');
    await page.fill('#sched-tz', 'Europe/Paris');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-preview"] ol[data-cron="15 * * * *"] li').length === 5);
    await page.waitForFunction(() => (document.querySelector('#sched-agent') as HTMLSelectElement | null)?.value !== '');
    await page.click('#sched-save');
    await page.waitForSelector('#schedules-table tr[data-schedule-name="overlapping"]');
    await page.waitForSelector('[data-testid="schedule-warnings"]');
    assert.match((await page.textContent('[data-testid="schedule-warnings"]')) ?? '', /nightly/);

    // Toggle off and on
    const toggle = 'tr[data-schedule-name="overlapping"] input[type="checkbox"]';
    await page.click(toggle);
    await page.waitForSelector('tr[data-schedule-name="overlapping"][data-enabled="false"]');
    assert.match((await page.textContent('tr[data-schedule-name="overlapping"] [data-testid="next-run"]')) ?? '', /paused/);
    await page.click(toggle);
    await page.waitForSelector('tr[data-schedule-name="overlapping"][data-enabled="true"]');

    // Run now; a second run now while the first still runs is refused in place (409)
    await relay!.api('PUT', `/api/prompts/${promptId}`, { content: 'echo report; sleep 3' });
    await page.click('tr[data-schedule-name="nightly"] [data-action="run-now"]');
    await page.waitForSelector('[data-testid="toast"]:has-text("Started 1 run")');
    await page.click('tr[data-schedule-name="nightly"] [data-action="run-now"]');
    await page.waitForSelector('[data-testid="schedule-row-error"]');
    assert.match((await page.textContent('[data-testid="schedule-row-error"]')) ?? '', /still (queued|running)/);
    await page.waitForSelector('tr[data-schedule-name="nightly"] [data-status="completed"]', { timeout: 20_000 }).catch(async () => {
      await waitUntil('the scheduled run ends', async () => {
        const r = await relay!.api<{ items: { lastRunStatus: string | null }[] }>('GET', '/api/schedules?q=nightly');
        return r.body.items[0]?.lastRunStatus === 'completed';
      }, 20_000);
      await page.reload();
      await page.waitForSelector('tr[data-schedule-name="nightly"] [data-status="completed"]');
    });
    await shots(page, 'schedules');

    // The dashboard's card counts down to the next fire
    await go(page, 'dashboard');
    await page.waitForFunction(() => /in \d+ min \d+ s|in \d+ s|in \d+ h/.test(document.querySelector('[data-testid="next-schedule"]')?.textContent ?? ''));
    const a = await page.textContent('[data-testid="next-schedule"] .value');
    await page.waitForTimeout(1100);
    assert.notEqual(await page.textContent('[data-testid="next-schedule"] .value'), a, 'the countdown ticks');
  });

  test('Analytics: charts after a few runs', async () => {
    for (const [dir, cmd] of [['project', 'echo a'], ['project', 'exit 3'], ['other', 'echo b; sleep 0.3']] as const) {
      const r = await relay!.api('POST', '/api/run', { prompt: cmd, profile: 'shell', agent: 'admin-agent', workingDirectory: path.join(root, dir) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await waitUntil('the runs end', async () => {
      const r = await relay!.api<{ items: unknown[] }>('GET', '/api/runs/active');
      return r.body.items.length === 0;
    }, 20_000);
    await go(page, 'analytics');
    await page.waitForSelector('[data-testid="kpi-runs"]');
    assert.match((await page.textContent('[data-testid="kpi-runs"] .value')) ?? '', /^[4-9]$/);
    await page.waitForSelector('[data-testid="chart-profile"] .bar-ok');
    await page.waitForSelector('[data-testid="chart-profile"] .bar-bad');
    assert.equal(await page.getAttribute('[data-testid="chart-dirs"]', 'data-rows'), '2', 'two directories');
    await page.waitForSelector('[data-testid="chart-schedule"] .bar-row[data-label="nightly"]');
    await page.waitForSelector('[data-testid="chart-duration"] circle.dot');
    await page.waitForSelector('#schedule-health tr[data-schedule-name="nightly"]');
    await page.selectOption('#stats-range', '24h');
    await page.waitForSelector('[data-testid="chart-duration"] circle.dot');
    await shots(page, 'analytics');
    await page.$eval('#schedule-health', (el) => el.scrollIntoView({ block: 'end' }));
    await page.screenshot({ path: path.join(OUT_DIR, 'analytics-bottom-light.png') });
    assert.deepEqual(pageErrors, [], 'no errors in the page');
  });
});
