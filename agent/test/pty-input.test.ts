/**
 * Input to a terminal: spawnPty writes at once on the calling thread and hands what the kernel
 * does not take to node-pty's queue. Input far larger than the terminal's buffer, written while
 * the program does not read yet, must arrive complete and in order, multibyte characters intact.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test from 'node:test';
import { spawnPty, type PtyProcess } from '../src/sessions/pty.js';

/** A program in a raw, non-echoing terminal that prints the sha256 of its first `bytes` bytes of input. */
function hashingProgram(bytes: number, delay = ''): { pty: PtyProcess; output: () => string; exit: Promise<{ exitCode: number | null }> } {
  const pty = spawnPty('/bin/sh', ['-c', `stty raw -echo; ${delay} head -c ${bytes} | sha256sum`], {
    cols: 80,
    rows: 24,
    cwd: '/',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color' },
  });
  let out = '';
  pty.onData((c) => (out += c.toString('utf8')));
  return { pty, output: () => out, exit: new Promise((resolve) => pty.onExit(resolve)) };
}

test('a paste larger than the terminal buffer arrives complete and in order', { timeout: 20_000 }, async () => {
  // Chunks of different sizes, each with its number, some multibyte characters: about 1.2 MiB,
  // many times what the kernel holds for a program that does not read.
  const chunks = Array.from({ length: 200 }, (_, i) => `<${i}:${'é€x'.repeat(300 + ((i * 37) % 1000))}>`);
  const bytes = Buffer.from(chunks.join(''), 'utf8');
  const expected = createHash('sha256').update(bytes).digest('hex');
  const { pty, output, exit } = hashingProgram(bytes.length, 'sleep 0.3;');
  await new Promise((r) => setTimeout(r, 150)); // stty has run; sleep holds the reader off
  try {
    for (const c of chunks.slice(0, 40)) pty.write(c);
    // The rest a millisecond apart: some while the first wait behind a full buffer, some while
    // the program drains it (room in the kernel, node-pty's queue not empty yet). All must come
    // after what was written before them.
    for (const c of chunks.slice(40)) {
      await new Promise((r) => setTimeout(r, 1));
      pty.write(c);
    }
    assert.equal((await exit).exitCode, 0, `program failed: ${output()}`);
    assert.ok(output().includes(expected), `sha256 of what the program read differs: expected ${expected}, got ${JSON.stringify(output().trim())}`);
  } finally {
    pty.kill('SIGKILL');
  }
});

test('keystrokes typed one by one reach the program in order', { timeout: 15_000 }, async () => {
  const { pty, output, exit } = hashingProgram(500);
  await new Promise((r) => setTimeout(r, 150));
  const keys = Array.from({ length: 500 }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90)));
  for (const k of keys) pty.write(k);
  const expected = createHash('sha256').update(keys.join('')).digest('hex');
  assert.equal((await exit).exitCode, 0, `program failed: ${output()}`);
  assert.ok(output().includes(expected), `keystrokes arrived out of order or incomplete: ${JSON.stringify(output().trim())}`);
});
