import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameError, FrameKind, LIMITS, decodeFrame, encodeFrame, takeNewBytes } from '../src/index.js';

test('a frame round-trips kind, id, offset and payload', () => {
  const payload = new TextEncoder().encode('héllo \x1b[31mred\x1b[0m');
  const f = decodeFrame(encodeFrame(FrameKind.ShellOutput, 'sess_01-AB', 12345, payload));
  assert.equal(f.kind, FrameKind.ShellOutput);
  assert.equal(f.id, 'sess_01-AB');
  assert.equal(f.offset, 12345);
  assert.deepEqual(Buffer.from(f.payload), Buffer.from(payload));
});

test('offsets beyond 32 bits survive (resume after 4 GiB of output)', () => {
  const big = 2 ** 40 + 7;
  assert.equal(decodeFrame(encodeFrame(FrameKind.ExecStdout, 'x', big, new Uint8Array(1))).offset, big);
  assert.equal(decodeFrame(encodeFrame(FrameKind.ExecStdout, 'x', Number.MAX_SAFE_INTEGER, new Uint8Array(0))).offset, Number.MAX_SAFE_INTEGER);
});

test('decoding a frame inside a larger buffer (Node Buffer pooling) reads the right bytes', () => {
  const inner = encodeFrame(FrameKind.ExecStderr, 'abc', 9, new Uint8Array([1, 2, 3]));
  const outer = new Uint8Array(inner.length + 10);
  outer.set(inner, 5);
  const f = decodeFrame(outer.subarray(5, 5 + inner.length));
  assert.equal(f.id, 'abc');
  assert.equal(f.offset, 9);
  assert.deepEqual([...f.payload], [1, 2, 3]);
});

test('malformed frames are rejected with FrameError, never a crash', () => {
  const bad: Uint8Array[] = [
    new Uint8Array([]),
    new Uint8Array([1]),
    new Uint8Array([99, 1, 65, 0, 0, 0, 0, 0, 0, 0, 0]), // unknown kind
    new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // empty id
    new Uint8Array([1, 200, 65]), // id longer than the frame
    new Uint8Array([1, 1, 0x20, 0, 0, 0, 0, 0, 0, 0, 0]), // id with a space
    new Uint8Array([1, 1, 65, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), // offset beyond 2^53
  ];
  for (const b of bad) assert.throws(() => decodeFrame(b), FrameError);
});

test('encoding refuses bad ids, negative offsets and oversized payloads', () => {
  assert.throws(() => encodeFrame(FrameKind.ShellOutput, '', 0, new Uint8Array()), FrameError);
  assert.throws(() => encodeFrame(FrameKind.ShellOutput, 'a b', 0, new Uint8Array()), FrameError);
  assert.throws(() => encodeFrame(FrameKind.ShellOutput, 'a', -1, new Uint8Array()), FrameError);
  assert.throws(() => encodeFrame(FrameKind.ShellOutput, 'a', 0, new Uint8Array(LIMITS.maxFramePayloadBytes + 1)), FrameError);
});

test('takeNewBytes: new bytes only, overlaps trimmed, gaps counted', () => {
  const p = new TextEncoder().encode('abcdef');
  assert.equal(takeNewBytes(10, 0, p), null, 'entirely before what we have');
  assert.equal(takeNewBytes(6, 0, p), null, 'ends exactly where we are');
  const whole = takeNewBytes(0, 0, p)!;
  assert.equal(whole.fresh, p, 'in order: the payload itself, not a copy');
  assert.deepEqual([whole.skipped, whole.end], [0, 6]);
  const tail = takeNewBytes(4, 0, p)!;
  assert.equal(new TextDecoder().decode(tail.fresh), 'ef');
  assert.deepEqual([tail.skipped, tail.end], [0, 6]);
  const gap = takeNewBytes(2, 5, p)!;
  assert.equal(gap.fresh, p);
  assert.deepEqual([gap.skipped, gap.end], [3, 11]);
});
