/**
 * The output a session keeps for resume: bytes [start, end) of its stream, in chunks. Reading a
 * range copies only the chunks it touches; dropping from the front is O(chunks dropped).
 */
export class OutputRing {
  private chunks: Buffer[] = [];
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

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.endOffset += chunk.length;
  }

  /** Drops bytes before `offset` (never past the end). */
  dropBefore(offset: number): void {
    const to = Math.min(offset, this.endOffset);
    while (this.chunks.length && this.startOffset + this.chunks[0]!.length <= to) {
      this.startOffset += this.chunks.shift()!.length;
    }
    if (this.startOffset < to && this.chunks.length) {
      this.chunks[0] = this.chunks[0]!.subarray(to - this.startOffset);
      this.startOffset = to;
    }
  }

  /** Bytes [from, to) (clamped to what is held). */
  read(from: number, to: number): Buffer {
    const a = Math.max(from, this.startOffset);
    const b = Math.min(to, this.endOffset);
    if (b <= a) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let pos = this.startOffset;
    for (const c of this.chunks) {
      const cEnd = pos + c.length;
      if (cEnd > a && pos < b) parts.push(c.subarray(Math.max(0, a - pos), Math.min(c.length, b - pos)));
      if (cEnd >= b) break;
      pos = cEnd;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, b - a);
  }
}
