/**
 * Several viewers on one terminal session (issue 7): who is attached, in which mode, and the
 * session's size. Relay -> client messages on a terminal socket, additive to protocol v2 (old
 * clients ignore them as unknown types).
 *
 *   viewers        the full list whenever it changes (sent to every viewer; `you` marks the receiver)
 *   shell_resized  the session's size whenever it changes: only the size owner's resizes apply,
 *                  every other viewer renders at this size instead of fitting its window
 *
 * Modes: `rw` may type, resize and stop; `ro` only watches (input, resize and stop are refused
 * with the error code `read_only`).
 */
import { z } from 'zod';
import { colsSchema, idSchema, rowsSchema } from './fields.js';

export const viewerModeSchema = z.enum(['rw', 'ro']);
export type ViewerMode = z.infer<typeof viewerModeSchema>;

/** One attached viewer, as every viewer (and GET sessions) sees it. Never carries a secret. */
export const viewerInfoSchema = z.object({
  /** Stable for the life of the socket (not across reconnects). */
  id: z.string(),
  /** A user name, `token:<name>` for an API token, or `share link <label>`. */
  name: z.string(),
  kind: z.enum(['user', 'token', 'share']),
  mode: viewerModeSchema,
  /** ISO time the viewer attached. */
  since: z.string(),
  /** Opened the session. */
  owner: z.boolean(),
  /** Its resizes set the session's size. */
  sizeOwner: z.boolean(),
});
export type ViewerInfo = z.infer<typeof viewerInfoSchema>;

export const viewersMessageSchema = z.object({
  type: z.literal('viewers'),
  sessionId: idSchema,
  viewers: z.array(viewerInfoSchema.extend({ you: z.boolean() })),
});
export type ViewersMessage = z.infer<typeof viewersMessageSchema>;

export const shellResizedSchema = z.object({ type: z.literal('shell_resized'), sessionId: idSchema, cols: colsSchema, rows: rowsSchema });
