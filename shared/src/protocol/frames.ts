/**
 * Binary frames: terminal and exec output travel as raw bytes, never JSON or base64.
 *
 *   offset  size  field
 *   0       1     kind (FrameKind)
 *   1       1     id length N (1..64), ASCII
 *   2       N     stream id: terminal session id, exec id or run id
 *   2+N     8     byte offset of the first payload byte in the stream, big-endian uint64
 *                 (values stay below 2^53 so they fit a JS number)
 *   10+N    ...   payload
 *
 * The offset counts every byte the stream has produced, so any consumer can resume from the
 * last offset it saw and detect gaps (a later protocol version adds the resume request; the
 * frame layout already carries what it needs).
 *
 * Works on Uint8Array so the browser bundle can use it too.
 */
import { LIMITS } from './limits.js';

export const FrameKind = {
  /** PTY output of a terminal session (agent -> relay -> browser). */
  ShellOutput: 1,
  /** stdout of an exec (agent -> relay). */
  ExecStdout: 2,
  /** stderr of an exec (agent -> relay). */
  ExecStderr: 3,
  /** stdout of a run; the offset is in the run's combined output stream (agent -> relay -> viewers). */
  RunStdout: 4,
  /** stderr of a run; same combined offset space as RunStdout. */
  RunStderr: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];
const KINDS = new Set<number>(Object.values(FrameKind));

export interface Frame {
  kind: FrameKind;
  id: string;
  offset: number;
  payload: Uint8Array;
}

export const MAX_FRAME_ID_LENGTH = 64;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const TWO_32 = 2 ** 32;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function frameHeaderLength(id: string): number {
  return 2 + id.length + 8;
}

export function encodeFrame(kind: FrameKind, id: string, offset: number, payload: Uint8Array): Uint8Array {
  const out = allocFrame(kind, id, offset, payload.length);
  out.set(payload, frameHeaderLength(id));
  return out;
}

/**
 * A frame with its header written and room for `payloadLength` bytes at frameHeaderLength(id),
 * for a caller that copies the payload in itself (the agent, straight from its ring). `alloc`
 * may skip zero-filling (Node's Buffer.allocUnsafe): every byte is written.
 */
export function allocFrame(kind: FrameKind, id: string, offset: number, payloadLength: number, alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n)): Uint8Array {
  if (!KINDS.has(kind)) throw new FrameError(`unknown frame kind ${kind}`);
  if (!ID_RE.test(id)) throw new FrameError('frame id must be 1-64 characters of [A-Za-z0-9_-]');
  if (!Number.isSafeInteger(offset) || offset < 0) throw new FrameError('frame offset must be a non-negative safe integer');
  if (payloadLength > LIMITS.maxFramePayloadBytes) throw new FrameError('frame payload too large');
  const head = frameHeaderLength(id);
  const out = alloc(head + payloadLength);
  out[0] = kind;
  out[1] = id.length;
  for (let i = 0; i < id.length; i++) out[2 + i] = id.charCodeAt(i);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(2 + id.length, Math.floor(offset / TWO_32));
  view.setUint32(6 + id.length, offset % TWO_32);
  return out;
}

export function decodeFrame(data: Uint8Array): Frame {
  if (data.length < 2) throw new FrameError('frame too short');
  const kind = data[0]!;
  if (!KINDS.has(kind)) throw new FrameError(`unknown frame kind ${kind}`);
  const idLen = data[1]!;
  if (idLen < 1 || idLen > MAX_FRAME_ID_LENGTH) throw new FrameError('bad frame id length');
  if (data.length < 2 + idLen + 8) throw new FrameError('frame too short');
  let id = '';
  for (let i = 0; i < idLen; i++) id += String.fromCharCode(data[2 + i]!);
  if (!ID_RE.test(id)) throw new FrameError('bad frame id');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hi = view.getUint32(2 + idLen);
  const lo = view.getUint32(6 + idLen);
  const offset = hi * TWO_32 + lo;
  if (!Number.isSafeInteger(offset)) throw new FrameError('frame offset out of range');
  const payload = data.subarray(2 + idLen + 8);
  if (payload.length > LIMITS.maxFramePayloadBytes) throw new FrameError('frame payload too large');
  return { kind: kind as FrameKind, id, offset, payload };
}

/**
 * What a consumer that already has every byte before `have` takes from an output frame: the new
 * bytes, how many were skipped before them (a gap: shown, never hidden), and the new `have`.
 * Null when the frame holds nothing new (a replay overlapping what was received).
 */
export function takeNewBytes(have: number, offset: number, payload: Uint8Array): { fresh: Uint8Array; skipped: number; end: number } | null {
  const end = offset + payload.length;
  if (end <= have) return null;
  return {
    fresh: offset >= have ? payload : payload.subarray(have - offset),
    skipped: Math.max(0, offset - have),
    end,
  };
}
