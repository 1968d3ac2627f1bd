/**
 * Giving freed malloc memory back to the kernel: the native addon against glibc for real, the
 * trimmer's timing with a fake, and the relay process with its trimmer on and off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadMallocTrim } from '../src/memory/malloc-trim.js';
import { MemoryTrimmer } from '../src/memory/trimmer.js';
import { startRelay, waitUntil } from './harness.js';
import { rssOf } from './proc-stats.js';

const MiB = 1024 * 1024;

test('the addon hands free memory in the middle of the heap back to the kernel', async () => {
  const malloc = loadMallocTrim();
  assert.ok('trim' in malloc, `the addon loads (npm run build builds it): ${'unavailable' in malloc ? malloc.unavailable : ''}`);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // 48 MiB in 16 KiB blocks from malloc (below its mmap threshold), every page written; every
  // 64th block stays alive, so the free blocks sit between live ones where free() keeps them.
  let blocks: Buffer[] | null = Array.from({ length: 3072 }, () => Buffer.allocUnsafeSlow(16 * 1024).fill(1));
  const pinned = blocks.filter((_, i) => i % 64 === 0);
  blocks = null;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50)); // backing stores are freed by a sweeper task
  }
  const before = process.memoryUsage.rss();
  assert.equal(malloc.trim(), true, 'malloc_trim reports memory released');
  const after = process.memoryUsage.rss();
  assert.ok(before - after > 24 * MiB, `resident size fell by ${((before - after) / MiB).toFixed(1)} MiB (from ${(before / MiB).toFixed(1)})`);
  assert.equal(pinned.length, 48, 'the pinned blocks are still alive');
});

test('a missing addon is reported, not thrown', () => {
  const malloc = loadMallocTrim('/nonexistent/malloc_trim.node');
  assert.ok('unavailable' in malloc && /not built/.test(malloc.unavailable), `says why: ${JSON.stringify(malloc)}`);
});

test('the trimmer trims as soon as it starts, then only after the resident size grew by the threshold', () => {
  let rss = 100 * MiB;
  const calls: number[] = [];
  const trimmer = new MemoryTrimmer({ intervalMs: 1000, growthBytes: 2 * MiB, rssBytes: () => rss, trim: () => (calls.push(rss), (rss -= 10 * MiB), true) });
  trimmer.start();
  assert.deepEqual(calls, [100 * MiB], 'start looks at once, and the first look trims');
  rss += 1.5 * MiB; // 91.5: below the size after the trim (90) + 2
  assert.equal(trimmer.tick(), false, 'small growth does not trim');
  rss += 1 * MiB; // 92.5: counted from the size after the trim, not the 100 before it
  assert.equal(trimmer.tick(), true, 'growth past the threshold over the size after the last trim trims');
  rss += 1.5 * MiB; // 84 (82.5 after that trim)
  assert.equal(trimmer.tick(), false, 'small growth does not trim');
  rss -= 3 * MiB; // 81: the baseline follows it down
  assert.equal(trimmer.tick(), false, 'shrinking does not trim');
  rss += 2.5 * MiB; // 83.5: 2.5 MiB over the lowest seen
  assert.equal(trimmer.tick(), true, 'growth past the threshold over the lowest size trims');
  assert.deepEqual(calls, [100 * MiB, 92.5 * MiB, 83.5 * MiB], 'trimmed exactly at these sizes');
  assert.throws(() => new MemoryTrimmer({ intervalMs: 0, rssBytes: () => 0, trim: () => false }), /intervalMs/);
});

test('the relay process trims, once as soon as it listens and then as it grows: it settles lower than with REXEC_MEMORY_TRIM_MS=0', async () => {
  const settle = async (env: Record<string, string>) => {
    const relay = await startRelay({ env });
    try {
      // Start-up is over when the relay listens; give it two trimmer periods, then a steady reading.
      await new Promise((r) => setTimeout(r, 2500));
      let last = 0;
      return await waitUntil('a steady resident size', () => {
        const now = rssOf(relay.proc.pid!);
        const steady = last && Math.abs(now - last) < 0.5 * MiB;
        last = now;
        return steady ? now : undefined;
      }, 10_000, 500);
    } finally {
      assert.doesNotMatch(relay.output.text, /freed memory is not given back/, 'the relay found its addon');
      await relay.stop();
    }
  };
  const off = await settle({ REXEC_MEMORY_TRIM_MS: '0' });
  const on = await settle({});
  assert.ok(off - on > 6 * MiB, `the relay with its trimmer settles at ${(on / MiB).toFixed(1)} MiB, without it at ${(off / MiB).toFixed(1)} MiB`);
  // A period of an hour: no tick comes in the test, so only the trim at start-up can have done it.
  const atStart = await settle({ REXEC_MEMORY_TRIM_MS: '3600000' });
  assert.ok(off - atStart > 6 * MiB, `the relay trimmed when it started listening: ${(atStart / MiB).toFixed(1)} MiB, without trimming ${(off / MiB).toFixed(1)} MiB`);
});
