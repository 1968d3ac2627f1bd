/** What session and exec code may do with the link: send, and see how much is still queued. */
import type { AgentToRelay } from '@rexec/shared';

export interface LinkSink {
  /** Sends a control message; false when the link is not open (the message is dropped). */
  sendJson(msg: AgentToRelay): boolean;
  /** Sends one binary frame (see shared frames.ts); false when the link is not open. */
  sendBinary(frame: Uint8Array): boolean;
  /** Bytes queued on the socket and not yet written to the network. */
  bufferedAmount(): number;
}
