/**
 * The output a session keeps for resume: bytes [start, end) of its stream, copied into one
 * circular buffer. Byte `offset` lives at `offset % capacity`.
 *
 * Copying each PTY read in (a few KiB, a memcpy) lets the read's own Buffer die young. Keeping
 * the reads themselves, as this ring once did, kept thousands of small Buffers alive for tens of
 * milliseconds during a flood: they were promoted out of V8's young generation and every one then
 * cost a full mark-and-sweep, a fifth of a session host's CPU.
 *
 * The buffer grows (doubling) to hold what is pushed and shrinks again once most of it has been
 * dropped, so a burst of unacknowledged output does not pin its peak size for the session's life.
 */
export interface OutputView {
  readonly start: number;
  readonly end: number;
  /** Bytes [from, to), clamped to what is held, as a new Buffer. */
  read(from: number, to: number): Buffer;
}

const MIN_CAPACITY = 64 * 1024;

export class OutputRing implements OutputView {
  private buf: Buffer = Buffer.allocUnsafe(MIN_CAPACITY);
  private startOffset = 0;
  private endOffset = 0;

  get start(): number {
    return this.startOffset;
  }
  get end(): number {
    return this.endOffset;
  }
  get size(): number {
    return this.endOffset - this.startOffset;
  }
  /** Bytes allocated (for tests and memory accounting). */
  get capacity(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const need = this.size + chunk.length;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      this.relayout(cap);
    }
    this.write(chunk, this.endOffset);
    this.endOffset += chunk.length;
  }

  /** Drops bytes before `offset` (never past the end). */
  dropBefore(offset: number): void {
    const to = Math.min(offset, this.endOffset);
    if (to <= this.startOffset) return;
    this.startOffset = to;
    // Give memory back after a burst: shrink while a quarter of the buffer would still do.
    let cap = this.buf.length;
    while (cap > MIN_CAPACITY && this.size <= cap / 4) cap /= 2;
    if (cap < this.buf.length) this.relayout(cap);
  }

  read(from: number, to: number): Buffer {
    const a = Math.max(from, this.startOffset);
    const b = Math.min(to, this.endOffset);
    if (b <= a) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(b - a);
    this.copyOut(a, b, out, 0);
    return out;
  }

  /** Copies bytes [from, to) (which must be held) into `target` at `at`. */
  copyOut(from: number, to: number, target: Uint8Array, at: number): void {
    const cap = this.buf.length;
    const p = from % cap;
    const first = Math.min(to - from, cap - p);
    this.buf.copy(target, at, p, p + first);
    if (first < to - from) this.buf.copy(target, at + first, 0, to - from - first);
  }

  private write(chunk: Uint8Array, offset: number): void {
    const cap = this.buf.length;
    const p = offset % cap;
    const first = Math.min(chunk.length, cap - p);
    this.buf.set(first === chunk.length ? chunk : chunk.subarray(0, first), p);
    if (first < chunk.length) this.buf.set(chunk.subarray(first), 0);
  }

  private relayout(capacity: number): void {
    const old = this.read(this.startOffset, this.endOffset);
    this.buf = Buffer.allocUnsafe(capacity);
    this.write(old, this.startOffset);
  }
}
