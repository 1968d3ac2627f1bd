/**
 * Splits a byte stream into length-prefixed messages, for any framing that says how many bytes it
 * needs to read a length and how long the message is (the agent's session-host frames, PostgreSQL's
 * wire protocol in the relay's embedded database). Received pieces are joined only once a whole
 * message (or a whole header) is there, so a message that arrives in many pieces is copied once,
 * not once per piece.
 */

export interface MessageFraming {
  /** Bytes needed before a message's length is known; asked before each message (it may change). */
  headerBytes(): number;
  /**
   * The whole message's length, header included, from `head` (which starts at the message and
   * holds at least headerBytes()). Throws when the length is malformed: the stream cannot be
   * resynchronised, and the caller drops it.
   */
  messageBytes(head: Uint8Array): number;
}

function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class MessageSplitter<T extends Uint8Array = Uint8Array> {
  private parts: T[] = [];
  private have = 0;
  /** Bytes needed before the next message can be split (its header, then all of it). */
  private need: number;

  /**
   * `onMessage` gets each whole message (a view: copy what must outlive the call). `join`
   * concatenates pieces (Node callers pass Buffer.concat to get Buffers back).
   */
  constructor(
    private readonly framing: MessageFraming,
    private readonly onMessage: (msg: T) => void,
    private readonly join: (parts: T[], total: number) => T = concatBytes as unknown as (parts: T[], total: number) => T,
  ) {
    this.need = framing.headerBytes();
  }

  /** Adds bytes and hands on every message now complete, in order. Throws what messageBytes throws. */
  push(chunk: T): void {
    this.parts.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return;
    const buf = this.parts.length === 1 ? this.parts[0]! : this.join(this.parts, this.have);
    this.parts = [];
    this.have = 0;
    let pos = 0;
    for (;;) {
      const head = this.framing.headerBytes();
      this.need = head;
      if (buf.length - pos < head) break;
      const len = this.framing.messageBytes(buf.subarray(pos));
      if (!(len >= head)) throw new Error(`message length ${len} is shorter than its header`);
      if (buf.length - pos < len) {
        this.need = len;
        break;
      }
      const msg = buf.subarray(pos, pos + len) as T;
      pos += len;
      this.onMessage(msg);
    }
    if (pos < buf.length) {
      this.parts.push(buf.subarray(pos) as T);
      this.have = buf.length - pos;
    }
  }
}
