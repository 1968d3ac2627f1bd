/**
 * The output a run has kept: ONE byte stream (stdout and stderr interleaved in arrival order),
 * each byte at an offset of that combined stream, held in memory until the relay acknowledges it.
 *
 * At most `cap` bytes are ever kept. The chunk that crosses the cap is cut where it does not split
 * a UTF-8 character (utf8SafeCut), so kept output may end up to 3 bytes short of the cap; from
 * then on everything is dropped and `truncated` is set. The caller keeps reading its pipes, so the
 * program never blocks on a full pipe.
 *
 * Small chunks of the same stream are packed together (up to `PACK_BYTES`), so a chatty program
 * writing a few bytes at a time costs neither one object nor one frame per write.
 */
import { utf8SafeCut } from '@rexec/shared';

export type RunStream = 'stdout' | 'stderr';

/** A piece of kept output, all from one stream. */
export interface OutputPiece {
  stream: RunStream;
  offset: number;
  data: Buffer;
}

interface Chunk {
  stream: RunStream;
  offset: number;
  /** Storage; bytes [0, len) are output. May have spare room to pack small writes into. */
  buf: Buffer;
  len: number;
}

const PACK_BYTES = 64 * 1024;
const SMALL_WRITE = 16 * 1024;

export class RunOutput {
  private chunks: Chunk[] = [];
  /** Index of the first live chunk (freed chunks before it are compacted away now and then). */
  private head = 0;
  private endNow = 0;
  private startNow = 0;
  private truncatedNow = false;

  constructor(readonly cap: number) {}

  /** Offset of the next byte: total bytes kept so far. */
  get end(): number {
    return this.endNow;
  }

  /** Oldest offset still held (everything before it was acknowledged and freed). */
  get start(): number {
    return this.startNow;
  }

  /** Bytes held in memory now. */
  get heldBytes(): number {
    return this.endNow - this.startNow;
  }

  /** True once output was dropped because of the cap. */
  get truncated(): boolean {
    return this.truncatedNow;
  }

  /** Keeps what fits under the cap; returns how many bytes of `data` were kept. */
  append(stream: RunStream, data: Uint8Array): number {
    if (data.length === 0) return 0;
    if (this.truncatedNow) return 0;
    const room = this.cap - this.endNow;
    let keep = data.length;
    if (keep > room) {
      keep = utf8SafeCut(data, room);
      this.truncatedNow = true;
    }
    if (keep === 0) return 0;
    const bytes = data.subarray(0, keep);
    const last = this.chunks.length > this.head ? this.chunks[this.chunks.length - 1]! : undefined;
    if (last && last.stream === stream && keep < SMALL_WRITE && last.len + keep <= PACK_BYTES) {
      if (last.buf.length - last.len < keep) {
        let size = Math.max(256, last.buf.length);
        while (size < last.len + keep) size *= 2;
        const grown = Buffer.allocUnsafe(Math.min(size, PACK_BYTES));
        last.buf.copy(grown, 0, 0, last.len);
        last.buf = grown;
      }
      last.buf.set(bytes, last.len);
      last.len += keep;
    } else {
      // Own a copy: callers may reuse their buffer, and a slice would pin a larger one.
      const buf = Buffer.allocUnsafe(keep < SMALL_WRITE ? Math.max(256, keep) : keep);
      buf.set(bytes, 0);
      this.chunks.push({ stream, offset: this.endNow, buf, len: keep });
    }
    this.endNow += keep;
    return keep;
  }

  /**
   * The kept bytes from `from` (at least `start`), up to `maxBytes`, within one chunk (so one
   * stream); null when nothing is held from there on.
   */
  read(from: number, maxBytes: number): OutputPiece | null {
    const at = Math.max(from, this.startNow);
    if (at >= this.endNow) return null;
    const i = this.indexOf(at);
    const c = this.chunks[i]!;
    const begin = at - c.offset;
    const stop = Math.min(c.len, begin + maxBytes);
    return { stream: c.stream, offset: at, data: c.buf.subarray(begin, stop) };
  }

  /** Frees everything below `offset` (the relay has stored it). */
  freeBelow(offset: number): void {
    const to = Math.min(offset, this.endNow);
    if (to <= this.startNow) return;
    while (this.head < this.chunks.length) {
      const c = this.chunks[this.head]!;
      if (c.offset + c.len > to) break;
      this.head++;
    }
    if (this.head < this.chunks.length) {
      const c = this.chunks[this.head]!;
      if (c.offset < to) {
        // Keep only the unacknowledged tail, in a buffer of its own (a subarray would pin it all).
        const cut = to - c.offset;
        const rest = Buffer.from(c.buf.subarray(cut, c.len));
        this.chunks[this.head] = { stream: c.stream, offset: to, buf: rest, len: rest.length };
      }
    }
    this.startNow = to;
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops everything held (the run was forgotten). Offsets stay as they were. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.startNow = this.endNow;
  }

  /** Index of the chunk holding offset `at` (start <= at < end). */
  private indexOf(at: number): number {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunks[mid]!.offset <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
