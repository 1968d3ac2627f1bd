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
