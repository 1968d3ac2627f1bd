import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageSplitter, type MessageFraming } from '../src/bytes/message-splitter.js';

/** A 2-byte big-endian length (counting itself), then the body. */
const framing: MessageFraming = {
  headerBytes: () => 2,
  messageBytes: (head) => {
    const len = (head[0]! << 8) | head[1]!;
    if (len > 60_000) throw new Error(`bad length ${len}`);
    return len;
  },
};
function message(body: string): Uint8Array {
  const b = new TextEncoder().encode(body);
  const out = new Uint8Array(2 + b.length);
  out[0] = out.length >> 8;
  out[1] = out.length & 0xff;
  out.set(b, 2);
  return out;
}
const text = (m: Uint8Array) => new TextDecoder().decode(m.subarray(2));

test('MessageSplitter: the same messages whatever the pieces, and a message in many pieces is joined once', () => {
  const bodies = ['a', '', 'hello', 'x'.repeat(3000), 'end'];
  const stream = new Uint8Array(bodies.reduce((n, b) => n + b.length + 2, 0));
  let at = 0;
  for (const b of bodies) {
    stream.set(message(b), at);
    at += b.length + 2;
  }
  for (const size of [1, 2, 3, 7, 100, stream.length]) {
    const got: string[] = [];
    const s = new MessageSplitter(framing, (m) => got.push(text(m)));
    for (let i = 0; i < stream.length; i += size) s.push(stream.subarray(i, i + size));
    assert.deepEqual(got, bodies, `pieces of ${size} bytes`);
  }
  // 3000 bytes in 10-byte pieces: joined once when complete, not once per piece.
  let joins = 0;
  const big = message('y'.repeat(3000));
  const got: string[] = [];
  const s = new MessageSplitter(framing, (m) => got.push(text(m)), (parts, total) => {
    joins++;
    return Buffer.concat(parts, total);
  });
  for (let i = 0; i < big.length; i += 10) s.push(big.subarray(i, i + 10));
  assert.deepEqual(got, ['y'.repeat(3000)], 'the message arrives whole');
  assert.equal(joins, 1, 'the pieces were joined once');
});

test('MessageSplitter: only the messages that straddle pieces are copied', () => {
  // 40 messages of 1000 bytes in pieces of 1500: every other piece boundary falls inside a message.
  const msgs = Array.from({ length: 40 }, (_, i) => message(String(i % 10).repeat(998)));
  const stream = new Uint8Array(40 * 1000);
  msgs.forEach((m, i) => stream.set(m, i * 1000));
  const PIECE = 1500;
  let straddling = 0;
  for (let i = 0; i < msgs.length; i++) {
    const [start, end] = [i * 1000, (i + 1) * 1000];
    if (Math.floor(start / PIECE) !== Math.floor((end - 1) / PIECE)) straddling += 1000;
  }
  let joined = 0;
  const got: string[] = [];
  const s = new MessageSplitter(framing, (m) => got.push(text(m)), (parts, total) => {
    joined += total;
    return Buffer.concat(parts, total);
  });
  for (let i = 0; i < stream.length; i += PIECE) s.push(stream.subarray(i, i + PIECE));
  assert.deepEqual(got, msgs.map(text), 'every message, whole and in order');
  // Copying a piece's tail together with the messages behind it would join about all 40 000 bytes.
  assert.equal(joined, straddling, `joined ${joined} bytes; the straddling messages hold ${straddling}`);
});

test('MessageSplitter: a header size that changes between messages; malformed lengths throw', () => {
  // First message: 4-byte header; then 2-byte ones (like PostgreSQL's startup, then typed messages).
  let first = true;
  const got: number[] = [];
  const s = new MessageSplitter(
    { headerBytes: () => (first ? 4 : 2), messageBytes: (h) => (first ? new DataView(h.buffer, h.byteOffset).getUint32(0) : framing.messageBytes(h)) },
    (m) => {
      got.push(m.length);
      first = false;
    },
  );
  s.push(new Uint8Array([0, 0, 0, 6, 9, 9, 0, 3, 7, 0, 2]));
  assert.deepEqual(got, [6, 3, 2], 'one 4-byte-header message, then two 2-byte-header ones');
  assert.throws(() => new MessageSplitter(framing, () => {}).push(new Uint8Array([0xff, 0xff])), /bad length 65535/);
  assert.throws(() => new MessageSplitter(framing, () => {}).push(new Uint8Array([0, 1, 0])), /shorter than its header/, 'a length below the header would never advance');
});
