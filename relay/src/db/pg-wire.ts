/**
 * Message framing of PostgreSQL's frontend protocol (v3), as far as a server must know it to hand
 * whole messages on: the startup phase's untyped messages (length, code, body) and then typed
 * ones (type byte, length, body). The length counts itself but not the type byte.
 */

/** Startup codes (the int32 after the length of an untyped message). */
export const PG_PROTOCOL_3 = 196608;
export const PG_SSL_REQUEST = 80877103;
export const PG_GSSENC_REQUEST = 80877104;
/** Type byte of the Terminate message. */
export const PG_TERMINATE = 0x58;
/** Largest message accepted (PostgreSQL's own limit for most messages is 1 GiB). */
export const PG_MAX_MESSAGE = 1 << 30;

export class PgMessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private started = false;

  /** Whether `msg` is an untyped startup-phase message with this code. */
  static isStartupCode(msg: Buffer, code: number): boolean {
    return msg.length >= 8 && msg.readInt32BE(0) === msg.length && msg.readInt32BE(4) === code;
  }

  /** Adds bytes; returns the messages now complete, in order. Throws on a malformed length. */
  push(data: Buffer): Buffer[] {
    this.pending.push(data);
    this.pendingBytes += data.length;
    const out: Buffer[] = [];
    for (;;) {
      const head = this.started ? 5 : 8;
      if (this.pendingBytes < head) break;
      const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [buf];
      const len = this.started ? 1 + buf.readInt32BE(1) : buf.readInt32BE(0);
      if (len < head || len > PG_MAX_MESSAGE) throw new Error(`malformed message length ${len}`);
      if (buf.length < len) break;
      const msg = buf.subarray(0, len);
      if (!this.started && msg.readInt32BE(4) === PG_PROTOCOL_3) this.started = true;
      out.push(msg);
      const rest = buf.subarray(len);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return out;
  }
}
