import { z } from 'zod';

/** Stable error codes. HTTP bodies and in-band `error` messages carry one; tests assert on them. */
export const ErrorCode = {
  BadRequest: 'bad_request',
  ValidationFailed: 'validation_failed',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  PayloadTooLarge: 'payload_too_large',
  RateLimited: 'rate_limited',
  AgentOffline: 'agent_offline',
  InvalidMessage: 'invalid_message',
  UnknownMessage: 'unknown_message',
  MessageTooLarge: 'message_too_large',
  SessionNotFound: 'session_not_found',
  /** Input, resize or stop from a read-only viewer. */
  ReadOnly: 'read_only',
  TooManySessions: 'too_many_sessions',
  SpawnFailed: 'spawn_failed',
  UnsupportedVersion: 'unsupported_version',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodeSchema = z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]);

/** Body of every non-2xx HTTP response: `{ error: { code, message, details? } }`. */
export const apiErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

/** An error with a stable code and an HTTP status; the message is safe to show a person. */
export class RexecError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, opts: { status?: number; details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'RexecError';
    this.code = code;
    this.status = opts.status ?? statusForCode(code);
    this.details = opts.details;
  }
  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case 'bad_request':
    case 'validation_failed':
    case 'invalid_message':
    case 'unknown_message':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
    case 'read_only':
      return 403;
    case 'not_found':
    case 'session_not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'payload_too_large':
    case 'message_too_large':
      return 413;
    case 'rate_limited':
    case 'too_many_sessions':
      return 429;
    case 'agent_offline':
      return 503;
    case 'unsupported_version':
      return 426;
    default:
      return 500;
  }
}

/** Turns zod issues into `[{ path, message }]` for `details`. */
export function formatZodIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

/** The `{ code, message }` of a failed response's JSON body, or null when it has none. */
export function apiErrorOf(body: unknown): { code: string; message: string } | null {
  const r = apiErrorBodySchema.safeParse(body);
  return r.success && r.data.error.message ? { code: r.data.error.code, message: r.data.error.message } : null;
}
