/** JSON errors for every failure: `{ error: { code, message, details? } }` with a matching status. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ErrorCode, RexecError, formatZodIssues } from '@rexec/shared';
import type { z } from 'zod';
import { log } from '../log.js';

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const details = formatZodIssues(r.error);
    const first = details[0];
    throw new RexecError(ErrorCode.ValidationFailed, first ? `invalid request: ${first.path}: ${first.message}` : 'invalid request', { details });
  }
  return r.data;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new RexecError(ErrorCode.NotFound, `no such endpoint: ${req.method} ${req.path}`));
};

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let e: RexecError;
  if (err instanceof RexecError) e = err;
  else if (err?.type === 'entity.too.large') e = new RexecError(ErrorCode.PayloadTooLarge, 'request body too large');
  else if (err?.type === 'entity.parse.failed') e = new RexecError(ErrorCode.BadRequest, 'request body is not valid JSON');
  else if (err?.status === 404) e = new RexecError(ErrorCode.NotFound, 'not found');
  else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) e = new RexecError(ErrorCode.BadRequest, String(err.message ?? 'bad request'), { status: err.status });
  else {
    log.error('request failed', { method: req.method, path: req.path, err: err instanceof Error ? err.message : String(err) });
    e = new RexecError(ErrorCode.Internal, 'internal error');
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(e.status).json(e.toBody());
};
