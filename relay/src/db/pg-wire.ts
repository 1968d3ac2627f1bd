/**
 * Message framing of PostgreSQL's frontend protocol (v3), as far as a server must know it to hand
 * whole messages on: the startup phase's untyped messages (length, code, body) and then typed
 * ones (type byte, length, body). The length counts itself but not the type byte. The splitting
 * itself is shared's MessageSplitter.
 */
import { MessageSplitter } from '@rexec/shared';

/** Startup codes (the int32 after the length of an untyped message). */
export const PG_PROTOCOL_3 = 196608;
export const PG_SSL_REQUEST = 80877103;
export const PG_GSSENC_REQUEST = 80877104;
/** Type byte of the Terminate message. */
export const PG_TERMINATE = 0x58;
/** Largest message accepted (PostgreSQL's own limit for most messages is 1 GiB). */
export const PG_MAX_MESSAGE = 1 << 30;

export class PgMessageReader {
  /** Past the startup message: messages are typed from here on. */
  private started = false;
  private out: Buffer[] = [];
  private readonly splitter = new MessageSplitter<Buffer>(
    {
      headerBytes: () => (this.started ? 5 : 8),
      messageBytes: (head) => {
        const view = new DataView(head.buffer, head.byteOffset, this.started ? 5 : 8);
        const len = this.started ? 1 + view.getInt32(1) : view.getInt32(0);
        if (len < (this.started ? 5 : 8) || len > PG_MAX_MESSAGE) throw new Error(`malformed message length ${len}`);
        return len;
      },
    },
    (msg) => {
      if (!this.started && msg.readInt32BE(4) === PG_PROTOCOL_3) this.started = true;
      this.out.push(msg);
    },
    (parts, total) => Buffer.concat(parts, total),
  );

  /** Whether `msg` is an untyped startup-phase message with this code. */
  static isStartupCode(msg: Buffer, code: number): boolean {
    return msg.length >= 8 && msg.readInt32BE(0) === msg.length && msg.readInt32BE(4) === code;
  }

  /** Adds bytes; returns the messages now complete, in order. Throws on a malformed length. */
  push(data: Buffer): Buffer[] {
    this.splitter.push(data);
    return this.out.splice(0);
  }
}
