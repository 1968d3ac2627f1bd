/**
 * The web app in a real headless Chromium against a real relay and agent (relay/test/harness.ts).
 *
 *   node --import tsx --test web/test/browser.test.ts
 *
 * One browser page walks the path a person takes: a wrong password, the one-time admin password
 * and the forced change, the agents list, a terminal (commands, colours, resize, Ctrl-C, exit and
 * Reconnect), the agent going offline, and sign-out. Steps share the page, so they run in order.
 * Screenshots land in test-output/ (gitignored) for a human look.
 *
 * Needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium), or CHROMIUM_PATH.
 * Set REXEC_WEB_SKIP_BUILD=1 to test the existing web/dist without rebuilding it first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startAgent, startRelay, type AgentProc, type RelayProc } from '../../relay/test/harness.js';
import { buildWeb, launchChromium, NEW_PASSWORD, openPage, outDir } from './helpers.js';

const OUT_DIR = outDir();
const AGENT_NAME = 'local';
const AGENT_TAGS = ['web-test', 'dev'];

/** Rows of the terminal as a person sees them (the DOM renderer's rows, one line each). */
async function screenText(page: Page): Promise<string> {
  return page.$$eval('#terminal .xterm-rows > div', (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()).join('\n'));
}

async function waitForScreen(page: Page, pattern: RegExp, timeout = 15_000): Promise<string> {
  try {
    await page.waitForFunction(
      ({ source, flags }) => {
        const rows = Array.from(document.querySelectorAll('#terminal .xterm-rows > div'));
        const text = rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ')).join('\n');
        return new RegExp(source, flags).test(text);
      },
      { source: pattern.source, flags: pattern.flags },
      { timeout, polling: 50 },
    );
  } catch (err) {
    throw new Error(`terminal never showed ${pattern}; screen was:\n${await screenText(page)}`, { cause: err });
  }
  return screenText(page);
}

async function termSize(page: Page): Promise<{ cols: number; rows: number }> {
  const [cols, rows] = await Promise.all([page.getAttribute('#terminal', 'data-cols'), page.getAttribute('#terminal', 'data-rows')]);
  return { cols: Number(cols), rows: Number(rows) };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT_DIR, name) });
}

describe('web app in Chromium', { timeout: 180_000 }, () => {
  let relay: RelayProc | undefined;
  let agent: AgentProc | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let agentId = '';
  let pageErrors: string[] = [];
  // The relay's CSP forbids inline scripts and handlers; a violation shows up in the console.
  let cspViolations: string[] = [];

  before(async () => {
    buildWeb();
    relay = await startRelay();
    browser = await launchChromium();
    ({ page, errors: pageErrors, cspViolations } = await openPage(browser, { viewport: { width: 1200, height: 760 }, permissions: [] }));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await agent?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
  });

  test('a wrong password shows the relay\'s own error message', async () => {
    // Given the relay's answer to a wrong password, asked directly
    const res = await fetch(`${relay!.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: relay!.admin.username, password: 'not-the-password' }),
    });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unauthorized');

    // When the same login is tried in the browser
    await page.goto(relay!.url);
    await page.waitForSelector('#username');
    await page.fill('#username', relay!.admin.username);
    await page.fill('#password', 'not-the-password');
    await page.click('#login-submit');

    // Then the login page shows that message and stays put
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible' });
    assert.equal((await error.textContent())?.trim(), body.error.message);
    assert.match(page.url(), /#\/login$/);
    await shot(page, 'login-error.png');
  });

  test('the one-time admin password leads to the change-password form, then the app', async () => {
    await page.fill('#password', relay!.admin.password);
    await page.click('#login-submit');

    // The relay refuses everything else until the password is changed: the form comes first.
    await page.waitForSelector('#new-password', { state: 'visible' });
    assert.match(page.url(), /#\/change-password$/);
    await shot(page, 'change-password.png');

    // A too-short password is refused before it is sent
    await page.fill('#new-password', 'short');
    await page.fill('#confirm-password', 'short');
    await page.click('#change-submit');
    await page.locator('#change-error').waitFor({ state: 'visible' });
    assert.match((await page.textContent('#change-error')) ?? '', /12 characters/);

    await page.fill('#new-password', NEW_PASSWORD);
    await page.fill('#confirm-password', NEW_PASSWORD);
    await page.click('#change-submit');
    // The app opens on the dashboard
    await page.waitForSelector('.sidebar');
    assert.match(page.url(), /#\/dashboard$/);
    // No agent is registered yet: the list loads empty and says how to add one
    await page.click('.sidebar [data-nav="agents"]');
    await page.waitForSelector('#agent-list[aria-busy="false"]', { state: 'attached' });
    assert.match(page.url(), /#\/agents$/);
    await page.locator('[data-testid="agents-empty"]').waitFor({ state: 'visible' });
    await shot(page, 'agents-empty.png');

    // The session now carries a user who no longer must change the password
    const stored = await page.evaluate(() => sessionStorage.getItem('rexec.session'));
    assert.ok(stored, 'session stored in sessionStorage');
    assert.equal((JSON.parse(stored) as { user: { mustChangePassword: boolean } }).user.mustChangePassword, false);
  });

  test('the agents list shows the agent online with its OS, arch, shell and tags', async () => {
    agent = await startAgent(relay!, { name: AGENT_NAME, tags: AGENT_TAGS });
    agentId = agent.agentId;

    // What the relay knows about the agent, to compare against what the page shows
    const res = await fetch(`${relay!.url}/api/agents`, { headers: { authorization: `Bearer ${relay!.apiToken}` } });
    assert.equal(res.status, 200);
    const { agents } = (await res.json()) as { agents: { name: string; os: string; arch: string; shell: string; tags: string[] }[] };
    const info = agents.find((a) => a.name === AGENT_NAME);
    assert.ok(info, `relay lists agent ${AGENT_NAME}`);

    // The list is live (agent events): the agent appears online without a reload
    const row = page.locator(`[data-agent-name="${AGENT_NAME}"]`);
    await page.waitForSelector(`[data-agent-name="${AGENT_NAME}"][data-status="online"]`, { timeout: 20_000 });
    assert.equal((await row.locator('[data-testid="agent-status"]').textContent())?.trim(), 'online');
    assert.ok(info.os && info.arch, 'the agent reported its OS and arch');
    assert.equal((await row.locator('[data-testid="agent-os"]').textContent())?.trim(), info.os);
    assert.equal((await row.locator('[data-testid="agent-arch"]').textContent())?.trim(), info.arch);
    if (info.shell) assert.equal((await row.locator('[data-testid="agent-shell"]').textContent())?.trim(), info.shell);
    const chips = await row.locator('.chip').allTextContents();
    for (const tag of AGENT_TAGS) assert.ok(chips.includes(tag), `tag chip ${tag} in ${JSON.stringify(chips)}`);
    assert.match((await row.locator('[data-testid="last-seen"]').textContent()) ?? '', /just now|s ago|min ago/);
    assert.equal(await row.locator('[data-action="open-terminal"]').count(), 1);
    await shot(page, 'agents.png');
  });

  test('Open terminal gives a working shell that fills the window and has focus', async () => {
    await page.click(`[data-agent-name="${AGENT_NAME}"] [data-action="open-terminal"]`);
    await page.waitForSelector('#connection-state[data-state="running"]', { timeout: 20_000 });
    assert.equal((await page.textContent('#terminal-agent'))?.trim(), AGENT_NAME);

    // Wait for the shell's prompt, then type without clicking: the terminal has focus on open
    await page.waitForFunction(() => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').trim().length > 0, undefined, { timeout: 15_000 });
    await page.keyboard.type('echo hello-$((6*7))');
    await page.keyboard.press('Enter');
    // The command line shows `hello-$((6*7))`; only the shell's output has `hello-42`
    await waitForScreen(page, /^hello-42$/m);

    // The terminal fills the window below the header, to within one cell (plus the scrollbar)
    const geo = await page.evaluate(() => {
      const screen = document.querySelector('#terminal .xterm-screen')!.getBoundingClientRect();
      const header = document.querySelector('.term-header')!.getBoundingClientRect();
      return { screen: { top: screen.top, right: screen.right, bottom: screen.bottom, left: screen.left }, headerBottom: header.bottom, w: innerWidth, h: innerHeight };
    });
    const { cols, rows } = await termSize(page);
    const cellW = (geo.screen.right - geo.screen.left) / cols;
    const cellH = (geo.screen.bottom - geo.screen.top) / rows;
    assert.ok(geo.screen.top >= geo.headerBottom, 'terminal starts below the header');
    assert.ok(geo.screen.top - geo.headerBottom < 16, 'terminal starts right below the header');
    assert.ok(geo.w - geo.screen.right < cellW + 16, `terminal reaches the right edge (screen right ${geo.screen.right}, window ${geo.w})`);
    assert.ok(geo.h - geo.screen.bottom < cellH + 2, `terminal reaches the bottom edge (screen bottom ${geo.screen.bottom}, window ${geo.h})`);
    assert.ok(cols >= 80 && rows >= 24, `a 1200x760 window gives at least 80x24 (got ${cols}x${rows})`);
    await shot(page, 'terminal.png');
  });

  test('ANSI colours reach the screen', async () => {
    await page.keyboard.type("printf '\\033[31m%s\\033[0m\\n' red-$((2+3))");
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^red-5$/m);
    const red = await page.$$eval('#terminal .xterm-rows span', (spans) =>
      spans.filter((s) => s.textContent === 'red-5').map((s) => s.className),
    );
    assert.ok(red.some((c) => /\bxterm-fg-1\b/.test(c)), `red-5 drawn in ANSI red (classes: ${JSON.stringify(red)})`);
  });

  test('a smaller window resizes the PTY (stty size agrees with xterm)', async () => {
    const before = await termSize(page);
    await page.setViewportSize({ width: 760, height: 440 });
    await page.waitForFunction(
      (b) => {
        const el = document.querySelector<HTMLElement>('#terminal');
        return el !== null && (Number(el.dataset.cols) !== b.cols || Number(el.dataset.rows) !== b.rows);
      },
      before,
      { timeout: 5_000 },
    );
    const after = await termSize(page);
    assert.ok(after.cols < before.cols && after.rows < before.rows, `terminal shrank: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    assert.equal(await page.textContent('#terminal-size'), `${after.cols}×${after.rows}`);

    await page.keyboard.type('clear; stty size');
    await page.keyboard.press('Enter');
    await waitForScreen(page, new RegExp(`^${after.rows} ${after.cols}$`, 'm'));
    await shot(page, 'terminal-small.png');

    // And back: growing the window grows the PTY again
    await page.setViewportSize({ width: 1200, height: 760 });
    await page.waitForFunction((a) => Number(document.querySelector<HTMLElement>('#terminal')?.dataset.cols) > a.cols, after, { timeout: 5_000 });
    const grown = await termSize(page);
    await page.keyboard.type('clear; stty size');
    await page.keyboard.press('Enter');
    await waitForScreen(page, new RegExp(`^${grown.rows} ${grown.cols}$`, 'm'));
  });

  test('Ctrl-C interrupts the foreground program and the prompt comes back', async () => {
    await page.keyboard.type('clear; sleep 100');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
    await page.keyboard.press('Control+C');
    await waitForScreen(page, /\^C/);
    // Only a shell that got its prompt back runs this within the timeout (sleep has 100 s left)
    await page.keyboard.type('echo after-$((1+1))-ctrl-c');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^after-2-ctrl-c$/m, 5_000);
  });

  test('full-screen programs work: vim edits and saves a file, top draws and quits', async () => {
    const file = path.join(OUT_DIR, `vim-${process.pid}.txt`);
    fs.rmSync(file, { force: true });
    await page.keyboard.type(`clear; vim -u NONE -N ${file}`);
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^~\s*$/m); // vim's empty-buffer tildes: the alternate screen is drawn
    await page.keyboard.type('ihello from vim');
    await page.keyboard.press('Escape');
    await waitForScreen(page, /^hello from vim/m);
    await shot(page, 'vim.png');
    await page.keyboard.type(':wq');
    await page.keyboard.press('Enter');
    await page.keyboard.type('echo saved-$((2+3))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^saved-5$/m);
    assert.equal(fs.readFileSync(file, 'utf8'), 'hello from vim\n');

    await page.keyboard.type('top -d 1');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /load average/);
    await waitForScreen(page, /PID\s+USER/);
    await shot(page, 'top.png');
    await page.keyboard.press('q');
    await page.keyboard.type('echo after-top-$((3*3))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^after-top-9$/m);
  });

  test('a page reload resumes the same shell, its screen restored from a snapshot', async () => {
    await page.keyboard.type('clear; echo pid-$$-before-$((2*2))');
    await page.keyboard.press('Enter');
    const pid = /^pid-(\d+)-before-4$/m.exec(await waitForScreen(page, /^pid-\d+-before-4$/m))![1];
    await page.reload();
    await page.waitForSelector('#connection-state[data-state="running"]', { timeout: 15_000 });
    await waitForScreen(page, /^pid-\d+-before-4$/m); // restored from the host's screen snapshot
    await page.keyboard.type('echo pid-$$-after');
    await page.keyboard.press('Enter');
    await waitForScreen(page, new RegExp(`^pid-${pid}-after$`, 'm'));
    await shot(page, 'terminal-resumed.png');
  });

  test('the dark theme follows the system setting', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(200);
    const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.term-header')!).backgroundColor);
    assert.notEqual(bg, 'rgb(255, 255, 255)');
    await shot(page, 'terminal-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('exit ends the session with its status; Reconnect starts a new shell', async () => {
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#connection-state[data-state="ended"]', { timeout: 10_000 });
    assert.match((await page.textContent('#connection-state')) ?? '', /session ended \(exit 0\)/);
    await page.locator('#reconnect').waitFor({ state: 'visible' });
    await shot(page, 'session-ended.png');

    await page.click('#reconnect');
    await page.waitForSelector('#connection-state[data-state="running"]', { timeout: 20_000 });
    assert.ok(await page.locator('#reconnect').isHidden());
    await page.waitForFunction(() => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').trim().length > 0, undefined, { timeout: 15_000 });
    await page.keyboard.type('echo new-session-$((2*4))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, /^new-session-8$/m);
  });

  test('the agent going offline shows a clear status and keeps trying to reconnect', async () => {
    await agent!.stop();
    agent = undefined;
    await page.waitForSelector('#connection-state[data-state="offline"]', { timeout: 20_000 });
    assert.match((await page.textContent('#connection-state')) ?? '', /agent went offline/);
    assert.ok(await page.locator('#reconnect').isVisible());
    await shot(page, 'agent-offline.png');

    // The terminal keeps trying (the agent may come back); Reconnect retries at once and says so
    assert.match((await page.textContent('#connection-state')) ?? '', /reconnecting/);
    await page.click('#reconnect');
    await page.waitForSelector('#connection-state[data-state="offline"]', { timeout: 10_000 });
    assert.match((await page.textContent('#connection-state')) ?? '', /agent went offline/);
    await shot(page, 'agent-offline-reconnect.png');

    // And the list shows it offline, without an Open terminal button
    await page.click('[data-testid="back"]');
    await page.waitForSelector(`[data-agent-name="${AGENT_NAME}"][data-status="offline"]`, { timeout: 20_000 });
    assert.equal(await page.locator(`[data-agent-name="${AGENT_NAME}"] [data-action="open-terminal"]`).count(), 0);
    await shot(page, 'agents-offline.png');
  });

  test('sign out clears the session; a bookmarked terminal comes back after signing in', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-submit');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('rexec.session')), null);

    // A protected page without a session goes to login...
    await page.goto(`${relay!.url}/#/terminal/${agentId}`);
    await page.waitForSelector('#login-submit');
    assert.match(page.url(), /#\/login$/);

    // ...and signing in (with the new password) returns to it
    await page.fill('#username', relay!.admin.username);
    await page.fill('#password', NEW_PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('#terminal');
    assert.match(page.url(), new RegExp(`#/terminal/${agentId}$`));
    await page.waitForFunction(() => /offline/.test(document.querySelector('#connection-state')?.textContent ?? ''), undefined, { timeout: 10_000 });

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    assert.deepEqual(cspViolations, [], 'no Content Security Policy violations');
  });
});
