/**
 * Splits a byte stream into length-prefixed messages, for any framing that says how many bytes it
 * needs to read a length and how long the message is (the agent's session-host frames, PostgreSQL's
 * wire protocol in the relay's embedded database). Received pieces are joined only once a whole
 * message (or a whole header) is there, so a message that arrives in many pieces is copied once,
 * not once per piece, and only the messages that straddle pieces are copied at all: the others
 * are handed on as views of the piece they arrived in.
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
    // Finish the message (or header) held back from earlier chunks with only the bytes it still
    // needs: the messages behind it in this chunk are handed on as views, not copied with it.
    while (this.have > 0) {
      const missing = this.need - this.have;
      if (chunk.length < missing) {
        this.parts.push(chunk);
        this.have += chunk.length;
        return;
      }
      this.parts.push(chunk.subarray(0, missing) as T);
      chunk = chunk.subarray(missing) as T;
      const buf = this.join(this.parts, this.need);
      this.parts = [];
      this.have = 0;
      const len = this.messageLength(buf);
      if (len > buf.length) {
        // That was the header: now wait for the whole message.
        this.parts.push(buf);
        this.have = buf.length;
        this.need = len;
        continue;
      }
      this.onMessage(buf); // `need` is set again below, once the header size is asked anew
    }
    let pos = 0;
    for (;;) {
      const head = this.framing.headerBytes();
      this.need = head;
      if (chunk.length - pos < head) break;
      const len = this.messageLength(chunk.subarray(pos));
      if (chunk.length - pos < len) {
        this.need = len;
        break;
      }
      const msg = chunk.subarray(pos, pos + len) as T;
      pos += len;
      this.onMessage(msg);
    }
    if (pos < chunk.length) {
      this.parts.push(chunk.subarray(pos) as T);
      this.have = chunk.length - pos;
    }
  }

  /** The length of the message `head` starts (it holds at least its header). */
  private messageLength(head: Uint8Array): number {
    const header = this.framing.headerBytes();
    const len = this.framing.messageBytes(head);
    if (!(len >= header)) throw new Error(`message length ${len} is shorter than its header`);
    return len;
  }
}
