/**
 * Several viewers and share links in a real headless Chromium against a real relay and agent:
 * the owner opens a terminal, searches its scrollback (Ctrl+Shift+F), copies and pastes, creates
 * a read-only share link (copied to the clipboard); a second browser context with no account
 * opens the link, sees the output at the owner's size, cannot type, and both see who is attached
 * (viewer chips). Revoking closes the guest's terminal at once; an unknown link gets a clear
 * message. Screenshots in test-output/viewers/.
 *
 *   node --import tsx --test web/test/viewers.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAgent, startRelay, type AgentProc, type RelayProc } from '../../relay/test/harness.js';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.resolve(WEB_DIR, '..', 'test-output', 'viewers');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NEW_PASSWORD = 'correct-horse-battery-staple';

async function screenText(page: Page): Promise<string> {
  return page.$$eval('#terminal .xterm-rows > div', (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()).join('\n'));
}

async function waitForScreen(page: Page, pattern: RegExp, timeout = 15_000): Promise<string> {
  try {
    await page.waitForFunction(
      ({ source, flags }) => new RegExp(source, flags).test(Array.from(document.querySelectorAll('#terminal .xterm-rows > div'), (r) => (r.textContent ?? '').replace(/\u00a0/g, ' ')).join('\n')),
      { source: pattern.source, flags: pattern.flags },
      { timeout, polling: 50 },
    );
  } catch (err) {
    throw new Error(`terminal never showed ${pattern}; screen was:\n${await screenText(page)}`, { cause: err });
  }
  return screenText(page);
}

async function chips(page: Page): Promise<{ name: string; mode: string; you: string }[]> {
  return page.$$eval('#terminal-viewers [data-viewer]', (els) =>
    els.map((e) => ({ name: e.querySelector('.viewer-name')?.textContent ?? '', mode: (e as HTMLElement).dataset.mode ?? '', you: (e as HTMLElement).dataset.you ?? '' })),
  );
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT_DIR, name) });
}

describe('viewers and share links in Chromium', { timeout: 180_000 }, () => {
  let relay: RelayProc | undefined;
  let agent: AgentProc | undefined;
  let browser: Browser | undefined;
  let owner: Page;
  let guest: Page;
  let shareUrl = '';
  const pageErrors: string[] = [];

  before(async () => {
    if (process.env.REXEC_WEB_SKIP_BUILD !== '1') {
      execFileSync(process.execPath, [path.join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: WEB_DIR, stdio: 'inherit' });
    }
    fs.mkdirSync(OUT_DIR, { recursive: true });
    relay = await startRelay();
    agent = await startAgent(relay, { name: 'pairing-box' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const ownerCtx = await browser.newContext({ viewport: { width: 1280, height: 720 }, colorScheme: 'light', permissions: ['clipboard-read', 'clipboard-write'] });
    owner = await ownerCtx.newPage();
    // The guest has a smaller window and no account.
    const guestCtx = await browser.newContext({ viewport: { width: 1000, height: 600 }, colorScheme: 'dark' });
    guest = await guestCtx.newPage();
    for (const p of [owner, guest]) p.on('pageerror', (e) => {
      pageErrors.push(String(e));
      console.error('[page error]', e);
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await agent?.stop().catch(() => {});
    await relay?.stop().catch(() => {});
  });

  test('the owner opens a terminal; scrollback search finds a line that scrolled away', async () => {
    await owner.goto(relay!.url);
    await owner.fill('#username', relay!.admin.username);
    await owner.fill('#password', relay!.admin.password);
    await owner.click('#login-submit');
    await owner.fill('#new-password', NEW_PASSWORD);
    await owner.fill('#confirm-password', NEW_PASSWORD);
    await owner.click('#change-submit');
    await owner.waitForSelector('.sidebar');
    await owner.goto(`${relay!.url}/#/terminal/${agent!.agentId}`);
    await owner.waitForSelector('#connection-state[data-state="running"]', { timeout: 20_000 });
    await owner.waitForSelector('#terminal-viewers [data-viewer][data-you="true"][data-mode="rw"]');
    assert.equal(await owner.getAttribute('#terminal', 'data-size-mode'), 'fit', 'the owner follows its window');
    await owner.waitForFunction(() => (document.querySelector('#terminal .xterm-rows')?.textContent ?? '').trim().length > 0, undefined, { timeout: 15_000 });
    await owner.keyboard.type('echo needle-$((40+2))-here; seq 1 200; echo done-$((1+1))');
    await owner.keyboard.press('Enter');
    const screen = await waitForScreen(owner, /^done-2$/m);
    assert.doesNotMatch(screen, /needle-42-here/, 'the line has scrolled out of view');

    await owner.keyboard.press('Control+Shift+F');
    await owner.waitForSelector('#terminal-search', { state: 'visible' });
    await owner.keyboard.type('needle-42');
    await owner.waitForSelector('#terminal-search-count[data-count="1"]');
    assert.equal((await owner.textContent('#terminal-search-count'))?.trim(), '1 of 1');
    await waitForScreen(owner, /needle-42-here/); // scrolled to the match
    const highlighted = await owner.$$eval('#terminal .xterm-decoration-container .xterm-decoration', (els) => els.length);
    assert.ok(highlighted > 0, 'the match is highlighted');
    await shot(owner, 'search.png');
    // No match: says so.
    await owner.fill('#terminal-search', 'no-such-text-anywhere');
    await owner.waitForSelector('#terminal-search-count[data-count="0"]');
    assert.equal((await owner.textContent('#terminal-search-count'))?.trim(), 'no matches');
    await owner.keyboard.press('Escape');
    await owner.waitForSelector('#terminal-search', { state: 'hidden' });
  });

  test('copy with Ctrl+Shift+C and paste with Ctrl+Shift+V', async () => {
    await owner.evaluate(() => navigator.clipboard.writeText('echo pasted-$((5+5))'));
    await owner.click('#terminal');
    await owner.keyboard.press('Control+Shift+V');
    await owner.keyboard.press('Enter');
    await waitForScreen(owner, /^pasted-10$/m);

    // Select the output line by dragging across it, then copy.
    const row = owner.locator('#terminal .xterm-rows > div', { hasText: /^pasted-10\s*$/ }).last();
    const box = await row.boundingBox();
    assert.ok(box, 'the output row is on screen');
    await owner.mouse.move(box.x + 1, box.y + box.height / 2);
    await owner.mouse.down();
    await owner.mouse.move(box.x + 120, box.y + box.height / 2, { steps: 5 });
    await owner.mouse.up();
    await owner.keyboard.press('Control+Shift+C');
    const copied = await owner.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /^pasted-10/, `the clipboard holds the selection (got ${JSON.stringify(copied)})`);
  });

  test('Share creates a read-only link, copied to the clipboard, listed as active', async () => {
    await owner.click('#terminal-share');
    await owner.waitForSelector('#share-panel', { state: 'visible' });
    await owner.selectOption('#share-mode', 'ro');
    await owner.selectOption('#share-expiry', '3600');
    await owner.fill('#share-label', 'for Sam');
    await owner.click('#share-create');
    await owner.waitForFunction(() => (document.querySelector('#share-url') as HTMLInputElement | null)?.value.includes('/#/share/rxs_'));
    shareUrl = await owner.inputValue('#share-url');
    assert.ok(shareUrl.startsWith(`${relay!.url}/#/share/rxs_`), `share URL ${shareUrl}`);
    assert.equal(await owner.evaluate(() => navigator.clipboard.readText()), shareUrl, 'the link is on the clipboard');
    await owner.waitForSelector('#share-list [data-share][data-mode="ro"]');
    assert.match((await owner.textContent('#share-list')) ?? '', /for Sam.*read-only/);
    await shot(owner, 'share-panel.png');
    await owner.keyboard.press('Escape');
  });

  test('the guest opens the link without an account: sees the output at the owner size, cannot type, sees the chips', async () => {
    await guest.goto(shareUrl);
    await guest.waitForSelector('#connection-state[data-state="running"]', { timeout: 20_000 });
    await waitForScreen(guest, /^pasted-10$/m);
    await guest.waitForSelector('#terminal-readonly', { state: 'visible' });
    assert.equal(await guest.getAttribute('#terminal', 'data-size-mode'), 'session', 'the guest renders at the session size');
    const [oc, orr, gc, gr] = await Promise.all([owner.getAttribute('#terminal', 'data-cols'), owner.getAttribute('#terminal', 'data-rows'), guest.getAttribute('#terminal', 'data-cols'), guest.getAttribute('#terminal', 'data-rows')]);
    assert.deepEqual([gc, gr], [oc, orr], 'same columns and rows as the owner, not its own smaller window');
    assert.equal(await guest.locator('#terminal-share').count(), 0, 'no Share button for a share link');

    // Both see both.
    await guest.waitForFunction(() => document.querySelectorAll('#terminal-viewers [data-viewer]').length === 2);
    await owner.waitForFunction(() => document.querySelectorAll('#terminal-viewers [data-viewer]').length === 2);
    assert.deepEqual(await chips(guest), [{ name: 'admin', mode: 'rw', you: 'false' }, { name: 'share link for Sam', mode: 'ro', you: 'true' }]);
    assert.deepEqual(await chips(owner), [{ name: 'admin', mode: 'rw', you: 'true' }, { name: 'share link for Sam', mode: 'ro', you: 'false' }]);

    // The guest types: nothing reaches the shell.
    await guest.click('#terminal');
    await guest.keyboard.type('echo guest-$((3*3))-typed');
    await guest.keyboard.press('Enter');
    await owner.click('#terminal');
    await owner.keyboard.type('echo owner-$((4*4))-typed');
    await owner.keyboard.press('Enter');
    await waitForScreen(guest, /^owner-16-typed$/m);
    assert.doesNotMatch(await screenText(owner), /guest-9-typed|guest-\$\(\(3\*3\)\)/, 'the guest typed nothing into the shell');
    await shot(guest, 'guest-readonly.png');
    await shot(owner, 'owner-with-guest.png');
  });

  test('revoking closes the guest terminal at once; an unknown link says so', async () => {
    await owner.click('#terminal-share');
    await owner.click('#share-list [data-action="revoke-share"]');
    await guest.waitForSelector('#connection-state[data-state="error"]', { timeout: 5000 });
    assert.match((await guest.textContent('#connection-text')) ?? '', /share link closed: share link revoked/);
    await owner.waitForFunction(() => document.querySelectorAll('#terminal-viewers [data-viewer]').length === 1);
    await owner.waitForSelector('#share-list li:has-text("No active links")');
    await shot(guest, 'guest-revoked.png');

    await guest.goto(`${relay!.url}/#/share/rxs_${'A'.repeat(43)}`);
    await guest.reload();
    await guest.waitForSelector('#share-error');
    assert.match((await guest.textContent('#share-error')) ?? '', /unknown share link/);
    await shot(guest, 'guest-unknown-link.png');
    assert.deepEqual(pageErrors, []);
  });
});
