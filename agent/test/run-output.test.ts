import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunOutput, type RunStream } from '../src/runs/run-output.js';

/** Reads everything held from `from` as [stream, text] runs, merging neighbours of one stream. */
function readAll(o: RunOutput, from: number, max = 7): [RunStream, string][] {
  const out: [RunStream, string][] = [];
  for (let at = from; ; ) {
    const p = o.read(at, max);
    if (!p) break;
    assert.equal(p.offset, Math.max(at, o.start));
    const last = out.at(-1);
    if (last && last[0] === p.stream) last[1] += p.data.toString('latin1');
    else out.push([p.stream, p.data.toString('latin1')]);
    at = p.offset + p.data.length;
  }
  return out;
}

test('random writes of both streams read back in order, with small writes packed and partial frees', () => {
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const o = new RunOutput(100_000_000);
  // What was written: the bytes, and per byte its stream (1 = stderr).
  const bytes: Buffer[] = [];
  const streams: Buffer[] = [];
  for (let i = 0; i < 600; i++) {
    const stream: RunStream = rnd(3) === 0 ? 'stderr' : 'stdout';
    const len = rnd(10) === 0 ? 2_000 + rnd(30_000) : 1 + rnd(40); // some above the 16 KiB packing limit
    const data = Buffer.alloc(len, 97 + rnd(26));
    assert.equal(o.append(stream, data), len);
    bytes.push(data);
    streams.push(Buffer.alloc(len, stream === 'stderr' ? 1 : 0));
  }
  const all = Buffer.concat(bytes);
  const kinds = Buffer.concat(streams);
  assert.equal(o.end, all.length);
  const check = (from: number) => {
    const at = Math.max(from, o.start);
    const want: [RunStream, string][] = [];
    for (let i = at; i < all.length; ) {
      let j = i;
      while (j < all.length && kinds[j] === kinds[i]) j++;
      want.push([kinds[i] ? 'stderr' : 'stdout', all.subarray(i, j).toString('latin1')]);
      i = j;
    }
    assert.deepEqual(readAll(o, from, 100_000), want);
  };
  check(0);
  check(12_345);
  let freed = 0;
  for (const to of [1, 77, 5000, 123_456, 123_456, 100]) {
    o.freeBelow(to);
    freed = Math.max(freed, to);
    assert.equal(o.start, freed);
    assert.equal(o.heldBytes, o.end - o.start);
    check(0);
    check(freed + 3);
  }
  o.freeBelow(o.end + 10);
  assert.equal(o.heldBytes, 0);
  assert.equal(o.read(0, 10), null);
});

test('the cap cuts at a character boundary and drops everything after', () => {
  const o = new RunOutput(5);
  assert.equal(o.append('stdout', Buffer.from('abc')), 3);
  assert.equal(o.append('stderr', Buffer.from('dé!')), 1); // "d" fits, "é" would straddle the cap
  assert.equal(o.truncated, true);
  assert.equal(o.append('stdout', Buffer.from('x')), 0);
  assert.equal(o.end, 4);
  assert.deepEqual(readAll(o, 0), [['stdout', 'abc'], ['stderr', 'd']]);
  const exact = new RunOutput(3);
  assert.equal(exact.append('stdout', Buffer.from('abc')), 3);
  assert.equal(exact.truncated, false);
  assert.equal(exact.append('stdout', Buffer.alloc(0)), 0);
  assert.equal(exact.truncated, false);
});
