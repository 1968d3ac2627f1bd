import type { z } from 'zod';
import { ErrorCode } from './errors.js';
import { LIMITS } from './limits.js';

export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

/**
 * Parses one JSON control message (a text frame) against a discriminated union.
 * Never throws: malformed JSON, unknown `type`, and schema violations each come back with a
 * stable error code and a message a person can act on.
 */
export function parseControlMessage<T>(schema: z.ZodType<T>, text: string, knownTypes: ReadonlySet<string>): ParseResult<T> {
  if (text.length > LIMITS.maxControlMessageBytes) {
    return { ok: false, code: ErrorCode.MessageTooLarge, message: `control message larger than ${LIMITS.maxControlMessageBytes} bytes` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.InvalidMessage, message: 'control message is not valid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeof (raw as { type?: unknown }).type !== 'string') {
    return { ok: false, code: ErrorCode.InvalidMessage, message: 'control message must be a JSON object with a string "type"' };
  }
  const type = (raw as { type: string }).type.slice(0, 64);
  if (!knownTypes.has(type)) return { ok: false, code: ErrorCode.UnknownMessage, message: `unknown message type "${type}"`, ref: type };
  const r = schema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first && first.path.length ? ` at ${first.path.join('.')}` : '';
    return { ok: false, code: ErrorCode.InvalidMessage, message: `invalid "${type}" message${where}: ${first?.message ?? 'invalid'}`, ref: type };
  }
  return { ok: true, message: r.data };
}

/** The literal `type` values of a discriminated union, for parseControlMessage. */
export function messageTypes(schema: { options: readonly { shape: { type: { value: string } } }[] }): ReadonlySet<string> {
  return new Set(schema.options.map((o) => o.shape.type.value));
}
