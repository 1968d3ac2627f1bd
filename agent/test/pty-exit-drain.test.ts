/**
 * node-pty reports a process exit, then destroys the terminal 200 ms later if it has not read
 * end-of-file by then: output still in the kernel's terminal buffer (the reader was paused, or the
 * event loop was busy) was lost. spawnPty reads what is left before that happens.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { spawnPty } from '../src/sessions/pty.js';

test('output written just before exit survives a paused reader', { timeout: 15_000 }, async () => {
  const pty = spawnPty('/bin/sh', ['-c', 'sleep 0.3; printf "last-line-%s\\n" 1 2 3'], {
    cols: 80,
    rows: 24,
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color' },
  });
  const chunks: Buffer[] = [];
  pty.onData((c) => chunks.push(c));
  pty.pause();
  const exit = await new Promise<{ exitCode: number | null }>((resolve) => pty.onExit(resolve));
  await new Promise((r) => setTimeout(r, 100));
  pty.resume();
  await new Promise((r) => setTimeout(r, 100));
  const text = Buffer.concat(chunks).toString('utf8');
  assert.equal(exit.exitCode, 0);
  for (const n of [1, 2, 3]) assert.ok(text.includes(`last-line-${n}`), `last-line-${n} missing from ${JSON.stringify(text)}`);
});
