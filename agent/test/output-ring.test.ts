import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputRing } from '../src/sessions/output-ring.js';

test('the ring returns any held range across chunk boundaries and drops from the front', () => {
  const r = new OutputRing();
  r.push(Buffer.from('abc'));
  r.push(Buffer.from('defg'));
  r.push(Buffer.from('hi'));
  assert.equal(r.end, 9);
  assert.equal(r.read(0, 9).toString(), 'abcdefghi');
  assert.equal(r.read(2, 5).toString(), 'cde');
  assert.equal(r.read(7, 100).toString(), 'hi');
  r.dropBefore(4);
  assert.equal(r.start, 4);
  assert.equal(r.size, 5);
  assert.equal(r.read(0, 6).toString(), 'ef', 'reads clamp to what is held');
  r.dropBefore(100);
  assert.equal(r.start, 9);
  assert.equal(r.read(0, 9).length, 0);
  r.push(Buffer.from('j'));
  assert.equal(r.read(9, 10).toString(), 'j');
});

test('the ring wraps around its buffer, grows for what is held and shrinks once it is dropped', () => {
  const r = new OutputRing();
  const start = r.capacity;
  // Deterministic bytes, pushed in odd-sized chunks so writes and reads straddle the wrap point.
  const byte = (offset: number) => (offset * 31 + 7) & 0xff;
  const chunk = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => byte(from + i)));
  const expectRange = (from: number, to: number, why: string) => {
    const got = r.read(from, to);
    assert.equal(got.length, to - from, why);
    for (let i = 0; i < got.length; i++) if (got[i] !== byte(from + i)) assert.fail(`${why}: byte ${from + i} differs`);
  };
  let end = 0;
  for (let round = 0; round < 50; round++) {
    const n = 3001 + round * 17;
    r.push(chunk(end, n));
    end += n;
    r.dropBefore(end - 20_000); // keep about 20 KB: far less than the buffer, so it wraps
  }
  assert.equal(r.capacity, start, 'a steady 20 KB never grows the buffer');
  expectRange(r.start, r.end, 'wrapped contents');
  // A burst of unacknowledged output: the buffer grows to hold all of it.
  const burst = 5 * start + 123;
  for (let pushed = 0; pushed < burst; pushed += 4000) {
    const n = Math.min(4000, burst - pushed);
    r.push(chunk(end, n));
    end += n;
  }
  assert.ok(r.capacity >= r.size && r.capacity > start, `grew to ${r.capacity} for ${r.size} bytes`);
  expectRange(r.start, r.end, 'contents across growth');
  const out = Buffer.alloc(10);
  r.copyOut(end - 10, end, out, 0);
  assert.deepEqual([...out], [...chunk(end - 10, 10)], 'copyOut of the newest bytes');
  r.dropBefore(end - 1000);
  assert.equal(r.capacity, start, 'most of it dropped: the buffer shrinks back');
  expectRange(r.start, r.end, 'contents across shrinking');
});
