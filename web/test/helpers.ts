/**
 * What every Chromium test of the web app needs: build web/dist, launch Debian's Chromium,
 * a page that records page errors (and CSP violations), the first sign-in with the relay's
 * one-time password, sidebar navigation, screenshots in light and dark, and layout checks at
 * several window sizes. Relay and agent processes come from relay/test/harness.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import type { RelayProc } from '../../relay/test/harness.js';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const NEW_PASSWORD = 'correct-horse-battery-staple';
/** Window sizes the layout must fit: small laptop, old 4:3, common laptop. */
export const VIEWPORTS = [
  { width: 1280, height: 720 },
  { width: 1024, height: 768 },
  { width: 1366, height: 800 },
] as const;

/** The relay serves web/dist: build it from the current sources (REXEC_WEB_SKIP_BUILD=1 skips). */
export function buildWeb(): void {
  if (process.env.REXEC_WEB_SKIP_BUILD === '1') return;
  execFileSync(process.execPath, [path.join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: WEB_DIR, stdio: 'inherit' });
}

/** test-output/<sub> (gitignored), created. */
export function outDir(sub = ''): string {
  const dir = path.resolve(WEB_DIR, '..', 'test-output', sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A real temporary directory (realpath) with these subdirectories, for REXEC_AGENT_ALLOWED_ROOTS. */
export function tempRoot(prefix: string, subdirs: string[] = []): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  for (const d of subdirs) fs.mkdirSync(path.join(root, d));
  return root;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface AppPage {
  page: Page;
  /** Uncaught errors in the page. */
  errors: string[];
  /** Console messages about the Content Security Policy. */
  cspViolations: string[];
}

/** A new context and page (1366x800, light, clipboard allowed unless `context` says otherwise). */
export async function openPage(browser: Browser, context: BrowserContextOptions = {}): Promise<AppPage> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 800 }, colorScheme: 'light', permissions: ['clipboard-read', 'clipboard-write'], ...context });
  const page = await ctx.newPage();
  const errors: string[] = [];
  const cspViolations: string[] = [];
  page.on('pageerror', (e) => {
    errors.push(String(e));
    console.error('[page error]', e);
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return { page, errors, cspViolations };
}

/** Signs in as the relay's admin with the one-time password and sets NEW_PASSWORD; ends on the dashboard. */
export async function firstSignIn(page: Page, relay: RelayProc): Promise<void> {
  await page.goto(relay.url);
  await page.fill('#username', relay.admin.username);
  await page.fill('#password', relay.admin.password);
  await page.click('#login-submit');
  await page.fill('#new-password', NEW_PASSWORD);
  await page.fill('#confirm-password', NEW_PASSWORD);
  await page.click('#change-submit');
  await page.waitForSelector('[data-testid="dashboard"]');
}

/** Clicks a sidebar entry and waits for its route. */
export async function go(page: Page, nav: string): Promise<void> {
  await page.click(`.sidebar [data-nav="${nav}"]`);
  await page.waitForFunction((n) => location.hash.startsWith(`#/${n}`), nav);
}

/** A screenshot in the light and the dark theme (the theme follows the emulated system setting). */
export async function shots(page: Page, dir: string, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction((s) => document.documentElement.dataset.theme === s, scheme);
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(dir, `${name}-${scheme}.png`), ...(opts.fullPage ? { fullPage: true } : {}) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/**
 * Layout problems on the current page: the page itself scrolling sideways, and elements that
 * stick out of the main area (tables must scroll inside their own wrapper instead).
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) out.push(`the page scrolls sideways (${doc.scrollWidth} > ${doc.clientWidth})`);
    const main = document.querySelector<HTMLElement>('#main');
    if (main && main.scrollWidth > main.clientWidth + 1) {
      const wide = Array.from(main.querySelectorAll<HTMLElement>('*'))
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.right > main.getBoundingClientRect().right + 1 && !el.closest('.table-wrap, .xterm, pre, .code-block');
        })
        .slice(0, 3)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${Array.from(el.classList).join('.')}`);
      out.push(`the main area scrolls sideways (${main.scrollWidth} > ${main.clientWidth}): ${wide.join(', ')}`);
    }
    return out;
  });
}
