/**
 * Messages on a browser (or CLI) terminal socket: one WebSocket per terminal at
 * /ws/terminal/{agent_id}. Sub-protocols: [BROWSER_SUBPROTOCOL, BROWSER_AUTH_SUBPROTOCOL_PREFIX + jwt]
 * (browsers cannot set an Authorization header on a WebSocket; the header keeps the token out of
 * URLs and access logs). The relay answers with BROWSER_SUBPROTOCOL only.
 *
 * Flow: relay sends `hello`; client sends `shell_start` (new shell) or `shell_attach` (an existing
 * session, from the byte offset it has rendered); relay answers `shell_started` / `shell_attached`,
 * then output arrives as binary ShellOutput frames (./frames.ts) whose offsets let the client drop
 * duplicates and show gaps. The client sends `ack` with the offset it has rendered (at least every
 * SESSION_DEFAULTS.ackEveryBytes): that is the flow control. Closing the socket detaches; the
 * shell keeps running. `shell_stop` ends it; `shell_stopped` reports the end and the relay closes
 * with CloseCode.SessionEnded.
 *
 * Several sockets may view one session (./viewers.ts): the relay sends every one of them
 * `viewers` when the set changes and `shell_resized` when the size changes. `/ws/share` is the
 * same protocol for a share link (token in the sub-protocol SHARE_AUTH_SUBPROTOCOL_PREFIX + token);
 * it may only `shell_attach` to the shared session.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';
import { colsSchema, idSchema, rowsSchema } from './fields.js';
import { shellAttachedSchema, shellSnapshotResultSchema, shellStartedSchema, shellStoppedSchema } from './agent-messages.js';
import { shellResizedSchema, viewersMessageSchema } from './viewers.js';

// ---- client -> relay ---------------------------------------------------------------------

export const clientShellStartSchema = z.object({ type: z.literal('shell_start'), cols: colsSchema, rows: rowsSchema });
export const clientShellInputSchema = z.object({ type: z.literal('shell_input'), data: z.string().max(LIMITS.maxInputBytes) });
export const clientShellResizeSchema = z.object({ type: z.literal('shell_resize'), cols: colsSchema, rows: rowsSchema });
export const clientShellStopSchema = z.object({ type: z.literal('shell_stop') });
/**
 * `readOnly`: watch only, even where read-write is allowed (rexec tail, an admin looking in).
 * `snapshot: true`: "I have nothing rendered; start me with a screen snapshot". The relay then
 * sends `shell_snapshot` (the screen as of its `offset`) before `shell_attached`, and streams from
 * that offset instead of `offset`. Without snapshot support on the agent it streams from `offset`.
 */
export const clientShellAttachSchema = z.object({
  type: z.literal('shell_attach'),
  sessionId: idSchema,
  offset: z.number().int().nonnegative(),
  readOnly: z.boolean().optional(),
  snapshot: z.boolean().optional(),
});
export const clientAckSchema = z.object({ type: z.literal('ack'), offset: z.number().int().nonnegative() });
export const clientPingSchema = z.object({ type: z.literal('ping'), ts: z.number() });

export const clientToRelaySchema = z.discriminatedUnion('type', [
  clientShellStartSchema,
  clientShellInputSchema,
  clientShellResizeSchema,
  clientShellStopSchema,
  clientShellAttachSchema,
  clientAckSchema,
  clientPingSchema,
]);
export type ClientToRelay = z.infer<typeof clientToRelaySchema>;

// ---- relay -> client ---------------------------------------------------------------------

export const terminalHelloSchema = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int(),
  agentId: idSchema,
  agentName: z.string(),
});
/** The same shapes as on the agent link, minus what only the relay needs (the shell's pid). */
export const terminalStartedSchema = shellStartedSchema.omit({ pid: true });
/** `outputBytes`: output before this offset is a replay; a terminal must not answer queries in it. */
export const terminalAttachedSchema = shellAttachedSchema;
export const terminalStoppedSchema = shellStoppedSchema.omit({ outputBytes: true });
/**
 * The screen as of `offset` (base64 of escape sequences that redraw it), sent before
 * shell_attached when the client asked for `snapshot: true`. Queries in it must not be answered.
 */
export const terminalSnapshotSchema = shellSnapshotResultSchema.omit({ requestId: true }).extend({ type: z.literal('shell_snapshot') });
export const terminalErrorSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  ref: z.string().optional(),
});
export const terminalPongSchema = z.object({ type: z.literal('pong'), ts: z.number() });

export const relayToClientSchema = z.discriminatedUnion('type', [
  terminalHelloSchema,
  terminalStartedSchema,
  terminalAttachedSchema,
  terminalSnapshotSchema,
  terminalStoppedSchema,
  terminalErrorSchema,
  terminalPongSchema,
  viewersMessageSchema,
  shellResizedSchema,
]);
export type RelayToClient = z.infer<typeof relayToClientSchema>;
